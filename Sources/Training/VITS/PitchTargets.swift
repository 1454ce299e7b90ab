import Foundation
import Engine
import Corpus
import Evaluation

/// The recording's F0 per spectrogram frame, for models with pitch excitation: the decoder is
/// driven by it during training and the pitch predictor learns it. Estimated with the evaluation's
/// F0 tracker (Harvest; docs/evaluation.md), the same one `vits evaluate` scores voices with, once per
/// utterance and kept in memory (a deterministic function of the audio, so resuming needs nothing
/// saved).
public final class PitchTargets {
    let sampleRate: Int
    let hop: Int
    private var cache: [Int: [Float]] = [:]

    init(sampleRate: Int, hop: Int) {
        self.sampleRate = sampleRate
        self.hop = hop
    }

    /// F0 [B, maxFrames] in Hz (0 = unvoiced or padding), rows in the batch's order.
    func f0(for batch: Batch) -> Tensor {
        for k in 0..<batch.size where cache[batch.indices[k]] == nil {
            let samples = Int(batch.wavLengths[k]), start = k * batch.maxSamples
            let signal = batch.wav[start..<start + samples].map(Double.init)
            cache[batch.indices[k]] = Self.frameF0(signal: signal, sampleRate: sampleRate, hop: hop, frames: Int(batch.specLengths[k]))
        }
        var out = [Float](repeating: 0, count: batch.size * batch.maxFrames)
        for k in 0..<batch.size {
            let row = cache[batch.indices[k]] ?? []
            for (t, hz) in row.prefix(batch.maxFrames).enumerated() { out[k * batch.maxFrames + t] = hz }
        }
        return Tensor(shape: [batch.size, batch.maxFrames], data: out)
    }

    /// F0 at the centres of `frames` spectrogram frames ((t + ½)·hop samples: the reference's
    /// spectrogram pads (n_fft − hop)/2 on each side): the tracker's contour (every 5 ms from t = 0)
    /// interpolated linearly between two voiced neighbours, else the nearer neighbour's value.
    public static func frameF0(signal: [Double], sampleRate: Int, hop: Int, frames: Int) -> [Float] {
        let tracker = Harvest(sampleRate: sampleRate)
        let contour = tracker.estimate(signal)
        let period = tracker.framePeriodMilliseconds / 1000
        guard !contour.isEmpty else { return [Float](repeating: 0, count: frames) }
        return (0..<frames).map { t in
            let position = (Double(t) + 0.5) * Double(hop) / Double(sampleRate) / period
            let k0 = min(contour.count - 1, Int(position)), k1 = min(contour.count - 1, k0 + 1)
            let a = position - Double(k0)
            let (f0, f1) = (contour[k0], contour[k1])
            if f0 > 0, f1 > 0 { return Float(f0 + a * (f1 - f0)) }
            return Float(a < 0.5 ? f0 : f1)
        }
    }
}
