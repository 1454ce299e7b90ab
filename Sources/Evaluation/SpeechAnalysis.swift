import Foundation
import Cores
import Audio

/// WORLD-style analysis of one signal: F0 every 5 ms and the 24th-order mel-cepstrum of the
/// CheapTrick envelope at the same frames (the features the acceptance scorer compares).
public struct SpeechFeatures: Sendable {
    public var sampleRate: Int
    /// F0 per frame in Hz, 0 where unvoiced.
    public var f0: [Double]
    /// Mel-cepstra, frames × (order + 1), c0 included.
    public var melCepstrum: [Double]
    public var order: Int
    /// Seconds of the analysed signal.
    public var duration: Double
    public var frames: Int { f0.count }
}

public enum SpeechAnalysis {
    /// Every score is computed at this rate (the scorer resamples other rates to it).
    public static let sampleRate = 22_050
    public static let order = 24

    /// Resamples to `sampleRate` when needed, then analyses.
    public static func analyze(_ audio: MonoAudio, name: String) throws -> SpeechFeatures {
        guard audio.duration >= 0.05 else { throw EvaluationError.audioTooShort(name, seconds: audio.duration) }
        let samples: [Float]
        if audio.sampleRate == sampleRate { samples = audio.samples } else {
            do { samples = try Resampler.resample(audio.samples, from: audio.sampleRate, to: sampleRate) }
            catch { throw EvaluationError.unreadable("\(name): cannot resample from \(audio.sampleRate) Hz: \(error)") }
        }
        var features = analyze(samples.map(Double.init), sampleRate: sampleRate)
        features.duration = audio.duration
        return features
    }

    /// F0 (Harvest), CheapTrick envelope and its mel-cepstrum, frames split across cores.
    public static func analyze(_ signal: [Double], sampleRate: Int, order: Int = order) -> SpeechFeatures {
        let f0 = Harvest(sampleRate: sampleRate).estimate(signal)
        let cheapTrick = CheapTrick(sampleRate: sampleRate)
        let alpha = MelCepstrum.alpha(sampleRate: sampleRate)
        let frames = f0.count, size = cheapTrick.fftSize, half = size / 2
        var mc = [Double](repeating: 0, count: frames * (order + 1))
        // The noise floor of each signal is its own realization (WORLD draws it from one running
        // generator per analysis): seeding from the frame index alone would give two different
        // signals the same floor in their silent frames, which then match exactly under DTW and
        // pull MCD down wherever both sides have digital silence.
        var signalSeed: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(signal.count)
        for v in signal { signalSeed = (signalSeed ^ v.bitPattern) &* 0x0000_0100_0000_01B3 }
        signal.withUnsafeBufferPointer { xs in
            f0.withUnsafeBufferPointer { f0s in
                mc.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let x = xs.baseAddress!, f = f0s.baseAddress!, dst = out.baseAddress!
                    let n = xs.count
                    Parallel.forRanges(frames, minChunk: 8, chunksPerWorker: 4) { range in
                        let workspace = FFTWorkspace(size: size)
                        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 &* size)
                        let logEnvelope = UnsafeMutablePointer<Double>.allocate(capacity: half &+ 1)
                        let previous = UnsafeMutablePointer<Double>.allocate(capacity: order &+ 1)
                        defer { scratch.deallocate(); logEnvelope.deallocate(); previous.deallocate() }
                        for frame in range {
                            // Seeded per signal and frame: the same floor whatever the split across cores.
                            var noise = NoiseSource(seed: signalSeed &+ UInt64(frame) &* 0x2545_F491_4F6C_DD1D)
                            cheapTrick.logEnvelope(signal: x, count: n, f0: f[frame], position: Double(frame) * 0.005,
                                                   workspace: workspace, scratch: scratch, noise: &noise,
                                                   logEnvelope: logEnvelope)
                            MelCepstrum.fromLogPower(logEnvelope, order: order, alpha: alpha, workspace: workspace,
                                                     previous: previous, output: dst + frame &* (order &+ 1))
                        }
                    }
                }
            }
        }
        return SpeechFeatures(sampleRate: sampleRate, f0: f0, melCepstrum: mc, order: order,
                              duration: Double(signal.count) / Double(sampleRate))
    }
}
