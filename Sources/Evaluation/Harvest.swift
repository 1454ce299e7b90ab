import Foundation
import Cores
import CFFTW

/// F0 by Harvest (M. Morise, "Harvest: a high-performance fundamental frequency estimator from
/// speech signals", Interspeech 2017), the estimator of WORLD that the acceptance scorer runs
/// through `pyworld.harvest` (71–800 Hz, 5 ms frames). The analysis runs on a 1 ms grid and the
/// result is sampled every `framePeriodMilliseconds`, as WORLD does:
///  1. the signal is decimated to about 8 kHz (an IIR low-pass run forwards and backwards) and
///     its DC removed;
///  2. 40 band-pass channels per octave (Nuttall-windowed cosines, centres from 0.9·floor to
///     1.1·ceiling) filter it by FFT convolution; in each channel the intervals between
///     negative-going and positive-going zero crossings, peaks and dips give four F0 contours,
///     interpolated to the frame grid and averaged; a channel keeps its value where it lies within
///     ±10 % of the channel's centre;
///  3. per frame, runs of ≥ 10 adjacent channels that agree become candidates (their mean); the
///     candidates of the three frames either side are added;
///  4. each candidate is refined by the instantaneous frequency of its first ≤ 6 harmonics
///     (a Blackman window of 3 periods and its derivative) and scored by how well the harmonics
///     agree; candidates without a close match in a neighbouring frame are dropped;
///  5. the contour: the best-scored candidate per frame, rapid jumps removed, voiced runs under
///     6 ms removed, each run extended (≤ 100 ms) through candidates within 18 %, overlapping runs
///     merged by score, gaps under 9 ms bridged linearly; finally a zero-phase low-pass (second
///     order Butterworth, forwards and backwards) inside each voiced run.
/// The constants are WORLD's (tuned there on speech databases); the interpolation, the
/// decimation filter and the contour bookkeeping follow WORLD's edge cases so that the voicing
/// decisions, which the CheapTrick envelope depends on, come out the same.
public struct Harvest: Sendable {
    public var sampleRate: Int
    public var framePeriodMilliseconds: Double = 5
    public var lowestF0: Double = 71
    public var highestF0: Double = 800

    public init(sampleRate: Int) { self.sampleRate = sampleRate }

    /// Frames of a signal of `count` samples: WORLD's ⌊1000·n / fs / period⌋ + 1, from t = 0.
    public func frameCount(samples count: Int) -> Int {
        Int(1000.0 * Double(count) / Double(sampleRate) / framePeriodMilliseconds) + 1
    }

    /// F0 in Hz per frame, 0 where unvoiced.
    public func estimate(_ signal: [Double]) -> [Double] {
        let frames = frameCount(samples: signal.count)
        guard signal.count >= 2 else { return [Double](repeating: 0, count: frames) }
        let fine = HarvestAnalysis(sampleRate: sampleRate, lowestF0: lowestF0, highestF0: highestF0,
                                   samples: signal.count)
        let basic = signal.withUnsafeBufferPointer { fine.run($0.baseAddress!) }
        var f0 = [Double](repeating: 0, count: frames)
        for i in 0..<frames {
            let position = Double(i) * framePeriodMilliseconds / 1000.0
            f0[i] = basic[min(basic.count - 1, matlabRound(position * 1000.0))]
        }
        return f0
    }
}

/// ln 2 as WORLD writes it (kLog2); used wherever WORLD takes log2 through it, so that the
/// integer parts come out the same.
private let worldLog2 = 0.69314718055994529
/// WORLD's kMySafeGuardMinimum.
private let safeGuard = 0.000000000001

/// The 1 ms analysis of one signal (WORLD's HarvestGeneralBody with frame period 1).
struct HarvestAnalysis {
    let fs: Int
    let lowestF0: Double
    let highestF0: Double
    let samples: Int
    let channelF0: [Double]
    let ratio: Int
    let decimatedLength: Int
    let decimatedRate: Double
    let fftSize: Int
    let frames: Int
    /// Slots for per-frame candidate runs before the ±3-frame overlap (WORLD: round(channels/10)).
    let runSlots: Int
    static let overlap = 3

    init(sampleRate: Int, lowestF0: Double, highestF0: Double, samples: Int) {
        fs = sampleRate
        self.lowestF0 = lowestF0
        self.highestF0 = highestF0
        self.samples = samples
        let floor = lowestF0 * 0.9, ceiling = highestF0 * 1.1
        let channelsPerOctave = 40.0
        let channels = 1 + Int(Foundation.log(ceiling / floor) / worldLog2 * channelsPerOctave)
        channelF0 = (0..<channels).map { floor * Foundation.pow(2.0, Double($0 + 1) / channelsPerOctave) }
        ratio = max(min(matlabRound(Double(sampleRate) / 8000.0), 12), 1)
        decimatedLength = Int((Double(samples) / Double(ratio)).rounded(.up))
        decimatedRate = Double(sampleRate) / Double(ratio)
        fftSize = worldFFTSize(decimatedLength + 5 + 2 * Int(2.0 * decimatedRate / channelF0[0]))
        frames = Int(1000.0 * Double(samples) / Double(sampleRate) / 1.0) + 1
        runSlots = matlabRound(Double(channels) / 10.0)
    }

    func run(_ x: UnsafePointer<Double>) -> [Double] {
        // 1. Decimated, DC-free signal and its spectrum.
        let y = fftw_alloc_real(fftSize)!
        let spectrum = fftw_alloc_complex(fftSize / 2 + 1)!
        defer { fftw_free(y); fftw_free(spectrum) }
        y.initialize(repeating: 0, count: fftSize)
        HarvestDecimation.downsample(x, count: samples, ratio: ratio, outputCount: decimatedLength, into: y)
        var mean = 0.0
        for i in 0..<decimatedLength { mean += y[i] }
        mean /= Double(decimatedLength)
        for i in 0..<decimatedLength { y[i] -= mean }
        fftw_execute_dft_r2c(AnalysisPlans.shared.realForward(size: fftSize), y, spectrum)

        // 2. Raw candidates per channel, channels split across cores.
        let channels = channelF0.count
        var raw = [Double](repeating: 0, count: channels * frames)
        raw.withUnsafeMutableBufferPointer { rawBuffer in
            nonisolated(unsafe) let out = rawBuffer.baseAddress!
            nonisolated(unsafe) let ySpectrum = UnsafeRawPointer(spectrum).assumingMemoryBound(to: Double.self)
            Parallel.forRanges(channels, minChunk: 4, chunksPerWorker: 4) { range in
                var worker = ChannelWorker(analysis: self)
                for channel in range {
                    worker.candidates(channel: channel, spectrum: ySpectrum, into: out + channel &* frames)
                }
                worker.release()
            }
        }

        // 3. Candidates per frame (runs of agreeing channels), spread to ±3 frames.
        var runs = [Double](repeating: 0, count: frames * runSlots)
        var candidateCount = 0
        var voiced = [Bool](repeating: false, count: channels)
        for frame in 0..<frames {
            for c in 0..<channels { voiced[c] = raw[c * frames + frame] > 0 }
            voiced[0] = false
            voiced[channels - 1] = false
            var count = 0, start = 0
            for c in 1..<channels where voiced[c] != voiced[c - 1] {
                if voiced[c] { start = c; continue }
                guard c - start >= 10 else { continue }
                var sum = 0.0
                for j in start..<c { sum += raw[j * frames + frame] }
                if count < runSlots { runs[frame * runSlots + count] = sum / Double(c - start) }
                count += 1
            }
            candidateCount = max(candidateCount, min(count, runSlots))
        }
        let width = candidateCount * (2 * Self.overlap + 1)
        guard width > 0 else { return [Double](repeating: 0, count: frames) }
        var candidates = [Double](repeating: 0, count: frames * width)
        for frame in 0..<frames {
            for j in 0..<candidateCount { candidates[frame * width + j] = runs[frame * runSlots + j] }
        }
        for shift in 1...Self.overlap {
            for j in 0..<candidateCount {
                for k in shift..<max(shift, frames) {
                    candidates[k * width + j + candidateCount * shift] = runs[(k - shift) * runSlots + j]
                }
                for k in 0..<max(0, frames - shift) {
                    candidates[k * width + j + candidateCount * (shift + Self.overlap)] = runs[(k + shift) * runSlots + j]
                }
            }
        }

        // 4. Instantaneous-frequency refinement and scores, frames split across cores.
        var scores = [Double](repeating: 0, count: frames * width)
        candidates.withUnsafeMutableBufferPointer { candidateBuffer in
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                nonisolated(unsafe) let f = candidateBuffer.baseAddress!, s = scoreBuffer.baseAddress!
                nonisolated(unsafe) let signal = UnsafePointer(y)
                Parallel.forRanges(frames, minChunk: 32, chunksPerWorker: 4) { range in
                    var worker = RefinementWorker(analysis: self)
                    for frame in range {
                        let position = Double(frame) / 1000.0
                        for j in 0..<width {
                            let index = frame &* width &+ j
                            let refined = worker.refine(signal, position: position, f0: f[index])
                            f[index] = refined.f0
                            s[index] = refined.score
                        }
                    }
                    worker.release()
                }
            }
        }
        HarvestContour.removeUnreliable(&candidates, &scores, frames: frames, width: width)

        // 5. Contour.
        let best = HarvestContour.fix(candidates: candidates, scores: scores, frames: frames, width: width)
        return HarvestContour.smooth(best)
    }

    /// FFT size of the instantaneous-frequency analysis for a candidate: 2^(2 + ⌊log2(window)⌋).
    func refinementGeometry(f0: Double) -> (halfWindow: Int, fftSize: Int, exponent: Int) {
        let halfWindow = Int(1.5 * decimatedRate / f0 + 1.0)
        let exponent = 2 + Int(Foundation.log(Double(halfWindow) * 2.0 + 1.0) / worldLog2)
        return (halfWindow, 1 << exponent, exponent)
    }
}

/// WORLD's GetSuitableFFTSize: 2^(⌊log2(n)⌋ + 1).
private func worldFFTSize(_ n: Int) -> Int {
    1 << (Int(Foundation.log(Double(n)) / worldLog2) + 1)
}

// MARK: - Decimation

/// The decimation of WORLD's Harvest (MATLAB's `decimate` with a 3rd-order IIR low-pass whose
/// coefficients WORLD tabulates per ratio), on the signal padded by ≈ 140 samples of its end values.
enum HarvestDecimation {
    /// (a1, a2, a3, b0, b1) of the low-pass for ratio r (WORLD's table; zero for ratios it lacks).
    static func coefficients(ratio: Int) -> (Double, Double, Double, Double, Double) {
        switch ratio {
        case 12: return (2.4981398605924205, -2.1368928194784025, 0.62187513816221485, 0.0021097275904709001, 0.0063291827714127002)
        case 11: return (2.450743295230728, -2.06794904601978, 0.59574774438332101, 0.0026822508007163792, 0.0080467524021491377)
        case 10: return (2.3936475118069387, -1.9873904075111861, 0.5658879979027055, 0.0034818622251927556, 0.010445586675578267)
        case 9: return (2.3236003491759578, -1.8921545617463598, 0.53148928133729068, 0.0046331164041389372, 0.013899349212416812)
        case 8: return (2.2357462340187593, -1.7780899984041358, 0.49152555365968692, 0.0063522763407111993, 0.019056829022133598)
        case 7: return (2.1225239019534703, -1.6395144861046302, 0.44469707800587366, 0.0090366882681608418, 0.027110064804482525)
        case 6: return (1.9715352749512141, -1.4686795689225347, 0.3893908434965701, 0.013469181309343825, 0.040407543928031475)
        case 5: return (1.7610939654280557, -1.2554914843859768, 0.3237186507788215, 0.021334858522387423, 0.06400457556716227)
        case 4: return (1.4499664446880227, -0.98943497080950582, 0.24578252340690215, 0.036710750339322612, 0.11013225101796784)
        case 3: return (0.95039378983237421, -0.67429146741526791, 0.15412211621346475, 0.071221945171178636, 0.21366583551353591)
        case 2: return (0.041156734567757189, -0.42599112459189636, 0.041037215479961225, 0.16797464681802227, 0.50392394045406674)
        default: return (0, 0, 0, 0, 0)
        }
    }

    /// Direct form II, b = (b0, b1, b1, b0).
    static func lowPass(_ x: UnsafePointer<Double>, count: Int, ratio: Int, into y: UnsafeMutablePointer<Double>) {
        let (a0, a1, a2, b0, b1) = coefficients(ratio: ratio)
        var w0 = 0.0, w1 = 0.0, w2 = 0.0
        for i in 0..<count {
            let wt = x[i] + a0 * w0 + a1 * w1 + a2 * w2
            y[i] = b0 * wt + b1 * w0 + b1 * w1 + b0 * w2
            w2 = w1
            w1 = w0
            w0 = wt
        }
    }

    /// Zero-phase low-pass (forwards, backwards) with 9 reflected samples each end, then every
    /// r-th sample aligned to the end, as MATLAB's `decimate`. Writes (count − 1)/r + 1 samples.
    static func decimate(_ x: UnsafePointer<Double>, count n: Int, ratio r: Int, into y: UnsafeMutablePointer<Double>) {
        let pad = 9, total = n + 2 * pad
        let a = UnsafeMutablePointer<Double>.allocate(capacity: total)
        let b = UnsafeMutablePointer<Double>.allocate(capacity: total)
        defer { a.deallocate(); b.deallocate() }
        for i in 0..<pad { a[i] = 2 * x[0] - x[pad - i] }
        for i in pad..<(pad + n) { a[i] = x[i - pad] }
        for i in (pad + n)..<total { a[i] = 2 * x[n - 1] - x[n - 2 - (i - (pad + n))] }
        lowPass(a, count: total, ratio: r, into: b)
        for i in 0..<total { a[i] = b[total - i - 1] }
        lowPass(a, count: total, ratio: r, into: b)
        for i in 0..<total { a[i] = b[total - i - 1] }
        let outputs = (n - 1) / r + 1
        var i = r - r * outputs + n, count = 0
        while i < n + pad {
            y[count] = a[i + pad - 1]
            count += 1
            i += r
        }
    }

    /// The signal padded with its first/last value by ⌈140/r⌉·r samples each side, decimated,
    /// and `outputCount` samples taken from the start of the original.
    static func downsample(_ x: UnsafePointer<Double>, count n: Int, ratio r: Int, outputCount: Int,
                           into y: UnsafeMutablePointer<Double>) {
        if r == 1 {
            for i in 0..<n { y[i] = x[i] }
            return
        }
        let lag = Int((140.0 / Double(r)).rounded(.up)) * r
        let total = n + 2 * lag
        let padded = UnsafeMutablePointer<Double>.allocate(capacity: total)
        let decimated = UnsafeMutablePointer<Double>.allocate(capacity: total)
        defer { padded.deallocate(); decimated.deallocate() }
        for i in 0..<lag { padded[i] = x[0] }
        for i in 0..<n { padded[lag + i] = x[i] }
        for i in (lag + n)..<total { padded[i] = x[n - 1] }
        decimated.initialize(repeating: 0, count: total)
        decimate(padded, count: total, ratio: r, into: decimated)
        for i in 0..<outputCount { y[i] = decimated[lag / r + i] }
    }
}

// MARK: - Channel candidates

/// One worker's buffers for the band-pass channels: filter, zero-crossing intervals, interpolation.
private struct ChannelWorker {
    let analysis: HarvestAnalysis
    let real: UnsafeMutablePointer<Double>
    let complex: UnsafeMutablePointer<fftw_complex>
    let forward: OpaquePointer
    let inverse: OpaquePointer
    /// Four (locations, intervals) pairs, each of the decimated length.
    let events: UnsafeMutablePointer<Double>
    /// Four interpolated contours and the segment index of every frame.
    let contours: UnsafeMutablePointer<Double>
    let segment: UnsafeMutablePointer<Int>
    let times: UnsafeMutablePointer<Double>

    init(analysis: HarvestAnalysis) {
        self.analysis = analysis
        let size = analysis.fftSize
        real = fftw_alloc_real(size)!
        complex = fftw_alloc_complex(size / 2 + 1)!
        forward = AnalysisPlans.shared.realForward(size: size)
        inverse = AnalysisPlans.shared.realInverse(size: size)
        events = .allocate(capacity: 8 * max(1, analysis.decimatedLength))
        contours = .allocate(capacity: 4 * analysis.frames)
        segment = .allocate(capacity: analysis.frames)
        times = .allocate(capacity: analysis.frames)
        for i in 0..<analysis.frames { times[i] = Double(i) / 1000.0 }
    }

    func release() {
        fftw_free(real)
        fftw_free(complex)
        events.deallocate()
        contours.deallocate()
        segment.deallocate()
        times.deallocate()
    }

    /// The channel's F0 contour on the 1 ms grid, 0 where the channel does not hold its band.
    mutating func candidates(channel: Int, spectrum ySpectrum: UnsafePointer<Double>,
                             into out: UnsafeMutablePointer<Double>) {
        let a = analysis, size = a.fftSize, half = size / 2, fs = a.decimatedRate
        let boundary = a.channelF0[channel]
        let n = a.decimatedLength, frames = a.frames

        // Band-pass filter: a Nuttall window of 4 periods of the centre frequency times its cosine.
        let filterHalf = matlabRound(fs / boundary * 2.0)
        let length = filterHalf * 2 + 1
        for i in 0..<length {
            let t = Double(i) / (Double(length) - 1.0)
            let nuttall = 0.355768 - 0.487396 * Foundation.cos(2.0 * Double.pi * t)
                + 0.144232 * Foundation.cos(4.0 * Double.pi * t) - 0.012604 * Foundation.cos(6.0 * Double.pi * t)
            real[i] = nuttall * Foundation.cos(2 * Double.pi * boundary * Double(i - filterHalf) / fs)
        }
        for i in length..<size { real[i] = 0 }
        fftw_execute_dft_r2c(forward, real, complex)

        // Convolution in frequency. WORLD mirrors each product into bin size − i − 1 of the same
        // array as it goes; for the last two bins that write lands inside the half spectrum
        // (bins N/2 − 1 and N/2 end up as products of products). Kept: it changes the filtered
        // signal only at the decimated Nyquist frequency, but it is what the scorer computes.
        let bins = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self)
        for i in 0...half {
            let yr = ySpectrum[2 &* i], yi = ySpectrum[2 &* i &+ 1]
            let fr = bins[2 &* i], fi = bins[2 &* i &+ 1]
            bins[2 &* i] = yr * fr - yi * fi
            bins[2 &* i &+ 1] = yr * fi + yi * fr
            let mirror = size - i - 1
            if i > 0 && mirror <= half {
                bins[2 &* mirror] = bins[2 &* i]
                bins[2 &* mirror &+ 1] = bins[2 &* i &+ 1]
            }
        }
        fftw_execute_dft_c2r(inverse, complex, real)
        // Delay compensation.
        let bias = filterHalf + 1
        for i in 0..<n { real[i] = real[i &+ bias] }

        // Intervals between negative-going crossings, positive-going crossings, peaks and dips.
        let stride = max(1, n)
        let counts0 = Self.crossings(real, count: n, rate: fs, locations: events, intervals: events + stride)
        for i in 0..<n { real[i] = -real[i] }
        let counts1 = Self.crossings(real, count: n, rate: fs, locations: events + 2 * stride, intervals: events + 3 * stride)
        for i in 0..<(n - 1) { real[i] = real[i] - real[i &+ 1] }
        let counts2 = Self.crossings(real, count: n - 1, rate: fs, locations: events + 4 * stride, intervals: events + 5 * stride)
        for i in 0..<(n - 1) { real[i] = -real[i] }
        let counts3 = Self.crossings(real, count: n - 1, rate: fs, locations: events + 6 * stride, intervals: events + 7 * stride)

        guard counts0 > 2 && counts1 > 2 && counts2 > 2 && counts3 > 2 else {
            for i in 0..<frames { out[i] = 0 }
            return
        }
        let counts = [counts0, counts1, counts2, counts3]
        for k in 0..<4 {
            interpolate(locations: events + 2 * k * stride, values: events + (2 * k + 1) * stride, count: counts[k],
                        into: contours + k * frames)
        }
        let upper = boundary * 1.1, lower = boundary * 0.9
        for i in 0..<frames {
            let f = (contours[i] + contours[frames &+ i] + contours[2 &* frames &+ i] + contours[3 &* frames &+ i]) / 4.0
            out[i] = (f > upper || f < lower || f > a.highestF0 || f < a.lowestF0) ? 0 : f
        }
    }

    /// Fractional positions of the positive → non-positive crossings of s; writes the rate over
    /// each interval and the interval's centre in seconds; returns the number of intervals.
    static func crossings(_ s: UnsafePointer<Double>, count n: Int, rate fs: Double,
                          locations: UnsafeMutablePointer<Double>, intervals: UnsafeMutablePointer<Double>) -> Int {
        guard n >= 2 else { return 0 }
        var edges = 0
        var previous = 0.0
        for i in 0..<(n - 1) where 0.0 < s[i] && s[i &+ 1] <= 0.0 {
            let e = i &+ 1
            let position = Double(e) - s[e &- 1] / (s[e] - s[e &- 1])
            if edges > 0 {
                intervals[edges &- 1] = fs / (position - previous)
                locations[edges &- 1] = (previous + position) / 2.0 / fs
            }
            previous = position
            edges &+= 1
        }
        return edges < 2 ? 0 : edges - 1
    }

    /// Piecewise-linear interpolation at the frame times, extrapolating the end segments
    /// (WORLD's interp1 with its histc bin search).
    func interpolate(locations x: UnsafePointer<Double>, values v: UnsafePointer<Double>, count: Int,
                     into out: UnsafeMutablePointer<Double>) {
        let frames = analysis.frames, k = segment, xi = times
        var bin = 1, i = 0
        while i < frames {
            k[i] = 1
            if xi[i] >= x[0] { break }
            i += 1
        }
        while i < frames {
            if xi[i] < x[bin] {
                k[i] = bin
            } else {
                k[i] = bin
                i -= 1
                bin += 1
            }
            if bin == count { break }
            i += 1
        }
        bin -= 1
        i += 1
        while i < frames { k[i] = bin; i += 1 }
        for j in 0..<frames {
            let s = (xi[j] - x[k[j] &- 1]) / (x[k[j]] - x[k[j] &- 1])
            out[j] = v[k[j] &- 1] + s * (v[k[j]] - v[k[j] &- 1])
        }
    }
}

// MARK: - Instantaneous-frequency refinement

private struct RefinementWorker {
    let analysis: HarvestAnalysis
    let maxSize: Int
    let mainWave: UnsafeMutablePointer<Double>
    let diffWave: UnsafeMutablePointer<Double>
    let mainSpectrum: UnsafeMutablePointer<fftw_complex>
    let diffSpectrum: UnsafeMutablePointer<fftw_complex>
    let window: UnsafeMutablePointer<Double>
    var plans: [OpaquePointer?] = Array(repeating: nil, count: 32)

    init(analysis: HarvestAnalysis) {
        self.analysis = analysis
        // Candidates lie at or above the floor, so its window is the longest.
        let longest = analysis.refinementGeometry(f0: analysis.lowestF0)
        maxSize = longest.fftSize
        mainWave = fftw_alloc_real(maxSize)!
        diffWave = fftw_alloc_real(maxSize)!
        mainSpectrum = fftw_alloc_complex(maxSize / 2 + 1)!
        diffSpectrum = fftw_alloc_complex(maxSize / 2 + 1)!
        window = .allocate(capacity: maxSize)
    }

    func release() {
        fftw_free(mainWave)
        fftw_free(diffWave)
        fftw_free(mainSpectrum)
        fftw_free(diffSpectrum)
        window.deallocate()
    }

    /// WORLD's GetRefinedF0: the amplitude-weighted instantaneous frequency of the first
    /// ≤ 6 harmonics and a score (inverse mean relative deviation of the harmonics from the
    /// candidate); (0, 0) for no candidate, a result outside the range, or a score under 2.5.
    mutating func refine(_ x: UnsafePointer<Double>, position: Double, f0: Double) -> (f0: Double, score: Double) {
        guard f0 > 0 else { return (0, 0) }
        let a = analysis, fs = a.decimatedRate, n = a.decimatedLength
        let geometry = a.refinementGeometry(f0: f0)
        let halfWindow = geometry.halfWindow, size = geometry.fftSize, half = size / 2
        guard size <= maxSize else { return (0, 0) }
        let length = halfWindow * 2 + 1
        let windowSeconds = (2.0 * Double(halfWindow) + 1.0) / fs
        let origin = matlabRound((position + Double(-halfWindow) / fs) * fs + 0.001)
        // Blackman window centred on the frame and its central-difference derivative.
        for i in 0..<length {
            let t = (Double(origin &+ i) - 1.0) / fs - position
            window[i] = 0.42 + 0.5 * Foundation.cos(2.0 * Double.pi * t / windowSeconds)
                + 0.08 * Foundation.cos(4.0 * Double.pi * t / windowSeconds)
        }
        for i in 0..<length {
            let sample = x[max(0, min(n &- 1, origin &+ i &- 1))]
            mainWave[i] = sample * window[i]
            let d: Double
            if i == 0 { d = -window[1] / 2.0 }
            else if i == length - 1 { d = window[length - 2] / 2.0 }
            else { d = -(window[i &+ 1] - window[i &- 1]) / 2.0 }
            diffWave[i] = sample * d
        }
        for i in length..<size { mainWave[i] = 0; diffWave[i] = 0 }
        let plan: OpaquePointer
        if let cached = plans[geometry.exponent] { plan = cached } else {
            plan = AnalysisPlans.shared.realForward(size: size)
            plans[geometry.exponent] = plan
        }
        fftw_execute_dft_r2c(plan, mainWave, mainSpectrum)
        fftw_execute_dft_r2c(plan, diffWave, diffSpectrum)
        let m = UnsafeMutableRawPointer(mainSpectrum).assumingMemoryBound(to: Double.self)
        let d = UnsafeMutableRawPointer(diffSpectrum).assumingMemoryBound(to: Double.self)

        let harmonics = min(Int(fs / 2.0 / f0), 6)
        var numerator = 0.0, denominator = 0.0, deviation = 0.0
        for h in 0..<harmonics {
            let index = min(half, matlabRound(f0 * Double(size) / fs * Double(h + 1)))
            let re = m[2 &* index], im = m[2 &* index &+ 1]
            let power = re * re + im * im
            let cross = re * d[2 &* index &+ 1] - im * d[2 &* index]
            let instantaneous = power == 0.0 ? 0.0
                : Double(index) * fs / Double(size) + cross / power * fs / 2.0 / Double.pi
            let amplitude = power.squareRoot()
            numerator += amplitude * instantaneous
            denominator += amplitude * (Double(h) + 1.0)
            deviation += Swift.abs((instantaneous / (Double(h) + 1.0) - f0) / f0)
        }
        let refined = numerator / (denominator + safeGuard)
        let score = 1.0 / (deviation / Double(harmonics) + safeGuard)
        if refined < a.lowestF0 || refined > a.highestF0 || score < 2.5 { return (0, 0) }
        return (refined, score)
    }
}

// MARK: - Contour

/// WORLD's contour stages after the candidates (RemoveUnreliableCandidates, FixF0Contour,
/// SmoothF0Contour), on frames × width candidate and score tables.
enum HarvestContour {
    /// The candidate of `candidates[0..<count]` nearest to `reference` in relative terms, if within
    /// `allowed` (ties: the later one); returns (0, allowed) when none is.
    @inline(__always)
    static func nearest(_ reference: Double, _ candidates: UnsafePointer<Double>, count: Int,
                        allowed: Double) -> (f0: Double, error: Double) {
        var best = 0.0, error = allowed
        for i in 0..<count {
            let e = Swift.abs(reference - candidates[i]) / reference
            if e > error { continue }
            best = candidates[i]
            error = e
        }
        return (best, error)
    }

    /// Drops candidates with no candidate within 5 % in the previous or next frame.
    static func removeUnreliable(_ candidates: inout [Double], _ scores: inout [Double], frames: Int, width: Int) {
        guard frames > 2 else { return }
        let original = candidates
        original.withUnsafeBufferPointer { o in
            let base = o.baseAddress!
            for i in 1..<(frames - 1) {
                for j in 0..<width {
                    let reference = candidates[i * width + j]
                    if reference == 0 { continue }
                    let next = nearest(reference, base + (i + 1) * width, count: width, allowed: 1.0).error
                    let previous = nearest(reference, base + (i - 1) * width, count: width, allowed: 1.0).error
                    if min(next, previous) <= 0.05 { continue }
                    candidates[i * width + j] = 0
                    scores[i * width + j] = 0
                }
            }
        }
    }

    /// Voiced runs as [start, end] pairs (inclusive), the first and last frame forced unvoiced.
    static func boundaries(_ f0: [Double]) -> [Int] {
        var list: [Int] = []
        var previous = false
        for i in 1..<f0.count {
            let voiced = i == f0.count - 1 ? false : f0[i] > 0
            if voiced != previous { list.append(i - list.count % 2) }
            previous = voiced
        }
        return list
    }

    static func fix(candidates: [Double], scores: [Double], frames: Int, width: Int) -> [Double] {
        // Best-scored candidate per frame.
        var base = [Double](repeating: 0, count: frames)
        for i in 0..<frames {
            var bestScore = 0.0
            for j in 0..<width where scores[i * width + j] > bestScore {
                base[i] = candidates[i * width + j]
                bestScore = scores[i * width + j]
            }
        }
        // Step 1: frames that jump away from both the linear prediction and the previous frame.
        let allowedJump = 0.008
        var step1 = [Double](repeating: 0, count: frames)
        if frames > 2 {
            for i in 2..<frames where base[i] != 0 {
                let predicted = base[i - 1] * 2 - base[i - 2]
                let jumps = Swift.abs((base[i] - predicted) / predicted) > allowedJump
                    && Swift.abs(base[i] - base[i - 1]) / base[i - 1] > allowedJump
                step1[i] = jumps ? 0 : base[i]
            }
        }
        // Step 2: voiced runs shorter than 6 frames removed.
        var step2 = step1
        let runs2 = boundaries(step1)
        for r in 0..<(runs2.count / 2) where runs2[2 * r + 1] - runs2[2 * r] < 6 {
            for j in runs2[2 * r]...runs2[2 * r + 1] { step2[j] = 0 }
        }
        // Step 3: runs extended through candidates, overlaps merged.
        let step3 = candidates.withUnsafeBufferPointer { c in
            scores.withUnsafeBufferPointer { s in
                extendAndMerge(step2, candidates: c.baseAddress!, scores: s.baseAddress!, frames: frames, width: width)
            }
        }
        // Step 4: unvoiced gaps shorter than 9 frames bridged linearly (offset by ±1 Hz at the ends).
        var step4 = step3
        let runs4 = boundaries(step3)
        let pairs = runs4.count / 2
        if pairs >= 2 {
            for r in 0..<(pairs - 1) {
                let end = runs4[2 * r + 1], nextStart = runs4[2 * (r + 1)]
                let distance = nextStart - end - 1
                if distance >= 9 { continue }
                let from = step3[end] + 1, to = step3[nextStart] - 1
                let slope = (to - from) / (Double(distance) + 1.0)
                var count = 1
                var j = end + 1
                while j <= nextStart - 1 {
                    step4[j] = from + slope * Double(count)
                    count += 1
                    j += 1
                }
            }
        }
        return step4
    }

    /// WORLD's FixStep3: each voiced run, as its own contour, extended forwards and backwards
    /// (≤ 100 frames) through the candidates nearest its last value (within 18 %, stopping after
    /// 4 misses); runs too short for their mean F0 (fewer than 2200 / mean frames) dropped; then
    /// overlapping runs merged in order of start, the better-scored one kept on the overlap.
    static func extendAndMerge(_ f0: [Double], candidates: UnsafePointer<Double>, scores: UnsafePointer<Double>,
                               frames: Int, width: Int) -> [Double] {
        var result = f0
        var bounds = boundaries(f0)
        let sections = bounds.count / 2
        guard sections > 0 else { return result }
        var contours = [[Double]](repeating: [Double](repeating: 0, count: frames), count: sections)
        for s in 0..<sections {
            for j in bounds[2 * s]...bounds[2 * s + 1] { contours[s][j] = f0[j] }
        }
        let allowed = 0.18, reach = 100, misses = 4
        func extend(_ contour: inout [Double], origin: Int, last: Int, shift: Int) -> Int {
            var current = contour[origin]
            var reached = origin, count = 0
            let distance = Swift.abs(last - origin)
            for i in 0...distance {
                let target = origin + shift * i + shift
                let pick = nearest(current, candidates + target * width, count: width, allowed: allowed).f0
                contour[target] = pick
                if pick == 0 { count += 1 } else {
                    current = pick
                    count = 0
                    reached = target
                }
                if count == misses { break }
            }
            return reached
        }
        for s in 0..<sections {
            bounds[2 * s + 1] = extend(&contours[s], origin: bounds[2 * s + 1],
                                       last: min(frames - 2, bounds[2 * s + 1] + reach), shift: 1)
            bounds[2 * s] = extend(&contours[s], origin: bounds[2 * s], last: max(1, bounds[2 * s] - reach), shift: -1)
        }
        // Keep runs long enough for their mean F0. WORLD accumulates the mean across runs
        // (it does not reset it per run); kept, as the scorer computes it.
        var kept: [Int] = []
        var mean = 0.0
        for s in 0..<sections {
            let start = bounds[2 * s], end = bounds[2 * s + 1]
            for j in start..<max(start, end) { mean += contours[s][j] }
            mean /= Double(end - start)
            if 2200.0 / mean < Double(end - start) { kept.append(s) }
        }
        guard !kept.isEmpty else { return result }
        var keptBounds: [Int] = []
        for s in kept { keptBounds.append(bounds[2 * s]); keptBounds.append(bounds[2 * s + 1]) }
        let keptContours = kept.map { contours[$0] }
        mergeContours(keptContours, bounds: &keptBounds, candidates: candidates, scores: scores, width: width,
                      into: &result)
        return result
    }

    /// WORLD's MergeF0 (including its ordering pass and its use of the first run as the base).
    static func mergeContours(_ contours: [[Double]], bounds b: inout [Int], candidates: UnsafePointer<Double>,
                              scores: UnsafePointer<Double>, width: Int, into merged: inout [Double]) {
        let count = contours.count
        var order = Array(0..<count)
        if count > 1 {
            for i in 1..<count {
                var j = i - 1
                while j >= 0 {
                    if b[order[j] * 2] > b[order[i] * 2] { order.swapAt(i, j) } else { break }
                    j -= 1
                }
            }
        }
        merged = contours[0]
        func score(_ f0: Double, frame: Int) -> Double {
            var best = 0.0
            for k in 0..<width where f0 == candidates[frame * width + k] && best < scores[frame * width + k] {
                best = scores[frame * width + k]
            }
            return best
        }
        guard count > 1 else { return }
        for i in 1..<count {
            let other = contours[order[i]]
            let start2 = b[order[i] * 2], end2 = b[order[i] * 2 + 1]
            if start2 - b[1] > 0 {
                for j in start2...max(start2, end2) where j <= end2 { merged[j] = other[j] }
                b[0] = start2
                b[1] = end2
                continue
            }
            let start1 = b[0], end1 = b[1]
            if start1 <= start2 && end1 >= end2 { b[1] = end1; continue }
            var score1 = 0.0, score2 = 0.0
            var j = start2
            while j <= end1 {
                score1 += score(merged[j], frame: j)
                score2 += score(other[j], frame: j)
                j += 1
            }
            j = score1 > score2 ? end1 : start2
            while j <= end2 { merged[j] = other[j]; j += 1 }
            b[1] = end2
        }
    }

    /// Zero-phase second-order Butterworth low-pass of each voiced run, the run's end values held
    /// outside it, on the contour padded with 300 unvoiced frames each side; unvoiced stays 0.
    static func smooth(_ f0: [Double]) -> [Double] {
        let b0 = 0.0078202080334971724, b1 = 0.015640416066994345
        let a0 = 1.7347257688092754, a1 = -0.76600660094326412
        let lag = 300, length = f0.count + 2 * lag
        var padded = [Double](repeating: 0, count: length)
        for i in 0..<f0.count { padded[lag + i] = f0[i] }
        let runs = boundaries(padded)
        var smoothed = [Double](repeating: 0, count: f0.count)
        var x = [Double](repeating: 0, count: length)
        var backwards = [Double](repeating: 0, count: length)
        var output = [Double](repeating: 0, count: length)
        for r in 0..<(runs.count / 2) {
            let start = runs[2 * r], end = runs[2 * r + 1]
            for i in 0..<length { x[i] = i < start ? padded[start] : (i > end ? padded[end] : padded[i]) }
            var w0 = 0.0, w1 = 0.0
            for i in 0..<length {
                let wt = x[i] + a0 * w0 + a1 * w1
                backwards[length - i - 1] = b0 * wt + b1 * w0 + b0 * w1
                w1 = w0
                w0 = wt
            }
            w0 = 0
            w1 = 0
            for i in 0..<length {
                let wt = backwards[i] + a0 * w0 + a1 * w1
                output[length - i - 1] = b0 * wt + b1 * w0 + b0 * w1
                w1 = w0
                w0 = wt
            }
            for j in start...end { smoothed[j - lag] = output[j] }
        }
        return smoothed
    }
}
