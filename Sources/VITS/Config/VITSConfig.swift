import Foundation
import Formats

/// A VITS configuration in the reference `config.json` format of jaywalnut310/vits
/// (`train` / `data` / `model` sections), plus our own keys, which default to the reference
/// behaviour. Load with `VITSConfig.load(contentsOf:)`; the result is validated.
///
/// Keys the reference reads without a default are required here too; keys with a reference
/// default (`model.use_sdp`, `model.gin_channels`, `data.cleaned_text`, …) are optional.
/// Unknown keys produce a warning (reference configs in the wild carry extra keys such as
/// `symbols`), never an error.
public struct VITSConfig: Equatable, Sendable {
    public var train: TrainConfig
    public var data: DataConfig
    public var model: ModelConfig
    /// The `fixture` section of a parity-fixture config (`../shared/reference/vits/*`), if present.
    public var fixture: FixtureInfo?
    /// Non-fatal findings: unknown keys, settings the reference accepts but never uses.
    public var warnings: [String]

    public init(train: TrainConfig, data: DataConfig, model: ModelConfig, fixture: FixtureInfo? = nil, warnings: [String] = []) {
        self.train = train
        self.data = data
        self.model = model
        self.fixture = fixture
        self.warnings = warnings
    }

    /// Frames of latent the decoder sees per training item (`segment_size / hop_length`, 32 for the reference).
    public var segmentFrames: Int { train.segmentSize / data.hopLength }

    /// Channels of the linear spectrogram fed to the posterior encoder (`filter_length / 2 + 1`).
    public var spectrogramChannels: Int { data.filterLength / 2 + 1 }

    /// The speaker table exists (and `g` conditions every module) only for more than one speaker.
    public var isMultiSpeaker: Bool { data.nSpeakers > 1 }
}

/// `train` section. Only what the model and a training step read; scheduling keys belong to the trainer.
public struct TrainConfig: Equatable, Sendable {
    public var logInterval: Int
    public var evalInterval: Int
    public var seed: Int
    public var epochs: Int
    public var learningRate: Double
    public var betas: [Double]
    public var eps: Double
    public var batchSize: Int
    public var fp16Run: Bool
    public var lrDecay: Double
    /// Samples of waveform per training slice (8192 in the reference).
    public var segmentSize: Int
    /// Present in the reference configs but never read by its train.py.
    public var initLrRatio: Double
    public var warmupEpochs: Int
    public var cMel: Double
    public var cKl: Double

    // SwiftVITS trainer keys (docs/training.md), read here once; `VITSTrainingOptions` (Training)
    // turns them into trainer settings. Absent keys take the defaults below.
    /// `max_steps`: nil when absent (`vits train --max-steps` must then give it).
    public var maxSteps: Int?
    public var sampleInterval: Int = 5000
    public var checkpointInterval: Int = 1000
    public var keepLast: Int = 3
    public var maxConsecutiveNonFinite: Int = 20
    /// Bucket boundaries in frames; nil: the bucket sampler's reference boundaries.
    public var boundaries: [Int]?
    /// Probe sentences of the training samples; nil: the trainer's default Mandarin probes.
    public var probeSentences: [String]?
    /// `lr_decay_unit`: "step" (the per-epoch decay spread over `lrDecayEpochSteps` steps) or "epoch".
    public var lrDecayUnit: LearningRateDecayUnit = .step
    public var lrDecayEpochSteps: Int = 100
    public var gradClipNorm: Double?
    public var validationItems: Int = 8
    /// `eval_mcd_items`: validation utterances spoken and scored (MCD, log-F0, V/UV, duration) at each
    /// evaluation; 0 turns the quality evaluation off.
    public var evalMCDItems: Int = 0
    /// Weight of the pitch predictor's loss (`c_pitch`; models with `model.pitch_excitation` only).
    public var cPitch: Double = 1
    /// Sub-band STFT loss of the mb_istft decoder (`fft_sizes`, `hop_sizes`, `win_lengths`; DecoderConfig.swift).
    public var subbandLoss: STFTLossResolutions = .authorsSubband
    /// Weight of the full-band multi-resolution STFT loss on the decoder's waveform (`c_stft`; 0: off).
    /// The mel loss cannot tell a harmonic series at 100 Hz from one at 86 Hz below 1 kHz (its
    /// filters there are ~80 Hz wide); a 2048-point STFT can (docs/decoders.md).
    public var cSTFT: Double = 0
    /// Its resolutions (`stft_fft_sizes`, `stft_hop_sizes`, `stft_win_lengths`; Parallel WaveGAN's by default).
    public var stftLoss: STFTLossResolutions = .parallelWaveGAN
}

/// How `train.lr_decay` is applied.
public enum LearningRateDecayUnit: String, Equatable, Sendable {
    /// The reference per-epoch decay spread evenly over `lr_decay_epoch_steps` steps, so the schedule
    /// no longer depends on the dataset size.
    case step
    /// The reference behaviour: once per epoch.
    case epoch
}

/// `data` section: audio and text settings.
public struct DataConfig: Equatable, Sendable {
    public var trainingFiles: String?
    public var validationFiles: String?
    public var textCleaners: [String]
    public var maxWavValue: Double
    public var samplingRate: Int
    /// n_fft of the spectrogram.
    public var filterLength: Int
    public var hopLength: Int
    public var winLength: Int
    public var nMelChannels: Int
    public var melFmin: Double
    /// nil means sampling_rate / 2, as in the reference (`null` in the JSON).
    public var melFmax: Double?
    public var addBlank: Bool
    public var nSpeakers: Int
    public var cleanedText: Bool
    /// Text-length filter of the reference loader (`getattr(hparams, "min_text_len", 1)`, 190 for max).
    public var minTextLen: Int
    public var maxTextLen: Int

    public var resolvedMelFmax: Double { melFmax ?? Double(samplingRate) / 2 }
}

public enum ResBlockKind: String, Equatable, Sendable {
    /// ResBlock1: per dilation, a dilated conv then an undilated conv (three dilations).
    case one = "1"
    /// ResBlock2: one dilated conv per dilation (two dilations).
    case two = "2"

    /// How many dilations one block of this kind uses.
    public var dilationCount: Int { self == .one ? 3 : 2 }
}

/// `model` section: architecture.
public struct ModelConfig: Equatable, Sendable {
    public var interChannels: Int
    public var hiddenChannels: Int
    public var filterChannels: Int
    public var nHeads: Int
    public var nLayers: Int
    public var kernelSize: Int
    public var pDropout: Double
    public var resblock: ResBlockKind
    public var resblockKernelSizes: [Int]
    public var resblockDilationSizes: [[Int]]
    public var upsampleRates: [Int]
    public var upsampleInitialChannel: Int
    public var upsampleKernelSizes: [Int]
    /// Read by nothing in the reference: the posterior encoder is hard-coded to 16 WN layers.
    public var nLayersQ: Int
    public var useSpectralNorm: Bool
    public var ginChannels: Int
    public var useSDP: Bool
    /// Extension (`model.discriminator_width_multiplier`, default 1 = reference): scales every
    /// discriminator channel count; each scaled count must be a whole number (multiples of 1/16).
    public var discriminatorWidthMultiplier: Double
    /// Extension (`model.discriminator_periods`, default [2, 3, 5, 7, 11] = reference).
    public var discriminatorPeriods: [Int]
    /// `model.decoder` and the iSTFT decoders' keys (DecoderConfig.swift); default HiFi-GAN.
    public var decoder: DecoderSettings = DecoderSettings()
    /// `model.pitch_excitation` and its keys (PitchConfig.swift); off by default.
    public var pitch: PitchSettings = PitchSettings()

    public static let referencePeriods = [2, 3, 5, 7, 11]
}

/// The `fixture` section that the parity fixtures add to a reference config.
public struct FixtureInfo: Equatable, Sendable {
    public var name: String?
    public var format: String?
    /// Vocabulary size the fixture's generator was built with.
    public var nVocab: Int?
    public var symbols: [String]?
    public var texts: [String]?
    public var sids: [Int]?
    public var noiseScale: Double?
    public var lengthScale: Double?
    public var noiseScaleW: Double?
}

// MARK: - Loading

extension VITSConfig {
    /// Reads and validates a config file.
    public static func load(contentsOf url: URL) throws(VITSConfigError) -> VITSConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "cannot be read" : "does not exist"
            throw VITSConfigError(source: url.path, issues: [.init(keyPath: "", line: nil, message: "config file \(reason)")])
        }
        return try parse(data, source: url.path)
    }

    /// Parses and validates config JSON; `source` names it in messages.
    public static func parse(_ data: Data, source: String = "config.json") throws(VITSConfigError) -> VITSConfig {
        let root: JSONNode
        do {
            root = try JSONParser.parse(data, allowByteOrderMark: true)
        } catch {
            throw VITSConfigError(source: source, issues: [.init(keyPath: "", line: error.line, message: "invalid JSON (column \(error.column)): \(error.message)")])
        }
        let log = JSONIssueLog()
        guard case .object(let members) = root.value else {
            throw VITSConfigError(source: source, issues: [.init(keyPath: "", line: root.line, message: "expected a JSON object with train, data and model sections")])
        }
        let top = JSONSection(path: "", members: members, line: root.line, log: log)
        let train = top.section("train").map(readTrain)
        let data = top.section("data").map(readData)
        let model = top.section("model").map(readModel)
        let fixture = top.section("fixture", required: false).map(readFixture)
        top.warnUnknown()
        guard log.errors.isEmpty, let train, let data, let model else {
            throw VITSConfigError(source: source, issues: log.errors)
        }
        var config = VITSConfig(train: train, data: data, model: model, fixture: fixture ?? nil, warnings: log.warnings)
        let problems = config.validationIssues(lines: log.lines)
        if !problems.isEmpty { throw VITSConfigError(source: source, issues: problems) }
        config.warnings += config.advisories()
        return config
    }

    /// Checks a config built in code (loading already does this). Throws every problem found.
    public func validate(source: String = "config") throws(VITSConfigError) {
        let problems = validationIssues(lines: [:])
        if !problems.isEmpty { throw VITSConfigError(source: source, issues: problems) }
    }

    private static func readTrain(_ s: JSONSection) -> TrainConfig {
        defer { s.warnUnknown() }
        var train = TrainConfig(
            logInterval: s.int("log_interval"),
            evalInterval: s.int("eval_interval"),
            seed: s.int("seed"),
            epochs: s.int("epochs"),
            learningRate: s.double("learning_rate"),
            betas: s.doubles("betas"),
            eps: s.double("eps"),
            batchSize: s.int("batch_size"),
            fp16Run: s.bool("fp16_run"),
            lrDecay: s.double("lr_decay"),
            segmentSize: s.int("segment_size"),
            initLrRatio: s.double("init_lr_ratio", default: 1),
            warmupEpochs: s.int("warmup_epochs", default: 0),
            cMel: s.double("c_mel"),
            cKl: s.double("c_kl"))
        train.maxSteps = s.optionalInt("max_steps")
        train.sampleInterval = s.int("sample_interval", default: train.sampleInterval)
        train.checkpointInterval = s.int("checkpoint_interval", default: train.checkpointInterval)
        train.keepLast = s.int("keep_last", default: train.keepLast)
        train.maxConsecutiveNonFinite = s.int("max_consecutive_nonfinite", default: train.maxConsecutiveNonFinite)
        train.boundaries = s.has("boundaries") ? s.ints("boundaries") : nil
        train.probeSentences = s.has("probe_sentences") ? s.strings("probe_sentences", default: []) : nil
        if let unit = s.optionalString("lr_decay_unit") {
            if let parsed = LearningRateDecayUnit(rawValue: unit) { train.lrDecayUnit = parsed } else {
                s.fail("lr_decay_unit", "expected \"step\" or \"epoch\", found \"\(unit)\"")
            }
        }
        train.lrDecayEpochSteps = s.int("lr_decay_epoch_steps", default: train.lrDecayEpochSteps)
        train.gradClipNorm = s.optionalDouble("grad_clip_norm")
        train.validationItems = s.int("validation_items", default: train.validationItems)
        train.evalMCDItems = s.int("eval_mcd_items", default: train.evalMCDItems)
        train.cPitch = s.double("c_pitch", default: train.cPitch)
        train.subbandLoss = readSubbandLoss(s)
        (train.cSTFT, train.stftLoss) = readFullBandLoss(s)
        return train
    }

    private static func readData(_ s: JSONSection) -> DataConfig {
        defer { s.warnUnknown() }
        return DataConfig(
            trainingFiles: s.optionalString("training_files"),
            validationFiles: s.optionalString("validation_files"),
            textCleaners: s.strings("text_cleaners", default: []),
            maxWavValue: s.double("max_wav_value"),
            samplingRate: s.int("sampling_rate"),
            filterLength: s.int("filter_length"),
            hopLength: s.int("hop_length"),
            winLength: s.int("win_length"),
            nMelChannels: s.int("n_mel_channels"),
            melFmin: s.double("mel_fmin"),
            melFmax: s.optionalDouble("mel_fmax"),
            addBlank: s.bool("add_blank"),
            nSpeakers: s.int("n_speakers"),
            cleanedText: s.bool("cleaned_text", default: false),
            minTextLen: s.int("min_text_len", default: 1),
            maxTextLen: s.int("max_text_len", default: 190))
    }

    private static func readModel(_ s: JSONSection) -> ModelConfig {
        defer { s.warnUnknown() }
        let kindText = s.string("resblock")
        let kind = ResBlockKind(rawValue: kindText)
        if kind == nil, s.has("resblock") {
            s.fail("resblock", "expected \"1\" (ResBlock1) or \"2\" (ResBlock2), found \"\(kindText)\"")
        }
        var config = ModelConfig(
            interChannels: s.int("inter_channels"),
            hiddenChannels: s.int("hidden_channels"),
            filterChannels: s.int("filter_channels"),
            nHeads: s.int("n_heads"),
            nLayers: s.int("n_layers"),
            kernelSize: s.int("kernel_size"),
            pDropout: s.double("p_dropout"),
            resblock: kind ?? .one,
            resblockKernelSizes: s.ints("resblock_kernel_sizes"),
            resblockDilationSizes: s.intLists("resblock_dilation_sizes"),
            upsampleRates: s.ints("upsample_rates"),
            upsampleInitialChannel: s.int("upsample_initial_channel"),
            upsampleKernelSizes: s.ints("upsample_kernel_sizes"),
            nLayersQ: s.int("n_layers_q", default: 3),
            useSpectralNorm: s.bool("use_spectral_norm", default: false),
            ginChannels: s.int("gin_channels", default: 0),
            useSDP: s.bool("use_sdp", default: true),
            discriminatorWidthMultiplier: s.double("discriminator_width_multiplier", default: 1),
            discriminatorPeriods: s.ints("discriminator_periods", default: ModelConfig.referencePeriods))
        config.decoder = readDecoder(s)
        config.pitch = readPitch(s)
        return config
    }

    private static func readFixture(_ s: JSONSection) -> FixtureInfo {
        // Keys of the fixture format that the model does not need.
        s.markKnown(["perturbation", "dropout", "reference", "sids"])
        defer { s.warnUnknown() }
        let infer = s.section("infer_kwargs", required: false)
        defer { infer?.warnUnknown() }
        return FixtureInfo(
            name: s.optionalString("name"),
            format: s.optionalString("format"),
            nVocab: s.optionalInt("n_vocab"),
            symbols: s.has("symbols") ? s.strings("symbols", default: []) : nil,
            texts: s.has("texts") ? s.strings("texts", default: []) : nil,
            sids: s.isNull("sids") || !s.has("sids") ? nil : s.ints("sids"),
            noiseScale: infer?.optionalDouble("noise_scale"),
            lengthScale: infer?.optionalDouble("length_scale"),
            noiseScaleW: infer?.optionalDouble("noise_scale_w"))
    }
}

// MARK: - Validation

extension VITSConfig {
    /// Semantic checks: every problem the reference would crash on later (or silently get wrong),
    /// reported up front with the key that causes it.
    func validationIssues(lines: [String: Int]) -> [VITSConfigError.Issue] {
        var issues: [VITSConfigError.Issue] = []
        func fail(_ key: String, _ message: String) {
            issues.append(.init(keyPath: key, line: lines[key], message: message))
        }
        func positive(_ key: String, _ value: Int) { if value < 1 { fail(key, "expected a positive integer, found \(value)") } }
        func positive(_ key: String, _ value: Double) {
            if !(value > 0) || !value.isFinite { fail(key, "expected a positive number, found \(value)") }
        }

        // train
        let t = train
        positive("train.log_interval", t.logInterval)
        positive("train.eval_interval", t.evalInterval)
        positive("train.epochs", t.epochs)
        positive("train.batch_size", t.batchSize)
        positive("train.learning_rate", t.learningRate)
        positive("train.eps", t.eps)
        positive("train.segment_size", t.segmentSize)
        if t.betas.count != 2 || !t.betas.allSatisfy({ $0 >= 0 && $0 < 1 }) {
            fail("train.betas", "expected two numbers in [0, 1), found \(t.betas)")
        }
        if !(t.lrDecay > 0 && t.lrDecay <= 1) { fail("train.lr_decay", "expected a number in (0, 1], found \(t.lrDecay)") }
        if !(t.cMel >= 0) { fail("train.c_mel", "expected a number >= 0, found \(t.cMel)") }
        if !(t.cKl >= 0) { fail("train.c_kl", "expected a number >= 0, found \(t.cKl)") }

        // data
        let d = data
        positive("data.sampling_rate", d.samplingRate)
        positive("data.filter_length", d.filterLength)
        positive("data.hop_length", d.hopLength)
        positive("data.win_length", d.winLength)
        positive("data.n_mel_channels", d.nMelChannels)
        positive("data.max_wav_value", d.maxWavValue)
        if d.winLength > d.filterLength {
            fail("data.win_length", "expected at most data.filter_length (\(d.filterLength)), found \(d.winLength)")
        }
        if d.hopLength > d.filterLength {
            fail("data.hop_length", "expected at most data.filter_length (\(d.filterLength)), found \(d.hopLength)")
        }
        // The reference pads (n_fft - hop) / 2 samples on each side: an odd difference would shift every frame.
        if (d.filterLength - d.hopLength) % 2 != 0 {
            fail("data.hop_length", "data.filter_length - data.hop_length must be even (reflect padding of (n_fft - hop)/2 per side), found \(d.filterLength) - \(d.hopLength)")
        }
        if d.melFmin < 0 { fail("data.mel_fmin", "expected >= 0, found \(d.melFmin)") }
        if let fmax = d.melFmax {
            if fmax <= d.melFmin { fail("data.mel_fmax", "expected more than data.mel_fmin (\(d.melFmin)), found \(fmax)") }
            if fmax > Double(d.samplingRate) / 2 { fail("data.mel_fmax", "expected at most sampling_rate / 2 (\(Double(d.samplingRate) / 2)), found \(fmax)") }
        }
        if d.nSpeakers < 0 { fail("data.n_speakers", "expected >= 0, found \(d.nSpeakers)") }
        if d.minTextLen < 0 || d.maxTextLen < d.minTextLen {
            fail("data.max_text_len", "expected min_text_len (\(d.minTextLen)) <= max_text_len (\(d.maxTextLen)), both >= 0")
        }
        if d.hopLength > 0, t.segmentSize > 0 {
            if t.segmentSize % d.hopLength != 0 {
                fail("train.segment_size", "expected a multiple of data.hop_length (\(d.hopLength)), found \(t.segmentSize)")
            }
        }

        // model: text encoder
        let m = model
        positive("model.inter_channels", m.interChannels)
        positive("model.hidden_channels", m.hiddenChannels)
        positive("model.filter_channels", m.filterChannels)
        positive("model.n_heads", m.nHeads)
        positive("model.n_layers", m.nLayers)
        positive("model.kernel_size", m.kernelSize)
        if m.interChannels > 0, m.interChannels % 2 != 0 {
            fail("model.inter_channels", "expected an even number (the flow couples two halves), found \(m.interChannels)")
        }
        if m.nHeads > 0, m.hiddenChannels > 0, m.hiddenChannels % m.nHeads != 0 {
            fail("model.n_heads", "expected a divisor of model.hidden_channels (\(m.hiddenChannels)), found \(m.nHeads)")
        }
        if !(m.pDropout >= 0 && m.pDropout < 1) { fail("model.p_dropout", "expected a number in [0, 1), found \(m.pDropout)") }
        if m.ginChannels < 0 { fail("model.gin_channels", "expected >= 0, found \(m.ginChannels)") }
        if d.nSpeakers > 1, m.ginChannels < 1 {
            fail("model.gin_channels", "expected a positive speaker-embedding width: data.n_speakers is \(d.nSpeakers), so every module is conditioned on a speaker vector")
        }

        // model: decoder
        let ks = m.resblockKernelSizes, ds = m.resblockDilationSizes
        if ks.isEmpty { fail("model.resblock_kernel_sizes", "expected at least one kernel size") }
        for (j, k) in ks.enumerated() where k < 1 || k % 2 == 0 {
            fail("model.resblock_kernel_sizes", "expected odd positive kernel sizes (\"same\" padding), entry \(j) is \(k)")
        }
        if ds.count != ks.count {
            fail("model.resblock_dilation_sizes", "expected \(ks.count) lists to match model.resblock_kernel_sizes, found \(ds.count)")
        }
        for (j, list) in ds.enumerated() {
            if list.count != m.resblock.dilationCount {
                fail("model.resblock_dilation_sizes", "ResBlock\(m.resblock.rawValue) uses exactly \(m.resblock.dilationCount) dilations per block, entry \(j) has \(list.count)")
            }
            if list.contains(where: { $0 < 1 }) {
                fail("model.resblock_dilation_sizes", "expected positive dilations, entry \(j) is \(list)")
            }
        }
        let ups = m.upsampleRates, upk = m.upsampleKernelSizes
        if ups.isEmpty { fail("model.upsample_rates", "expected at least one upsampling stage") }
        if upk.count != ups.count {
            fail("model.upsample_kernel_sizes", "expected \(ups.count) entries to match model.upsample_rates, found \(upk.count)")
        }
        for (i, u) in ups.enumerated() where u < 1 { fail("model.upsample_rates", "expected positive rates, entry \(i) is \(u)") }
        for (i, (u, k)) in zip(ups, upk).enumerated() where u >= 1 && upk.count == ups.count {
            switch m.decoder.upsampling {
            case .transposed:
                // Output length is exactly L*u only when padding (k-u)/2 is exact.
                if k < u || (k - u) % 2 != 0 {
                    fail("model.upsample_kernel_sizes", "entry \(i): kernel \(k) with rate \(u) must satisfy kernel >= rate and kernel - rate even (output length = input length * rate)")
                }
            case .nearest:
                // The convolution after the repetition keeps the length ("same" padding (k-1)/2).
                if k < 1 || k % 2 == 0 {
                    fail("model.upsample_kernel_sizes", "entry \(i): model.upsample_mode \"nearest\" convolves the repeated signal with \"same\" padding, so the kernel must be odd; found \(k) (e.g. \(max(1, k - 1)))")
                }
            }
        }
        if !ups.isEmpty, ups.allSatisfy({ $0 >= 1 }), d.hopLength > 0 {
            let product = ups.reduce(1) { $0 &* $1 } &* m.decoder.samplesPerUpsampledFrame
            if product != d.hopLength {
                let factor = m.decoder.kind == .hifigan ? "" : " times the \(m.decoder.kind.rawValue) decoder's \(m.decoder.samplesPerUpsampledFrame) samples per frame"
                fail("model.upsample_rates", "expected rates whose product\(factor) equals data.hop_length (\(d.hopLength)): one latent frame becomes one hop of audio; \(ups) gives \(product)")
            }
        }
        positive("model.upsample_initial_channel", m.upsampleInitialChannel)
        if m.upsampleInitialChannel > 0, ups.count < 62 {
            let divisor = 1 << ups.count
            if m.upsampleInitialChannel % divisor != 0 {
                fail("model.upsample_initial_channel", "expected a multiple of 2^\(ups.count) = \(divisor) (channels halve at each of the \(ups.count) upsampling stages), found \(m.upsampleInitialChannel)")
            }
        }

        // model: discriminator extensions
        let w = m.discriminatorWidthMultiplier
        if !(w > 0) || !w.isFinite {
            fail("model.discriminator_width_multiplier", "expected a positive number, found \(w)")
        } else if DiscriminatorGeometry.make(widthMultiplier: w) == nil {
            fail("model.discriminator_width_multiplier", "expected a multiple of 1/16 (every scaled discriminator channel count must be a whole number, e.g. 0.25, 0.125, 0.0625), found \(w)")
        }
        for (i, p) in m.discriminatorPeriods.enumerated() where p < 1 {
            fail("model.discriminator_periods", "expected positive periods, entry \(i) is \(p)")
        }
        if Set(m.discriminatorPeriods).count != m.discriminatorPeriods.count {
            fail("model.discriminator_periods", "expected distinct periods, found \(m.discriminatorPeriods)")
        }

        // Sanity limits far above any real model: they keep every size computation (parameter counts,
        // buffer sizes) far from integer overflow, so absurd values get a message instead of a trap.
        func atMost(_ key: String, _ values: [Int], _ limit: Int) {
            if let v = values.first(where: { $0 > limit }) {
                fail(key, "expected at most \(limit), found \(v) (larger sizes are not supported)")
            }
        }
        atMost("train.segment_size", [t.segmentSize], 1 << 24)
        atMost("train.batch_size", [t.batchSize], 1 << 16)
        atMost("data.sampling_rate", [d.samplingRate], 1 << 20)
        atMost("data.filter_length", [d.filterLength], 1 << 16)
        atMost("data.n_mel_channels", [d.nMelChannels], 4096)
        atMost("data.n_speakers", [d.nSpeakers], 1 << 20)
        for (key, value) in [("model.inter_channels", m.interChannels), ("model.hidden_channels", m.hiddenChannels),
                             ("model.filter_channels", m.filterChannels), ("model.gin_channels", m.ginChannels),
                             ("model.upsample_initial_channel", m.upsampleInitialChannel)] {
            atMost(key, [value], 1 << 14)
        }
        atMost("model.n_layers", [m.nLayers], 256)
        atMost("model.kernel_size", [m.kernelSize], 1024)
        atMost("model.resblock_kernel_sizes", m.resblockKernelSizes, 1024)
        atMost("model.resblock_dilation_sizes", m.resblockDilationSizes.flatMap { $0 }, 1 << 12)
        atMost("model.upsample_kernel_sizes", m.upsampleKernelSizes, 4096)
        if ks.count > 16 { fail("model.resblock_kernel_sizes", "expected at most 16 entries, found \(ks.count)") }
        if ups.count > 16 { fail("model.upsample_rates", "expected at most 16 stages, found \(ups.count)") }
        if w > 16 { fail("model.discriminator_width_multiplier", "expected at most 16, found \(w)") }
        atMost("model.discriminator_periods", m.discriminatorPeriods, 1 << 16)
        if m.discriminatorPeriods.count > 64 { fail("model.discriminator_periods", "expected at most 64 periods, found \(m.discriminatorPeriods.count)") }

        issues += decoderValidationIssues(lines: lines)
        issues += pitchValidationIssues(lines: lines)
        if let f = fixture {
            if let n = f.nVocab, n < 1 || n > 1 << 24 { fail("fixture.n_vocab", "expected a vocabulary size in 1...\(1 << 24), found \(n)") }
            if let n = f.nVocab, let symbols = f.symbols, symbols.count != n {
                fail("fixture.n_vocab", "expected the number of fixture.symbols (\(symbols.count)), found \(n)")
            }
        }
        return issues
    }

    /// Valid settings worth a note.
    func advisories() -> [String] {
        var notes: [String] = []
        if model.ginChannels > 0, !isMultiSpeaker {
            notes.append("model.gin_channels: \(model.ginChannels) with data.n_speakers \(data.nSpeakers): the conditioning layers are created (as in the reference) but never used")
        }
        return notes
    }
}
