import Formats

/// Pitch-driven excitation (`model.pitch_excitation`, off by default; docs/decoders.md "Pitch excitation").
///
/// Why: a HiFi-GAN decoder trained from scratch emits one glottal pulse per latent frame for
/// thousands of steps — a flat buzz at sample_rate / hop (86 Hz at 22.05 kHz / 256) whatever the
/// speaker's pitch (issue 10). Given the pitch explicitly, the decoder only has to shape a periodic
/// source: as in the neural source-filter models (X. Wang, S. Takaki, J. Yamagishi, "Neural
/// source-filter waveform models for statistical parametric speech synthesis", IEEE/ACM TASLP 28,
/// 2020) and in Period VITS (Y. Shirahata et al., ICASSP 2023), a sum of harmonics of F0 (noise where
/// unvoiced) is merged to one channel and added, strided down, after each upsampling stage
/// (the NSF-HiFiGAN arrangement). A frame-level predictor learns F0 and voicing from the text
/// side (the text encoder's states expanded along the alignment, plus each frame's position in its
/// token), so synthesis needs nothing but text; training feeds the decoder the recording's F0.
public struct PitchSettings: Equatable, Sendable {
    /// `model.pitch_excitation`.
    public var enabled: Bool
    /// Harmonics above the fundamental in the sine source (`model.pitch_harmonics`, 8).
    public var harmonics: Int
    /// Amplitude of each sine (`model.pitch_sine_amplitude`, 0.1).
    public var sineAmplitude: Double
    /// Standard deviation of the noise added to voiced samples (`model.pitch_noise_std`, 0.003);
    /// unvoiced samples are noise of standard deviation sineAmplitude / 3.
    public var noiseStd: Double
    /// Predictor width, kernel and depth (`model.pitch_predictor_channels` 192, `_kernel` 5, `_layers` 3).
    public var predictorChannels: Int
    public var predictorKernel: Int
    public var predictorLayers: Int
    /// Which part of the decoder's source path keeps its initial weights (`model.pitch_source_frozen`).
    public var frozenSource: FrozenSource

    /// `model.pitch_source_frozen`. Why: trained freely, the merge of the harmonics is a 9-weight gate
    /// that Adam closes within a few thousand steps (docs/decoders.md, "the source is switched off"),
    /// after which the decoder makes its own pulses at the frame rate. Frozen, the gate cannot close.
    public enum FrozenSource: String, CaseIterable, Equatable, Sendable {
        /// Everything trains (the NSF arrangement).
        case none
        /// `dec.m_source.merge` keeps its initial weights.
        case merge
        /// `dec.m_source.merge` and every `dec.noise_convs.i` keep their initial weights.
        case all
    }

    public init(enabled: Bool = false, harmonics: Int = 8, sineAmplitude: Double = 0.1, noiseStd: Double = 0.003,
                predictorChannels: Int = 192, predictorKernel: Int = 5, predictorLayers: Int = 3,
                frozenSource: FrozenSource = .none) {
        self.enabled = enabled
        self.harmonics = harmonics
        self.sineAmplitude = sineAmplitude
        self.noiseStd = noiseStd
        self.predictorChannels = predictorChannels
        self.predictorKernel = predictorKernel
        self.predictorLayers = predictorLayers
        self.frozenSource = frozenSource
    }

    /// log(F0 / referenceHz) is what the predictor regresses: values near 0 for speech.
    public static let referenceHz: Float = 100

    /// The stride of each upsampling stage's source convolution: the product of the later rates
    /// (the source runs at the audio rate; stage i runs that many times slower). Each is a
    /// convolution of kernel 2s and padding s/2, which keeps lengths exact only for even s or s = 1.
    public static func sourceStrides(rates: [Int]) -> [Int] {
        rates.indices.map { i in rates[(i + 1)...].reduce(1, *) }
    }
}

extension VITSConfig {
    /// Reads the pitch keys of `model` (marking them known).
    static func readPitch(_ s: JSONSection) -> PitchSettings {
        let d = PitchSettings()
        return PitchSettings(
            enabled: s.bool("pitch_excitation", default: false),
            harmonics: s.int("pitch_harmonics", default: d.harmonics),
            sineAmplitude: s.double("pitch_sine_amplitude", default: d.sineAmplitude),
            noiseStd: s.double("pitch_noise_std", default: d.noiseStd),
            predictorChannels: s.int("pitch_predictor_channels", default: d.predictorChannels),
            predictorKernel: s.int("pitch_predictor_kernel", default: d.predictorKernel),
            predictorLayers: s.int("pitch_predictor_layers", default: d.predictorLayers),
            frozenSource: s.choice("pitch_source_frozen", default: .none))
    }

    /// Checks of the pitch keys.
    func pitchValidationIssues(lines: [String: Int]) -> [VITSConfigError.Issue] {
        var issues: [VITSConfigError.Issue] = []
        func fail(_ key: String, _ message: String) { issues.append(.init(keyPath: key, line: lines[key], message: message)) }
        let p = model.pitch
        guard p.enabled else { return issues }
        if model.decoder.kind != .hifigan {
            fail("model.pitch_excitation", "the pitch excitation is built into the HiFi-GAN decoder only; set model.decoder to \"hifigan\" or turn pitch_excitation off")
        }
        if !(0...32).contains(p.harmonics) { fail("model.pitch_harmonics", "expected 0...32, found \(p.harmonics)") }
        if !(p.sineAmplitude > 0 && p.sineAmplitude <= 1) { fail("model.pitch_sine_amplitude", "expected a value in (0, 1], found \(p.sineAmplitude)") }
        if !(p.noiseStd >= 0 && p.noiseStd <= 1) { fail("model.pitch_noise_std", "expected a value in [0, 1], found \(p.noiseStd)") }
        if !(1...4096).contains(p.predictorChannels) { fail("model.pitch_predictor_channels", "expected 1...4096, found \(p.predictorChannels)") }
        if p.predictorKernel < 1 || p.predictorKernel > 31 || p.predictorKernel % 2 == 0 {
            fail("model.pitch_predictor_kernel", "expected an odd kernel size in 1...31, found \(p.predictorKernel)")
        }
        if !(1...16).contains(p.predictorLayers) { fail("model.pitch_predictor_layers", "expected 1...16, found \(p.predictorLayers)") }
        for (i, stride) in PitchSettings.sourceStrides(rates: model.upsampleRates).enumerated() {
            if stride > 1, stride % 2 != 0 {
                fail("model.upsample_rates", "pitch excitation needs every product of the later upsampling rates to be even (or 1); stage \(i) strides by \(stride)")
            }
        }
        return issues
    }
}
