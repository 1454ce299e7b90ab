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

/// Decoder settings of `model`: `decoder`, and for the iSTFT family the authors' keys `subbands`,
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

    public init(kind: DecoderKind = .hifigan, subbands: Int = 4, istftNFFT: Int = 16, istftHop: Int = 4) {
        self.kind = kind
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

/// The sub-band multi-resolution STFT loss resolutions (`train.fft_sizes`, `train.hop_sizes`,
/// `train.win_lengths`; authors: [384, 683, 171], [30, 60, 10], [150, 300, 60], Hann windows).
public struct SubbandLossSettings: Equatable, Sendable {
    public var fftSizes: [Int]
    public var hopSizes: [Int]
    public var winLengths: [Int]

    public static let authors = SubbandLossSettings(fftSizes: [384, 683, 171], hopSizes: [30, 60, 10], winLengths: [150, 300, 60])
}

extension VITSConfig {
    /// Reads the decoder keys of `model` (marking them known).
    static func readDecoder(_ s: JSONSection) -> DecoderSettings {
        func value(_ key: String) -> JSONNode? { s.members.first { $0.key == key }?.node }
        s.markKnown(["decoder", "istft_vits", "mb_istft_vits", "ms_istft_vits", "subbands", "gen_istft_n_fft", "gen_istft_hop_size"])
        var settings = DecoderSettings()
        if let node = value("decoder") {
            if case .string(let text) = node.value, let kind = DecoderKind(rawValue: text) {
                settings.kind = kind
            } else {
                let names = DecoderKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                s.fail("decoder", "expected one of \(names)")
            }
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
    static func readSubbandLoss(_ s: JSONSection) -> SubbandLossSettings {
        s.markKnown(["fft_sizes", "hop_sizes", "win_lengths", "window"])
        if s.has("window"), s.string("window") != "hann_window" {
            s.fail("window", "only \"hann_window\" is supported for the sub-band STFT loss")
        }
        let d = SubbandLossSettings.authors
        return SubbandLossSettings(fftSizes: s.ints("fft_sizes", default: d.fftSizes), hopSizes: s.ints("hop_sizes", default: d.hopSizes),
                                   winLengths: s.ints("win_lengths", default: d.winLengths))
    }

    /// Checks of the decoder keys and the sub-band loss.
    func decoderValidationIssues(lines: [String: Int]) -> [VITSConfigError.Issue] {
        var issues: [VITSConfigError.Issue] = []
        func fail(_ key: String, _ message: String) { issues.append(.init(keyPath: key, line: lines[key], message: message)) }
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
            let loss = train.subbandLoss
            if loss.fftSizes.isEmpty || loss.fftSizes.count != loss.hopSizes.count || loss.fftSizes.count != loss.winLengths.count {
                fail("train.fft_sizes", "expected fft_sizes, hop_sizes and win_lengths of equal, non-zero length, found \(loss.fftSizes.count), \(loss.hopSizes.count), \(loss.winLengths.count)")
            } else {
                let bandLength = train.segmentSize / max(1, dec.subbands)
                for (i, (n, (h, w))) in zip(loss.fftSizes, zip(loss.hopSizes, loss.winLengths)).enumerated() {
                    if n < 2 || h < 1 || w < 1 || w > n {
                        fail("train.fft_sizes", "resolution \(i): expected n_fft ≥ 2, hop ≥ 1, 1 ≤ win_length ≤ n_fft, found \(n), \(h), \(w)")
                    } else if n / 2 >= bandLength {
                        fail("train.fft_sizes", "resolution \(i): n_fft \(n) needs sub-band segments longer than \(n / 2) samples (reflect padding); train.segment_size / model.subbands is \(bandLength)")
                    }
                }
            }
        }
        return issues
    }
}
