import Foundation
import Engine
import Cores

/// The harmonic source of the neural source-filter models (Wang, Takaki & Yamagishi, TASLP 2020;
/// PitchConfig.swift says why): from F0 per latent frame [B, T] (Hz, 0 = unvoiced) to
/// [B, harmonics + 1, T·hop] sample-rate signals. Harmonic k (1 = the fundamental) is
/// `A·sin(2π·φ_k(n))` with `φ_k(n) = φ_k(0) + Σ_{m≤n} k·F0(m)/fs` (F0 held over each frame), plus
/// noise of standard deviation σ where voiced; unvoiced samples are noise of standard deviation A/3.
/// Harmonics at or above Nyquist are silent. The initial phases (the fundamental's 0) and the noise
/// come from the model's noise source, so training stays reproducible and resumes exactly.
/// The source carries no parameters and no gradient: F0 is an input.
public struct HarmonicSource: Sendable {
    public let harmonics: Int
    public let amplitude: Float
    public let noiseStd: Float
    public let sampleRate: Int

    public init(settings: PitchSettings, sampleRate: Int) {
        harmonics = settings.harmonics
        amplitude = Float(settings.sineAmplitude)
        noiseStd = Float(settings.noiseStd)
        self.sampleRate = sampleRate
    }

    /// Draws: uniform [B, harmonics + 1] (initial phases), then normal [B, harmonics + 1, T·hop].
    public func callAsFunction(f0 frames: Tensor, samplesPerFrame hop: Int, noise: NoiseSource) throws -> Tensor {
        precondition(frames.rank == 2, "HarmonicSource: F0 must be [B, T], got \(frames.shape)")
        let (batch, length) = (frames.shape[0], frames.shape[1])
        let channels = harmonics + 1, samples = length * hop
        let phases = try noise.uniform([batch, channels]).detached()
        let out = try noise.normal([batch, channels, samples]).detached().copy()
        let f0 = frames.detached()
        let nyquist = Double(sampleRate) / 2, rate = Double(sampleRate)
        let amplitude = self.amplitude, voicedNoise = noiseStd, unvoicedNoise = self.amplitude / 3
        let o = out.pointer, f = f0.pointer, p = phases.pointer
        Parallel.forRanges(batch * channels) { rows in
            for row in rows {
                let b = row / channels, k = row % channels
                let line = o + row * samples, contour = f + b * length
                let multiple = Double(k + 1)
                var phase = k == 0 ? 0 : Double(p[row])
                for t in 0..<length {
                    let hz = Double(contour[t])
                    let base = line + t * hop
                    guard hz > 0 else {
                        for n in 0..<hop { base[n] *= unvoicedNoise }
                        continue
                    }
                    let step = multiple * hz / rate
                    let audible = multiple * hz < nyquist
                    for n in 0..<hop {
                        phase += step
                        phase -= phase.rounded(.down)
                        let tone = audible ? amplitude * Float(sin(2 * Double.pi * phase)) : 0
                        base[n] = tone + voicedNoise * base[n]
                    }
                }
            }
        }
        return out
    }
}

/// The source module of the decoder (`dec.m_source`): the harmonics merged to one channel,
/// `tanh(merge(source))` (a 1×1 convolution; NSF's `l_linear`).
public final class SourceMerge: Module {
    @ModuleInfo(key: "merge") public private(set) var merge: Conv1d

    public init(harmonics: Int, generator: RandomGenerator) {
        _merge.wrappedValue = Conv1d(harmonics + 1, 1, kernelSize: 1, generator: generator)
        super.init()
    }

    public func callAsFunction(_ source: Tensor) -> Tensor { merge(source).tanh() }
}

/// The frame-level pitch predictor (`pitch_predictor`): from the text encoder's states expanded to
/// frames (detached, as the duration predictor's input) and each frame's place in its token, predicts
/// log(F0 / 100 Hz) (channel 0) and a voicing logit (channel 1). Layers: `convs.i` (kernel k, same
/// padding) → ReLU → `norms.i` (channel layer norm) → dropout, then `proj` (1×1, 2 channels);
/// `cond` adds the speaker embedding for multi-speaker models.
public final class PitchPredictor: Module {
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout
    @ModuleInfo(key: "convs") public private(set) var convs: ModuleList<Conv1d>
    @ModuleInfo(key: "norms") public private(set) var norms: ModuleList<ChannelLayerNorm>
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d
    @ModuleInfo(key: "cond") public private(set) var cond: Conv1d?
    /// Position features per frame: the fraction of its token already spoken, and log of the token's frames.
    public static let positionChannels = 2

    public init(hiddenChannels: Int, settings: PitchSettings, dropout: Float, ginChannels: Int, generator: RandomGenerator) {
        let width = settings.predictorChannels, k = settings.predictorKernel
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        var inputs = hiddenChannels + Self.positionChannels
        var convLayers: [Conv1d] = [], normLayers: [ChannelLayerNorm] = []
        for _ in 0..<settings.predictorLayers {
            convLayers.append(Conv1d(inputs, width, kernelSize: k, padding: k / 2, generator: generator))
            normLayers.append(ChannelLayerNorm(width))
            inputs = width
        }
        _convs.wrappedValue = ModuleList(convLayers)
        _norms.wrappedValue = ModuleList(normLayers)
        _proj.wrappedValue = Conv1d(width, 2, kernelSize: 1, generator: generator)
        _cond.wrappedValue = ginChannels > 0 ? Conv1d(ginChannels, hiddenChannels, kernelSize: 1, generator: generator) : nil
        super.init()
    }

    /// hidden [B, H, T] (frame-expanded text states), position [B, 2, T], mask [B, 1, T] → [B, 2, T].
    public func callAsFunction(hidden: Tensor, position: Tensor, mask: Tensor, g: Tensor?) -> Tensor {
        var h = hidden.detached()
        if let g, let cond { h = h + cond(g.detached()) }
        var x = Tensor.concat([h, position], axis: 1)
        for (conv, norm) in zip(convs, norms) {
            x = drop(norm(conv(x * mask).relu()))
        }
        return proj(x * mask) * mask
    }

    /// Per frame of each item: (fraction of its token spoken at the frame's centre, log(token frames)),
    /// as [B, 2, frames]; `durations` [B, 1, Tx] are the frames per token (the alignment's or the
    /// predicted ones). Frames past an item's tokens are zero.
    public static func positions(durations: Tensor, frames: Int) -> Tensor {
        let (batch, tokens) = (durations.shape[0], durations.shape[2])
        var out = [Float](repeating: 0, count: batch * positionChannels * frames)
        let w = durations.detached().scalars
        for b in 0..<batch {
            var t = 0
            for j in 0..<tokens {
                let count = Int(w[b * tokens + j].rounded())
                guard count > 0 else { continue }
                let logCount = Float(log(Double(count)))
                for i in 0..<count where t < frames {
                    out[(b * positionChannels) * frames + t] = (Float(i) + 0.5) / Float(count)
                    out[(b * positionChannels + 1) * frames + t] = logCount
                    t += 1
                }
            }
        }
        return Tensor(shape: [batch, positionChannels, frames], data: out)
    }

    /// F0 in Hz per frame [B, T] from a prediction [B, 2, T]: 100·exp(channel 0) where the voicing
    /// logit is positive and the frame is inside the mask [B, 1, T], else 0.
    public static func frequencies(_ prediction: Tensor, mask: Tensor) -> Tensor {
        let (batch, frames) = (prediction.shape[0], prediction.shape[2])
        let p = prediction.detached().scalars, m = mask.detached().scalars
        var out = [Float](repeating: 0, count: batch * frames)
        for b in 0..<batch {
            for t in 0..<frames where m[b * frames + t] > 0 && p[(b * 2 + 1) * frames + t] > 0 {
                out[b * frames + t] = PitchSettings.referenceHz * Foundation.exp(p[(b * 2) * frames + t])
            }
        }
        return Tensor(shape: [batch, frames], data: out)
    }
}

/// The pitch predictor's loss: L1 of log(F0 / 100 Hz) on frames voiced in the recording, plus the
/// binary cross-entropy of the voicing logit on every valid frame (each a masked mean).
public enum PitchLoss {
    /// prediction [B, 2, T]; f0 [B, T] Hz (0 = unvoiced); mask [B, 1, T]. Returns (log-F0 L1, voicing BCE).
    public static func terms(prediction: Tensor, f0: Tensor, mask: Tensor) -> (logF0: Tensor, voicing: Tensor) {
        let (batch, frames) = (f0.shape[0], f0.shape[1])
        let hz = f0.detached().scalars, m = mask.detached().scalars
        var target = [Float](repeating: 0, count: batch * frames), voiced = target
        for i in 0..<(batch * frames) where hz[i] > 0 && m[i] > 0 {
            target[i] = Foundation.log(hz[i] / PitchSettings.referenceHz)
            voiced[i] = 1
        }
        let targetT = Tensor(shape: [batch, 1, frames], data: target)
        let voicedT = Tensor(shape: [batch, 1, frames], data: voiced)
        let logF0 = prediction.slice(axis: 1, start: 0, end: 1)
        let logit = prediction.slice(axis: 1, start: 1, end: 2)
        let voicedCount = max(1, voiced.reduce(0, +)), validCount = max(1, m.reduce(0, +))
        let l1 = ((logF0 - targetT).abs() * voicedT).sum().divided(by: voicedCount)
        let bce = ((logit.softplus() - logit * voicedT) * mask).sum().divided(by: validCount)
        return (l1, bce)
    }
}
