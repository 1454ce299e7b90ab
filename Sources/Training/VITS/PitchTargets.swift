import Foundation
import Engine
import Formats
import Corpus
import Evaluation

/// The recording's F0 per spectrogram frame, for models with pitch excitation: the decoder is
/// driven by it during training and the pitch predictor learns it. Estimated with the evaluation's
/// F0 tracker (Harvest; docs/evaluation.md), the same one `vits evaluate` scores voices with, once per
/// utterance; kept in memory and, when a data folder is given, in its derived cache
/// (`cache/<trackerKind>/<id>.safetensors`), so a resumed or a second run does not track again (Harvest costs
/// about as much as a training step per utterance). A deterministic function of the audio: resuming
/// needs nothing in the checkpoint, and a cache file is used only if it was made from the same samples.
public final class PitchTargets {
    let sampleRate: Int
    let hop: Int
    let store: DataFolder?
    private var cache: [Int: [Float]] = [:]

    /// The cache folder's name: the tracker, its version (bump it when Harvest's output changes),
    /// the rate and the hop the frames are sampled at.
    public var trackerKind: String { "f0-harvest-v1-\(sampleRate)hz-hop\(hop)" }

    public init(sampleRate: Int, hop: Int, store: DataFolder? = nil) {
        self.sampleRate = sampleRate
        self.hop = hop
        self.store = store
    }

    /// F0 [B, maxFrames] in Hz (0 = unvoiced or padding), rows in the batch's order.
    public func f0(for batch: Batch) -> Tensor {
        for k in 0..<batch.size where cache[batch.indices[k]] == nil {
            let samples = Int(batch.wavLengths[k]), start = k * batch.maxSamples, frames = Int(batch.specLengths[k])
            let signal = batch.wav[start..<start + samples]
            var fingerprint = TensorFingerprint()
            signal.withUnsafeBufferPointer { fingerprint.add($0) }
            let url = store?.derivedCacheURL(kind: trackerKind, utterance: batch.ids[k], ext: "safetensors")
            if let url, let stored = Self.readCached(url, frames: frames, fingerprint: fingerprint.value) {
                cache[batch.indices[k]] = stored
                continue
            }
            let f0 = Self.frameF0(signal: signal.map(Double.init), sampleRate: sampleRate, hop: hop, frames: frames)
            cache[batch.indices[k]] = f0
            if let url { Self.writeCached(f0, fingerprint: fingerprint.value, to: url) }
        }
        var out = [Float](repeating: 0, count: batch.size * batch.maxFrames)
        for k in 0..<batch.size {
            let row = cache[batch.indices[k]] ?? []
            for (t, hz) in row.prefix(batch.maxFrames).enumerated() { out[k * batch.maxFrames + t] = hz }
        }
        return Tensor(shape: [batch.size, batch.maxFrames], data: out)
    }

    // MARK: cache files

    /// A safetensors file with one F32 tensor `f0` [frames] and the samples' fingerprint
    /// (TensorFingerprint over their Float bit patterns, hexadecimal) as metadata.
    static func writeCached(_ f0: [Float], fingerprint: UInt64, to url: URL) {
        // A cache that cannot be written (read-only data folder, full disk) only costs time.
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? SafeTensors.write([(name: "f0", shape: [f0.count], values: f0)],
                               metadata: ["fingerprint": String(fingerprint, radix: 16)], to: url)
    }

    /// The stored F0, or nil when the file is absent, unreadable, of another length or made from other samples.
    static func readCached(_ url: URL, frames: Int, fingerprint: UInt64) -> [Float]? {
        guard let file = try? SafeTensorsFile(contentsOf: url), file.metadata["fingerprint"] == String(fingerprint, radix: 16),
              let (shape, values) = try? file.tensor(named: "f0"), shape == [frames] else { return nil }
        return values
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
