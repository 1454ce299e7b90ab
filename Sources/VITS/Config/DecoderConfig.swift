import Formats

/// The waveform decoder family (`model.decoder`): the reference HiFi-GAN generator, or one of the
/// inverse-STFT generators of MB-iSTFT-VITS (Kawamura et al., ICASSP 2023; github
/// MasayaKawamura/MB-iSTFT-VITS, `models.py`). See docs/decoders.md.
public enum DecoderKind: String, Equatable, Sendable, CaseIterable {
    /// HiFi-GAN V1-style generator (jaywalnut310/vits `Generator`), the default.
    case hifigan
    /// `iSTFT_Generator`: upsampling stack, then an iSTFT of a predicted magnitude/phase (one band).
    case istft
    /// `Multiband_iSTFT_Generator`: one iSTFT per sub-band, fixed PQMF synthesis.
    case mbISTFT = "mb_istft"
    /// `Multistream_iSTFT_Generator`: one iSTFT per stream, trainable synthesis filter.
    case msISTFT = "ms_istft"
}

/// How each upsampling stage of a decoder raises the rate (`model.upsample_mode`).
public enum UpsamplingKind: String, Equatable, Sendable, CaseIterable {
    /// A transposed convolution, stride = rate (the reference; `upsample_kernel_sizes` k ≥ rate, k − rate even).
    case transposed
    /// Nearest-neighbour repetition ×rate, then a convolution with an odd kernel k, computed as one
    /// transposed convolution with the kernel box-summed over `rate` taps (`ConvTranspose1d.boxWidth`).
    /// A latent that holds still then gives a signal that holds still: the reference's free transposed
    /// convolution repeats a pattern every latent frame, and a decoder trained from scratch turns that
    /// into a buzz at sample_rate / hop_length (86 Hz at 22.05 kHz / 256; docs/decoders.md). The weight
    /// keys and shapes are those of the transposed layer ([in, out, k]); an ONNX export writes the
    /// box-summed kernel, i.e. a plain transposed convolution any VITS runtime reads.
    case nearest
}

/// Decoder settings of `model`: `decoder`, `upsample_mode`, and for the iSTFT family the authors' keys `subbands`,
/// `gen_istft_n_fft`, `gen_istft_hop_size`. The authors' configs select the variant with the booleans
/// `istft_vits` / `mb_istft_vits` / `ms_istft_vits`; those are accepted too when `decoder` is absent.
public struct DecoderSettings: Equatable, Sendable {
    public var kind: DecoderKind
    /// Sub-bands (mb) or streams (ms) (authors: 4).
    public var subbands: Int
    /// n_fft of the decoder's inverse STFT (authors: 16).
    public var istftNFFT: Int
    /// Hop of the decoder's inverse STFT (authors: 4).
    public var istftHop: Int
    /// `model.upsample_mode` (default transposed, the reference).
    public var upsampling: UpsamplingKind

    public init(kind: DecoderKind = .hifigan, subbands: Int = 4, istftNFFT: Int = 16, istftHop: Int = 4,
                upsampling: UpsamplingKind = .transposed) {
        self.kind = kind
        self.upsampling = upsampling
        self.subbands = subbands
        self.istftNFFT = istftNFFT
        self.istftHop = istftHop
    }

    /// True for the two variants that produce sub-band signals (mb_istft, ms_istft).
    public var usesSubbands: Bool { kind == .mbISTFT || kind == .msISTFT }

    /// Audio samples per frame out of the upsampling stack: 1 for HiFi-GAN, the iSTFT hop, or the hop
    /// times the number of bands. The product of `upsample_rates` times this equals `data.hop_length`.
    public var samplesPerUpsampledFrame: Int {
        switch kind {
        case .hifigan: return 1
        case .istft: return istftHop
        case .mbISTFT, .msISTFT: return istftHop * subbands
        }
    }
}

/// The resolutions of a multi-resolution STFT loss (Hann windows): the mb_istft sub-band loss
/// (`train.fft_sizes`, `train.hop_sizes`, `train.win_lengths`) and the full-band loss
/// (`train.stft_fft_sizes`, `train.stft_hop_sizes`, `train.stft_win_lengths`).
public struct STFTLossResolutions: Equatable, Sendable {
    public var fftSizes: [Int]
    public var hopSizes: [Int]
    public var winLengths: [Int]

    /// The MB-iSTFT-VITS authors' sub-band resolutions (at the band rate, 22050/4 Hz).
    public static let authorsSubband = STFTLossResolutions(fftSizes: [384, 683, 171], hopSizes: [30, 60, 10], winLengths: [150, 300, 60])
    /// Parallel WaveGAN's full-band resolutions (Yamamoto et al., ICASSP 2020): at 22.05 kHz the
    /// 2048-point one resolves 10.8 Hz, fine enough to tell a harmonic series at 100 Hz from one at 86 Hz.
    public static let parallelWaveGAN = STFTLossResolutions(fftSizes: [1024, 2048, 512], hopSizes: [120, 240, 50], winLengths: [600, 1200, 240])

    /// Problems with these resolutions for signals of `length` samples, as messages.
    func problems(signalLength length: Int, lengthName: String) -> [String] {
        guard !fftSizes.isEmpty, fftSizes.count == hopSizes.count, fftSizes.count == winLengths.count else {
            return ["expected fft sizes, hop sizes and window lengths of equal, non-zero length, found \(fftSizes.count), \(hopSizes.count), \(winLengths.count)"]
        }
        var found: [String] = []
        for (i, (n, (h, w))) in zip(fftSizes, zip(hopSizes, winLengths)).enumerated() {
            if n < 2 || n > 1 << 16 || h < 1 || w < 1 || w > n {
                found.append("resolution \(i): expected 2 ≤ n_fft ≤ 65536, hop ≥ 1, 1 ≤ win_length ≤ n_fft, found \(n), \(h), \(w)")
            } else if n / 2 >= length {
                found.append("resolution \(i): n_fft \(n) needs \(lengthName) longer than \(n / 2) samples (reflect padding); it is \(length)")
            }
        }
        return found
    }
}

extension VITSConfig {
    /// Reads the decoder keys of `model` (marking them known).
    static func readDecoder(_ s: JSONSection) -> DecoderSettings {
        func value(_ key: String) -> JSONNode? { s.members.first { $0.key == key }?.node }
        s.markKnown(["decoder", "istft_vits", "mb_istft_vits", "ms_istft_vits", "subbands", "gen_istft_n_fft", "gen_istft_hop_size"])
        var settings = DecoderSettings()
        settings.upsampling = s.choice("upsample_mode", default: .transposed)
        if s.has("decoder") {
            settings.kind = s.choice("decoder", default: .hifigan)
        } else {
            // The authors' booleans; the first true one wins in their model too (mb, then ms, then istft).
            for (key, kind) in [("mb_istft_vits", DecoderKind.mbISTFT), ("ms_istft_vits", .msISTFT), ("istft_vits", .istft)] {
                if let node = value(key), case .bool(true) = node.value { settings.kind = kind; break }
            }
        }
        // The authors write `"subbands": false` for the one-band model: false means "not used".
        if let node = value("subbands"), case .bool(false) = node.value {} else {
            settings.subbands = s.int("subbands", default: 4)
        }
        settings.istftNFFT = s.int("gen_istft_n_fft", default: 16)
        settings.istftHop = s.int("gen_istft_hop_size", default: 4)
        return settings
    }

    /// Reads the sub-band STFT loss keys of `train` (marking them known).
    static func readSubbandLoss(_ s: JSONSection) -> STFTLossResolutions {
        s.markKnown(["fft_sizes", "hop_sizes", "win_lengths", "window"])
        if s.has("window"), s.string("window") != "hann_window" {
            s.fail("window", "only \"hann_window\" is supported for the sub-band STFT loss")
        }
        return readResolutions(s, prefix: "", default: .authorsSubband)
    }

    /// Reads the full-band STFT loss keys of `train` (`c_stft`, `stft_fft_sizes`, …).
    static func readFullBandLoss(_ s: JSONSection) -> (weight: Double, resolutions: STFTLossResolutions) {
        (s.double("c_stft", default: 0), readResolutions(s, prefix: "stft_", default: .parallelWaveGAN))
    }

    private static func readResolutions(_ s: JSONSection, prefix: String, default d: STFTLossResolutions) -> STFTLossResolutions {
        STFTLossResolutions(fftSizes: s.ints(prefix + "fft_sizes", default: d.fftSizes), hopSizes: s.ints(prefix + "hop_sizes", default: d.hopSizes),
                            winLengths: s.ints(prefix + "win_lengths", default: d.winLengths))
    }

    /// Checks of the decoder keys and the waveform losses.
    func decoderValidationIssues(lines: [String: Int]) -> [VITSConfigError.Issue] {
        var issues: [VITSConfigError.Issue] = []
        func fail(_ key: String, _ message: String) { issues.append(.init(keyPath: key, line: lines[key], message: message)) }
        if !(train.cSTFT >= 0) || !train.cSTFT.isFinite {
            fail("train.c_stft", "expected a weight ≥ 0 (0 turns the full-band STFT loss off), found \(train.cSTFT)")
        } else if train.cSTFT > 0 {
            for problem in train.stftLoss.problems(signalLength: train.segmentSize, lengthName: "train.segment_size") {
                fail("train.stft_fft_sizes", problem)
            }
        }
        let dec = model.decoder
        guard dec.kind != .hifigan else { return issues }
        if dec.istftNFFT < 2 || dec.istftNFFT > 4096 || dec.istftNFFT % 2 != 0 {
            fail("model.gen_istft_n_fft", "expected an even n_fft in 2...4096, found \(dec.istftNFFT)")
        }
        // Hann windows overlap-add to a non-vanishing envelope only for hop ≤ n_fft/2 (torch.istft's NOLA check).
        if dec.istftHop < 1 || dec.istftHop > dec.istftNFFT / 2 {
            fail("model.gen_istft_hop_size", "expected a hop in 1...n_fft/2 (\(dec.istftNFFT / 2)), found \(dec.istftHop)")
        }
        if dec.usesSubbands, !(1...16).contains(dec.subbands) {
            fail("model.subbands", "expected 1...16 bands, found \(dec.subbands)")
        }
        if dec.usesSubbands, let last = model.upsampleRates.indices.last, model.upsampleInitialChannel >> (last + 1) < 1 {
            fail("model.upsample_initial_channel", "too few channels for the upsampling stages")
        }
        if dec.kind == .mbISTFT {
            let bandLength = train.segmentSize / max(1, dec.subbands)
            for problem in train.subbandLoss.problems(signalLength: bandLength, lengthName: "sub-band segments (train.segment_size / model.subbands)") {
                fail("train.fft_sizes", problem)
            }
        }
        return issues
    }
}
