import Foundation

/// F0 by YIN (de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for speech and
/// music", JASA 111(4), 2002) with a continuity-tracking voicing decision in the spirit of WORLD's
/// Harvest (Morise, Interspeech 2017), whose voiced/unvoiced split the envelope analysis depends on:
///  1. per frame the cumulative-mean normalized difference d′(τ) over lags of 71…800 Hz;
///  2. seeds: frames whose first dip of d′ under `seedThreshold` (taken to its local minimum) is
///     clear and whose energy is within `silenceDecibels` of the loudest frame; seed runs shorter
///     than `minimumVoicedFrames` are dropped;
///  3. tracking: from each voiced frame the neighbours (forwards, then backwards) become voiced
///     when d′ has a minimum under `trackThreshold` within ±`trackTolerance` of the neighbour's
///     period — Harvest likewise extends contours through weakly periodic frames;
///  4. parabolic interpolation of the chosen lag.
/// Frames sit every `framePeriod` seconds from t = 0, as Harvest's.
public struct PitchEstimator: Sendable {
    public var sampleRate: Int
    public var framePeriod: Double = 0.005
    /// Search range (Harvest's defaults).
    public var lowestF0: Double = 71
    public var highestF0: Double = 800
    public var seedThreshold: Double = 0.35
    public var trackThreshold: Double = 0.95
    public var trackTolerance: Double = 0.12
    /// Frames this far (dB) below the loudest frame's energy are unvoiced.
    public var silenceDecibels: Double = 50
    public var minimumVoicedFrames = 3

    public init(sampleRate: Int) { self.sampleRate = sampleRate }

    /// Frames of a signal of `count` samples: Harvest's ⌊1000·n / fs / period_ms⌋ + 1.
    public func frameCount(samples count: Int) -> Int {
        Int(Double(count) / Double(sampleRate) / framePeriod) + 1
    }

    /// F0 in Hz per frame, 0 where unvoiced.
    public func estimate(_ signal: [Double]) -> [Double] {
        let n = signal.count, fs = Double(sampleRate)
        let frames = frameCount(samples: n)
        let maxLag = Int((fs / lowestF0).rounded(.up)), minLag = max(2, Int(fs / highestF0))
        // Integration window: one period of the lowest F0 plus a quarter (≈ 18 ms at 22.05 kHz).
        let window = maxLag &+ maxLag / 4
        let rowLength = maxLag &+ 2
        // d′ of every frame, frames × (maxLag + 2): the tracking pass looks at neighbours' curves.
        var curves = [Double](repeating: 1, count: frames * rowLength)
        var energy = [Double](repeating: 0, count: frames)
        signal.withUnsafeBufferPointer { xs in
            nonisolated(unsafe) let x = xs.baseAddress!
            curves.withUnsafeMutableBufferPointer { curveBuffer in
                energy.withUnsafeMutableBufferPointer { energyBuffer in
                    nonisolated(unsafe) let curveOut = curveBuffer.baseAddress!, energyOut = energyBuffer.baseAddress!
                    EvaluationWork.forRanges(frames, minChunk: 16) { range in
                        let span = window &+ maxLag
                        let segment = UnsafeMutablePointer<Double>.allocate(capacity: span)
                        defer { segment.deallocate() }
                        for frame in range {
                            let centre = matlabRound(Double(frame) * framePeriod * fs)
                            let start = centre &- span / 2
                            for i in 0..<span {
                                let j = start &+ i
                                segment[i] = (j >= 0 && j < n) ? x[j] : 0
                            }
                            var e = 0.0
                            for i in 0..<window { e += segment[i] * segment[i] }
                            energyOut[frame] = e / Double(window)
                            // d(τ) = Σ (x_j − x_{j+τ})², then d′(τ) = d(τ)·τ / Σ_{k≤τ} d(k).
                            let d = curveOut + frame &* rowLength
                            d[0] = 1
                            var running = 0.0
                            for lag in 1...(maxLag &+ 1) {
                                var s = 0.0
                                let shifted = segment + lag
                                for i in 0..<(window &- 1) {
                                    let diff = segment[i] - shifted[i]
                                    s += diff * diff
                                }
                                running += s
                                d[lag] = running > 0 ? s * Double(lag) / running : 1
                            }
                        }
                    }
                }
            }
        }
        let loudest = energy.max() ?? 0
        let floor = max(loudest * Foundation.pow(10, -silenceDecibels / 10), 1e-20)
        var period = [Double](repeating: 0, count: frames)
        var voiced = [Bool](repeating: false, count: frames)
        func refined(_ frame: Int, _ lag: Int) -> Double {
            let d = frame * rowLength
            let a = curves[d + lag - 1], b = curves[d + lag], c = curves[d + lag + 1]
            let curvature = a - 2 * b + c
            let shift = curvature > 0 ? 0.5 * (a - c) / curvature : 0
            return Double(lag) + max(-1, min(1, shift))
        }
        // 2. Seeds.
        for frame in 0..<frames where energy[frame] > floor {
            let d = frame * rowLength
            var lag = minLag
            while lag <= maxLag {
                if curves[d + lag] < seedThreshold {
                    while lag + 1 <= maxLag && curves[d + lag + 1] < curves[d + lag] { lag += 1 }
                    voiced[frame] = true
                    period[frame] = refined(frame, lag)
                    break
                }
                lag += 1
            }
        }
        var i = 0
        while i < frames {
            guard voiced[i] else { i += 1; continue }
            var j = i
            while j < frames && voiced[j] { j += 1 }
            if j - i < minimumVoicedFrames { for k in i..<j { voiced[k] = false } }
            i = j
        }
        // 3. Tracking through weakly periodic neighbours.
        func track(_ frame: Int, from neighbour: Int) {
            guard energy[frame] > floor else { return }
            let p = period[neighbour]
            let low = max(minLag, Int((p * (1 - trackTolerance)).rounded(.down)))
            let high = min(maxLag, Int((p * (1 + trackTolerance)).rounded(.up)))
            guard low <= high else { return }
            let d = frame * rowLength
            var best = low
            for lag in low...high where curves[d + lag] < curves[d + best] { best = lag }
            guard curves[d + best] < trackThreshold else { return }
            voiced[frame] = true
            period[frame] = refined(frame, best)
        }
        if frames > 1 {
            for frame in 1..<frames where !voiced[frame] && voiced[frame - 1] { track(frame, from: frame - 1) }
            for frame in Swift.stride(from: frames - 2, through: 0, by: -1) where !voiced[frame] && voiced[frame + 1] {
                track(frame, from: frame + 1)
            }
        }
        return (0..<frames).map { voiced[$0] && period[$0] > 0 ? fs / period[$0] : 0 }
    }
}
