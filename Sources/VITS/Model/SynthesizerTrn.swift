import Foundation
import Engine

/// Everything one training step needs from the generator's forward pass (reference names).
public struct TrainingOutputs {
    /// Decoder output on the random latent slices [B, 1, segment].
    public var yHat: Tensor
    /// Band signals of the mb_istft / ms_istft decoders (see `DecoderOutput.subbands`), else nil.
    public var yHatSubbands: Tensor?
    /// Duration loss per item [B] (already divided by Σ x_mask, as the reference).
    public var lLength: Tensor
    /// Monotonic alignment [B, 1, Ty, Tx].
    public var attention: Tensor
    /// Start frame of each item's slice.
    public var sliceStarts: [Int]
    public var xMask: Tensor, yMask: Tensor
    public var z: Tensor, zP: Tensor
    /// Prior statistics expanded to frames [B, I, Ty].
    public var mP: Tensor, logsP: Tensor
    public var mQ: Tensor, logsQ: Tensor
    /// Speaker conditioning [B, gin, 1] (multi-speaker configs only).
    public var g: Tensor?
    /// The pitch predictor's output [B, 2, Ty] (log(F0/100 Hz), voicing logit) on the aligned text
    /// states (models with pitch excitation), for `PitchLoss` against the recording's F0.
    public var pitchPrediction: Tensor?
}

/// Inference outputs (reference `infer` return values plus intermediates the parity check compares).
public struct InferenceOutputs {
    /// Audio [B, 1, Ty·hop]; item b is valid for its first `frameLengths[b]·hop` samples.
    public var audio: Tensor
    public var frameLengths: [Int]
    public var logw: Tensor, wCeil: Tensor, attention: Tensor, yMask: Tensor
    public var mP: Tensor, logsP: Tensor, zP: Tensor, z: Tensor
    public var g: Tensor?
    /// Predicted F0 per frame [B, Ty] in Hz, 0 where unvoiced (models with pitch excitation).
    public var f0: Tensor?
}

/// The VITS generator (`SynthesizerTrn`): text encoder `enc_p`, decoder `dec` (HiFi-GAN or an iSTFT variant, `model.decoder`), posterior
/// encoder `enc_q`, flow, duration predictor `dp`, and the speaker table `emb_g` for multi-speaker
/// configs — declared in the reference state_dict order, so keys equal the PyTorch checkpoint's.
public final class SynthesizerTrn: Module {
    public let config: VITSConfig
    public let vocabularySize: Int
    @ModuleInfo(key: "enc_p") public private(set) var encP: TextEncoder
    @ModuleInfo(key: "dec") public private(set) var dec: any WaveformDecoder
    @ModuleInfo(key: "enc_q") public private(set) var encQ: PosteriorEncoder
    @ModuleInfo(key: "flow") public private(set) var flow: ResidualCouplingBlock
    @ModuleInfo(key: "dp") public private(set) var dp: any DurationPredicting
    @ModuleInfo(key: "emb_g") public private(set) var embG: SpeakerEmbedding?
    /// Pitch excitation (`model.pitch_excitation`): the frame-level F0 predictor and the harmonic
    /// source that feeds the decoder (PitchConfig.swift); nil otherwise.
    @ModuleInfo(key: "pitch_predictor") public private(set) var pitchPredictor: PitchPredictor?
    public let harmonicSource: HarmonicSource?

    public init(config: VITSConfig, vocabularySize: Int, generator: RandomGenerator) {
        self.config = config
        self.vocabularySize = vocabularySize
        _encP.wrappedValue = TextEncoder(config: config, vocabularySize: vocabularySize, generator: generator)
        let dec = makeWaveformDecoder(config: config, generator: generator)
        _dec.wrappedValue = dec
        _encQ.wrappedValue = PosteriorEncoder(config: config, generator: generator)
        _flow.wrappedValue = ResidualCouplingBlock(config: config, generator: generator)
        _dp.wrappedValue = makeDurationPredictor(config: config, generator: generator)
        _embG.wrappedValue = config.isMultiSpeaker ? SpeakerEmbedding(config: config, generator: generator) : nil
        let pitch = config.model.pitch
        if pitch.enabled, let hifigan = dec as? Generator { hifigan.addPitchExcitation(pitch, generator: generator) }
        _pitchPredictor.wrappedValue = pitch.enabled
            ? PitchPredictor(hiddenChannels: config.model.hiddenChannels, settings: pitch, dropout: Float(config.model.pDropout),
                             ginChannels: config.isMultiSpeaker ? config.model.ginChannels : 0, generator: generator)
            : nil
        harmonicSource = pitch.enabled ? HarmonicSource(settings: pitch, sampleRate: config.data.samplingRate) : nil
        super.init()
    }

    /// The decoder on latent frames [B, I, T]; with pitch excitation, F0 per frame [B, T] drives the
    /// harmonic source (its draws come after every other draw of the pass).
    private func decode(_ z: Tensor, g: Tensor?, f0: Tensor?, noise: NoiseSource, trace: ModuleTrace?) throws -> DecoderOutput {
        guard let harmonicSource else { return dec.decode(z, g: g, trace: trace) }
        guard let f0, let hifigan = dec as? Generator else {
            throw ModelError.input("this model has pitch excitation: the decoder needs F0 per frame")
        }
        let source = try harmonicSource(f0: f0, samplesPerFrame: config.data.hopLength, noise: noise)
        return DecoderOutput(audio: hifigan(z, g: g, excitation: source, trace: trace), subbands: nil)
    }

    /// The pitch predictor on token states h [B, H, Tx] spread over frames by `path` [B, 1, Ty, Tx]
    /// with `durations` [B, 1, Tx] frames per token (the predictor detaches its input).
    private func predictPitch(_ h: Tensor, path: Tensor, durations: Tensor, mask: Tensor, g: Tensor?) -> Tensor? {
        guard let pitchPredictor else { return nil }
        let frames = path.shape[2]
        return pitchPredictor(hidden: Self.expand(h, path: path),
                              position: PitchPredictor.positions(durations: durations, frames: frames), mask: mask, g: g)
    }

    private static func report(_ trace: ModuleTrace?, _ tensors: [String: Tensor]) {
        guard let trace else { return }
        for (name, t) in tensors { trace(name, t) }
    }

    /// Keys an inference-only bundle needs (the posterior encoder only serves training).
    public static func isInferenceKey(_ key: String) -> Bool { !key.hasPrefix("enc_q.") }

    private func speakerConditioning(_ speakers: [Int]?, batch: Int) throws -> Tensor? {
        guard let embG else { return nil }
        guard let speakers, speakers.count == batch else {
            throw ModelError.input("this is a multi-speaker model (\(config.data.nSpeakers) speakers): give one speaker id per item")
        }
        do { return try embG(speakers) } catch { throw ModelError.input("\(error)") }
    }

    /// The MAS log-likelihood of every (frame, token) pair [B, Ty, Tx], summed in the reference's
    /// four-term order so near-ties break the same way.
    static func alignmentScores(zP: Tensor, mP: Tensor, logsP: Tensor) -> Tensor {
        noGrad {
            let s = (logsP * -2).exp()                                                        // [B,I,Tx]
            let nc1 = (logsP.neg().adding(Float(-0.5 * log(2 * Double.pi)))).sum(axis: 1, keepDim: true)  // [B,1,Tx]
            let nc2 = Tensor.matmul((zP.square() * -0.5).transposed(1, 2), s)                 // [B,Ty,Tx]
            let nc3 = Tensor.matmul(zP.transposed(1, 2), mP * s)                              // [B,Ty,Tx]
            let nc4 = (mP.square() * s * -0.5).sum(axis: 1, keepDim: true)                    // [B,1,Tx]
            return ((nc1 + nc2) + nc3) + nc4
        }
    }

    /// Expands token statistics [B, I, Tx] to frames with the path [B, 1, Ty, Tx] → [B, I, Ty].
    static func expand(_ stats: Tensor, path: Tensor) -> Tensor {
        let p = path.squeezed(1)                                                             // [B,Ty,Tx]
        return Tensor.matmul(p, stats.transposed(1, 2)).transposed(1, 2)
    }

    /// The training forward (reference `SynthesizerTrn.forward`).
    /// - Parameters:
    ///   - tokens: [B, Tx] ids; tokenLengths: valid tokens per item.
    ///   - spec: linear spectrogram [B, spec channels, Ty]; frameLengths: valid frames per item.
    ///   - speakers: speaker ids (multi-speaker configs).
    ///   - alignment: a path [B,1,Ty,Tx] to use instead of searching one (parity checks inject the
    ///     reference's when a rounding difference flips a near-tie).
    ///   - f0: the recording's F0 per frame [B, Ty] in Hz (0 = unvoiced); required by models with
    ///     pitch excitation (the decoder is driven by it on the training slice), ignored otherwise.
    public func forward(tokens: IntTensor, tokenLengths: [Int], spec: Tensor, frameLengths: [Int],
                        speakers: [Int]? = nil, noise: NoiseSource, alignment: Tensor? = nil, f0: Tensor? = nil,
                        trace: ModuleTrace? = nil) throws -> TrainingOutputs {
        let batch = tokens.shape[0]
        if pitchPredictor != nil {
            guard let f0, f0.shape == [batch, spec.shape[2]] else {
                throw ModelError.input("this model has pitch excitation: training needs the recording's F0 per frame, [\(batch), \(spec.shape[2])]")
            }
        }
        guard spec.rank == 3, spec.shape[0] == batch, spec.shape[1] == config.spectrogramChannels else {
            throw ModelError.input("spectrogram must be [\(batch), \(config.spectrogramChannels), frames], got \(spec.shape)")
        }
        let encoded: (x: Tensor, m: Tensor, logs: Tensor, mask: Tensor)
        do { encoded = try encP(tokens, lengths: tokenLengths, trace: trace) } catch { throw ModelError.input("\(error)") }
        let (h, mPTokens, logsPTokens, xMask) = encoded
        Self.report(trace, ["enc_p.x": h, "enc_p.m_p": mPTokens, "enc_p.logs_p": logsPTokens, "enc_p.x_mask": xMask])
        let g = try speakerConditioning(speakers, batch: batch)
        if let g { trace?("g", g) }
        let yMask = TextEncoder.sequenceMask(lengths: frameLengths, length: spec.shape[2])
        let posterior = try noise.normal([batch, config.model.interChannels, spec.shape[2]])
        let (z, mQ, logsQ) = encQ(spec, mask: yMask, g: g, noise: posterior, trace: trace)
        let zP = flow(z, mask: yMask, g: g, trace: trace)
        Self.report(trace, ["enc_q.z": z, "enc_q.m_q": mQ, "enc_q.logs_q": logsQ, "enc_q.y_mask": yMask, "flow.z_p": zP])

        let attention: Tensor
        if let alignment { attention = alignment } else {
            let scores = Self.alignmentScores(zP: zP, mP: mPTokens, logsP: logsPTokens)
            trace?("mas.neg_cent", scores)
            attention = try MonotonicAlignment.maximumPath(scores, tokenLengths: tokenLengths, frameLengths: frameLengths)
        }
        let w = try MonotonicAlignment.durations(path: attention)
        let dpNoise = try dp.trainingNoiseShape(batch: batch, tokens: tokens.shape[1]).map { try noise.normal($0) }
        let (dpOut, lLength) = dp.durationLoss(h, mask: xMask, durations: w, g: g, noise: dpNoise, trace: trace)
        let mP = Self.expand(mPTokens, path: attention)
        let logsP = Self.expand(logsPTokens, path: attention)
        Self.report(trace, ["dp.out": dpOut, "attn": attention, "w": w, "l_length": lLength, "prior.m_p": mP, "prior.logs_p": logsP])
        let u = try noise.uniform([batch])
        let starts = try MonotonicAlignment.segmentStarts(uniform: u.scalars, frameLengths: frameLengths,
                                                          segmentFrames: config.segmentFrames)
        let zSlice = sliceSegments(z, starts: starts, size: config.segmentFrames)
        trace?("z_slice", zSlice)
        let pitchPrediction = predictPitch(h, path: attention, durations: w, mask: yMask, g: g)
        let f0Slice = f0.map { sliceSegments($0.unsqueezed(1), starts: starts, size: config.segmentFrames).squeezed(1) }
        let decoded = try decode(zSlice, g: g, f0: f0Slice, noise: noise, trace: trace)
        let yHat = decoded.audio
        trace?("o", yHat)
        if let bands = decoded.subbands { trace?("o_mb", bands) }
        return TrainingOutputs(yHat: yHat, yHatSubbands: decoded.subbands, lLength: lLength, attention: attention, sliceStarts: starts,
                               xMask: xMask, yMask: yMask, z: z, zP: zP, mP: mP, logsP: logsP,
                               mQ: mQ, logsQ: logsQ, g: g, pitchPrediction: pitchPrediction)
    }

    /// Synthesis (reference `SynthesizerTrn.infer`), without autograd. `pitchScale` multiplies the
    /// predicted F0 of models with pitch excitation (2 = an octave up) and is ignored by others.
    public func infer(tokens: IntTensor, tokenLengths: [Int], speakers: [Int]? = nil,
                      noiseScale: Float = 0.667, lengthScale: Float = 1, noiseScaleW: Float = 0.8, pitchScale: Float = 1,
                      maxFrames: Int? = nil, noise: NoiseSource, trace: ModuleTrace? = nil) throws -> InferenceOutputs {
        try noGrad {
            let batch = tokens.shape[0]
            let encoded: (x: Tensor, m: Tensor, logs: Tensor, mask: Tensor)
            do { encoded = try encP(tokens, lengths: tokenLengths, trace: trace) } catch { throw ModelError.input("\(error)") }
            let (h, mPTokens, logsPTokens, xMask) = encoded
            Self.report(trace, ["enc_p.x": h, "enc_p.m_p": mPTokens, "enc_p.logs_p": logsPTokens, "enc_p.x_mask": xMask])
            let g = try speakerConditioning(speakers, batch: batch)
            if let g { trace?("g", g) }
            let dpNoise = try dp.inferenceNoiseShape(batch: batch, tokens: tokens.shape[1]).map { try noise.normal($0) }
            let logw = dp.logDurations(h, mask: xMask, g: g, noise: dpNoise, noiseScale: noiseScaleW, trace: trace)
            let wCeil = (logw.exp() * xMask).multiplied(by: lengthScale).ceil()
            let frameLengths = MonotonicAlignment.frameCounts(durations: wCeil)
            let frames = frameLengths.max() ?? 1
            let yMask = TextEncoder.sequenceMask(lengths: frameLengths, length: frames)
            let attention = try MonotonicAlignment.generatePath(durations: wCeil, tokenLengths: tokenLengths,
                                                                frameLengths: frameLengths, frames: frames)
            let mP = Self.expand(mPTokens, path: attention)
            let logsP = Self.expand(logsPTokens, path: attention)
            let eps = try noise.normal(mP.shape)
            let zP = mP + eps * logsP.exp() * noiseScale
            let z = flow.reverse(zP, mask: yMask, g: g, trace: trace)
            var latent = z * yMask
            var f0 = predictPitch(h, path: attention, durations: wCeil, mask: yMask, g: g)
                .map { PitchPredictor.frequencies($0, mask: yMask) }
            if pitchScale != 1 { f0 = f0?.multiplied(by: pitchScale) }
            if let maxFrames, maxFrames < frames {
                latent = latent.slice(axis: 2, start: 0, end: maxFrames)
                f0 = f0?.slice(axis: 1, start: 0, end: maxFrames)
            }
            let decoded = try decode(latent, g: g, f0: f0, noise: noise, trace: trace)
            let audio = decoded.audio
            if let bands = decoded.subbands { trace?("o_mb", bands) }
            Self.report(trace, ["logw": logw, "w_ceil": wCeil, "y_mask": yMask, "attn": attention, "m_p": mP,
                                "logs_p": logsP, "z_p": zP, "z": z, "o": audio])
            return InferenceOutputs(audio: audio, frameLengths: frameLengths.map { min($0, maxFrames ?? $0) },
                                    logw: logw, wCeil: wCeil, attention: attention, yMask: yMask,
                                    mP: mP, logsP: logsP, zP: zP, z: z, g: g, f0: f0)
        }
    }
}
