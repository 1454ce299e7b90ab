import Foundation
import Cores
import CFFTW
import Audio

/// FFTW real-to-complex plans, one per FFT size, created once and shared. FFTW's planner is not
/// thread-safe, so creation happens under a lock; execution with `fftw_execute_dft_r2c` on other
/// arrays (same alignment: `fftw_alloc_*`) is thread-safe and runs from the worker threads.
///
/// The transform runs in double precision: the reference's own float32 STFT is off from the exact
/// result by up to ~1e-3 in log-mel near the 1e-5 floor, and a float32 FFT here would add an error
/// of the same size (measured 1.5e-3 at 44.1 kHz / n_fft 2048 / 128 mels) against a 2e-3
/// tolerance. In double our side contributes nothing; the cost is ~2x on the FFT alone.
final class FFTPlans: @unchecked Sendable {
    static let shared = FFTPlans()
    private let lock = NSLock()
    private var plans: [Int: OpaquePointer] = [:]

    func realForward(size: Int) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let plan = plans[size] { return plan }
        let input = fftw_alloc_real(size)!, output = fftw_alloc_complex(size / 2 + 1)!
        defer { fftw_free(input); fftw_free(output) }
        // FFTW_ESTIMATE: deterministic plans (MEASURE may pick different algorithms run to run,
        // which changes the last bits of the features).
        let plan = fftw_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE))!
        plans[size] = plan
        return plan
    }
}

/// Shared STFT machinery of the linear and mel spectrograms: the reference VITS definition
/// (`spectrogram_torch`): reflect-pad (nFFT − hop)/2 on both sides, frames of nFFT every hop samples
/// (center = false), periodic Hann window of winLength centred in nFFT (zero elsewhere, as
/// torch.stft pads it), |X| = sqrt(re² + im² + 1e-6).
final class STFT: @unchecked Sendable {
    let config: SpectrogramConfig
    let window: [Double]
    let windowOffset: Int
    let plan: OpaquePointer
    /// Frames processed per block: the block's magnitudes [bins, block] stay in cache.
    static let block = 32

    init(config: SpectrogramConfig) throws(FeatureError) {
        try config.validate()
        self.config = config
        window = (0..<config.winLength).map { 0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(config.winLength)) }
        windowOffset = (config.nFFT - config.winLength) / 2
        plan = FFTPlans.shared.realForward(size: config.nFFT)
    }

    /// Checks the input is long enough for reflect padding and one frame.
    func checkLength(_ n: Int) throws(FeatureError) {
        let p = config.padding
        guard config.frameCount(samples: n) > 0 else {
            throw .audioTooShort(samples: n, minimum: max(p + 1, config.nFFT - 2 * p))
        }
    }

    /// Runs the STFT over the `frames` frames of the reflect-padded `samples` on all cores.
    /// For each block of up to `STFT.block` frames, `consume` gets the frame range and the
    /// magnitudes bins-major [bins, STFT.block] (row b holds bin b of the block's frames), so both
    /// consumers work on contiguous rows.
    /// The padded signal is never materialised: frames inside the signal read it directly, the few
    /// frames that reach into the padding mirror their indices (x[−i] = x[i], x[N−1+i] = x[N−1−i]). For each block of frames, `consume` gets
    /// the frame range and the magnitudes, frame-major [range.count, bins] (contiguous per frame).
    func magnitudes(samples: [Float], frames: Int,
                    consume: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let nFFT = config.nFFT, bins = config.bins, hop = config.hopLength, pad = config.padding
        let winLength = config.winLength, offset = windowOffset, block = Self.block, n = samples.count
        nonisolated(unsafe) let plan = self.plan
        samples.withUnsafeBufferPointer { signal in
            window.withUnsafeBufferPointer { window in
                nonisolated(unsafe) let x = signal.baseAddress!, w = window.baseAddress!
                Parallel.forRanges(frames, minChunk: 16, chunksPerWorker: 4) { range in
                    let input = fftw_alloc_real(nFFT)!, spectrum = fftw_alloc_complex(bins)!
                    let magnitudes = UnsafeMutablePointer<Float>.allocate(capacity: bins &* block)
                    let transposed = UnsafeMutablePointer<Float>.allocate(capacity: bins &* block)
                    defer { fftw_free(input); fftw_free(spectrum); magnitudes.deallocate(); transposed.deallocate() }
                    input.initialize(repeating: 0, count: nFFT)  // outside the window stays zero
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let count = min(block, range.upperBound &- start)
                        for j in 0..<count {
                            // first windowed sample, in signal coordinates (padded index − pad)
                            let first = (start &+ j) &* hop &+ offset &- pad
                            if first >= 0 && first &+ winLength <= n {
                                let frame = x + first
                                for k in 0..<winLength { input[offset &+ k] = Double(frame[k]) * w[k] }
                            } else {
                                for k in 0..<winLength {
                                    var i = first &+ k
                                    if i < 0 { i = -i } else if i >= n { i = 2 &* (n &- 1) &- i }
                                    input[offset &+ k] = Double(x[i]) * w[k]
                                }
                            }
                            fftw_execute_dft_r2c(plan, input, spectrum)
                            let complex = UnsafeRawPointer(spectrum)
                            let re = complex.assumingMemoryBound(to: Double.self)
                            let magnitude = magnitudes + j &* bins
                            // four bins at a time: (re, im) pairs deinterleaved into SIMD lanes
                            var b = 0
                            while b &+ 4 <= bins {
                                let v = complex.loadUnaligned(fromByteOffset: b &* 16, as: SIMD8<Double>.self)
                                let r = v.evenHalf, i = v.oddHalf
                                // power in double, square root in float (4 lanes per instruction)
                                let m = SIMD4<Float>(r * r + i * i + 1e-6).squareRoot()
                                UnsafeMutableRawPointer(magnitude + b).storeBytes(of: m, as: SIMD4<Float>.self)
                                b &+= 4
                            }
                            while b < bins {
                                let r = re[2 &* b], i = re[2 &* b &+ 1]
                                magnitude[b] = Float(r * r + i * i + 1e-6).squareRoot()
                                b &+= 1
                            }
                        }
                        for b in 0..<bins {
                            let row = transposed + b &* block
                            for j in 0..<count { row[j] = magnitudes[j &* bins &+ b] }
                        }
                        consume(start..<(start &+ count), transposed)
                        start &+= count
                    }
                }
            }
        }
    }
}

/// Linear magnitude spectrogram [nFFT/2 + 1, frames], exactly the reference VITS `spectrogram_torch`.
/// Reusable and thread-safe; create one per configuration.
public final class LinearSpectrogram: @unchecked Sendable {
    public let config: SpectrogramConfig
    let stft: STFT

    public init(config: SpectrogramConfig) throws(FeatureError) {
        self.config = config
        stft = try STFT(config: config)
    }

    public func compute(_ samples: [Float]) throws(FeatureError) -> Spectrogram {
        try stft.checkLength(samples.count)
        let frames = config.frameCount(samples: samples.count), bins = config.bins
        let values = [Float](unsafeUninitializedCapacity: bins * frames) { out, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(out))
            initialized = bins * frames  // every element is written below
            nonisolated(unsafe) let y = out.baseAddress!
            let block = STFT.block
            stft.magnitudes(samples: samples, frames: frames) { range, magnitudes in
                for b in 0..<bins {
                    let row = y + (b &* frames &+ range.lowerBound), src = magnitudes + b &* block
                    for j in 0..<range.count { row[j] = src[j] }
                }
            }
        }
        return Spectrogram(rows: bins, frames: frames, values: values)
    }
}

/// Log-mel spectrogram [nMels, frames], exactly the reference VITS `mel_spectrogram_torch`:
/// ln(max(melBasis · |STFT|, 1e-5)) with the Slaney filterbank of `MelFilterbank.slaney`.
public final class MelSpectrogram: @unchecked Sendable {
    public let config: SpectrogramConfig
    /// The mel filterbank [nMels, nFFT/2 + 1], row-major.
    public let filterbank: [Float]
    let stft: STFT
    /// Non-zero bin range of each filter: the product only visits these (≈2·bins multiply-adds per
    /// frame instead of nMels·bins).
    let support: [Range<Int>]
    /// The filters' non-zero weights, concatenated in filter order (filter m starts at `compactStart[m]`).
    let compactWeights: [Float]
    let compactStart: [Int]

    public init(config: SpectrogramConfig) throws(FeatureError) {
        self.config = config
        stft = try STFT(config: config)
        let bins = config.bins
        let filterbank = MelFilterbank.slaney(sampleRate: config.sampleRate, nFFT: config.nFFT, nMels: config.nMels,
                                              fmin: config.fmin, fmax: config.effectiveFmax)
        self.filterbank = filterbank
        support = (0..<config.nMels).map { m in
            let row = filterbank[(m * bins)..<((m + 1) * bins)]
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else {
                return 0..<0
            }
            return (first - m * bins)..<(last - m * bins + 1)
        }
        var compact: [Float] = [], starts: [Int] = []
        for (m, range) in support.enumerated() {
            starts.append(compact.count)
            compact += filterbank[(m * bins + range.lowerBound)..<(m * bins + range.upperBound)]
        }
        compactWeights = compact
        compactStart = starts
    }

    public func compute(_ samples: [Float]) throws(FeatureError) -> Spectrogram {
        try stft.checkLength(samples.count)
        let frames = config.frameCount(samples: samples.count), nMels = config.nMels
        let values = [Float](unsafeUninitializedCapacity: nMels * frames) { out, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(out))
            initialized = nMels * frames  // every element is written below
            compactWeights.withUnsafeBufferPointer { cw in
                support.withUnsafeBufferPointer { support in
                    compactStart.withUnsafeBufferPointer { cs in
                        nonisolated(unsafe) let y = out.baseAddress!, weights = cw.baseAddress!
                        nonisolated(unsafe) let ranges = support.baseAddress!, starts = cs.baseAddress!
                        let block = STFT.block
                        stft.magnitudes(samples: samples, frames: frames) { range, magnitudes in
                            let count = range.count
                            for m in 0..<nMels {
                                // row m of this block: Σ over the filter's bins of weight · magnitude row
                                let row = y + (m &* frames &+ range.lowerBound)
                                for j in 0..<count { row[j] = 0 }
                                let filter = weights + starts[m], first = ranges[m].lowerBound
                                for k in 0..<ranges[m].count {
                                    let weight = filter[k], src = magnitudes + (first &+ k) &* block
                                    for j in 0..<count { row[j] += weight * src[j] }
                                }
                                Self.logClamped(row, count)
                            }
                        }
                    }
                }
            }
        }
        return Spectrogram(rows: nMels, frames: frames, values: values)
    }

    /// x ← ln(max(x, 1e-5)) in place.
    @inline(__always)
    static func logClamped(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i &+ 8 <= count {
            let raw = UnsafeMutableRawPointer(x + i)
            let v = raw.loadUnaligned(as: SIMD8<Float>.self)
            raw.storeBytes(of: vectorLog(v.replacing(with: 1e-5, where: v .< 1e-5)), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count { x[i] = Foundation.log(max(x[i], 1e-5)); i &+= 1 }
    }
}
