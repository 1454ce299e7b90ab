import Cores
import Foundation
import CFFTW

/// CheapTrick spectral envelope (Morise, "CheapTrick, a spectral envelope estimator for
/// high-quality speech synthesis", Speech Communication 67, 2015), the estimator of WORLD that the
/// acceptance scorer runs through pyworld. Per frame:
///  1. an F0-adaptive Hann window of 3 periods (half length round(1.5·fs/F0)), normalized to unit
///     energy, with the windowed DC removed;
///  2. the power spectrum, with the aliased negative-frequency part below F0 folded back (DC correction);
///  3. a moving average of width 2/3·F0 over linear frequency;
///  4. liftering in the cepstrum: a sinc smoother (removes the F0 ripple) times the q1 = −0.15
///     compensation lifter (restores the peaks), back to a log spectrum.
/// Unvoiced frames (F0 at or below the floor) are analysed with F0 = 500 Hz, as WORLD does.
public struct CheapTrick: Sendable {
    public let sampleRate: Int
    public let fftSize: Int
    public let q1: Double
    /// F0 at or below this is treated as unvoiced: 3·fs / (fftSize − 3), the lowest F0 whose window fits.
    public let f0Floor: Double
    /// WORLD's kDefaultF0.
    public static let unvoicedF0 = 500.0

    /// `fftSize`: WORLD's choice for an F0 floor of 71 Hz, 2^(1 + ⌊log2(3·fs/71)⌋) (1024 at 22.05 kHz).
    public init(sampleRate: Int, q1: Double = -0.15, lowestF0: Double = 71) {
        self.sampleRate = sampleRate
        fftSize = 1 << (1 + Int(Foundation.log2(3 * Double(sampleRate) / lowestF0)))
        self.q1 = q1
        f0Floor = 3 * Double(sampleRate) / Double(fftSize - 3)
    }

    /// Natural log of the power envelope of the frame centred at `position` seconds, bins 0…fftSize/2,
    /// written to `logEnvelope`. `noise` feeds the infinitesimal floor WORLD adds before the log.
    func logEnvelope(signal x: UnsafePointer<Double>, count n: Int, f0 rawF0: Double, position: Double,
                     workspace: borrowing FFTWorkspace, scratch: UnsafeMutablePointer<Double>,
                     noise: inout NoiseSource, logEnvelope out: UnsafeMutablePointer<Double>) {
        let fs = Double(sampleRate), size = fftSize, half = size / 2
        let f0 = rawF0 <= f0Floor ? Self.unvoicedF0 : rawF0
        let buffer = workspace.real

        // 1. F0-adaptive window, unit energy, DC removed.
        let halfWindow = matlabRound(1.5 * fs / f0)
        let length = 2 &* halfWindow &+ 1
        let origin = matlabRound(position * fs + 0.001)
        let window = scratch                           // length ≤ fftSize
        var energy = 0.0
        for i in 0..<length {
            let t = Double(i &- halfWindow) / 1.5 / fs
            let w = 0.5 * Foundation.cos(Double.pi * t * f0) + 0.5
            window[i] = w
            energy += w * w
        }
        let norm = 1 / energy.squareRoot()
        var sumWave = 0.0, sumWindow = 0.0
        for i in 0..<length {
            window[i] *= norm
            let index = min(n &- 1, max(0, origin &+ i &- halfWindow))
            let v = x[index] * window[i]
            buffer[i] = v
            sumWave += v
            sumWindow += window[i]
        }
        let dc = sumWave / sumWindow
        for i in 0..<length { buffer[i] -= window[i] * dc }
        for i in length..<size { buffer[i] = 0 }

        // 2. Power spectrum with DC correction.
        fftw_execute_dft_r2c(workspace.forward, buffer, workspace.complex)
        let bins = workspace.bins
        let power = scratch                            // reuses the window's space: done with it
        for k in 0...half {
            let re = bins[2 &* k], im = bins[2 &* k &+ 1]
            power[k] = re * re + im * im
        }
        // Below F0 the spectrum mirrored about F0 (the negative-frequency replica) is added back:
        // replica(k) = P at bin (F0·N/fs − k), linearly interpolated.
        let limit = 1 &+ Int(f0 * Double(size) / fs)   // WORLD's upper_limit − 1
        let f0Bin = f0 * Double(size) / fs
        let replica = scratch + (half &+ 1)
        for k in 0..<limit {
            let p = f0Bin - Double(k)
            let base = Int(p)                          // truncation toward zero, as WORLD's cast
            let frac = p - Double(base)
            let next = base &+ 1 < limit &+ 1 ? power[base &+ 1] - power[base] : 0
            replica[k] = power[base] + next * frac
        }
        for k in 0..<limit { power[k] += replica[k] }

        // 3. Moving average of width 2/3·F0 on linear frequency (a difference of the interpolated
        // cumulative sum of the spectrum mirrored at both ends).
        let width = f0 * 2 / 3
        let boundary = Int(width * Double(size) / fs) &+ 1
        let mirroredCount = half &+ 2 &* boundary &+ 1
        let cumulative = scratch + 2 &* (half &+ 1)
        let binWidth = fs / Double(size)
        var running = 0.0
        for i in 0..<mirroredCount {
            let v: Double
            if i < boundary { v = power[boundary &- i] }
            else if i < half &+ boundary { v = power[i &- boundary] }
            else { v = power[half &- (i &- (half &+ boundary))] }
            running += v * binWidth
            cumulative[i] = running
        }
        let axisOrigin = -(Double(boundary) - 0.5) * binWidth
        @inline(__always) func interpolatedCumulative(_ frequency: Double) -> Double {
            let p = (frequency - axisOrigin) / binWidth
            let base = Int(p)
            let frac = p - Double(base)
            let delta = base &+ 1 < mirroredCount ? cumulative[base &+ 1] - cumulative[base] : 0
            return cumulative[base] + delta * frac
        }
        // 3b. Smoothed power + WORLD's infinitesimal noise floor (|N(0,1)|·ε) → log, mirrored to a
        // full symmetric log spectrum for the cepstrum.
        for k in 0...half {
            let low = Double(k) * binWidth - width / 2
            let smoothed = (interpolatedCumulative(low + width) - interpolatedCumulative(low)) / width
            buffer[k] = Foundation.log(smoothed + abs(noise.nextGaussian()) * Double.ulpOfOne)
        }
        for k in 1..<half { buffer[size &- k] = buffer[k] }

        // 4. Cepstral liftering: sinc smoothing × q1 compensation, back to the log spectrum.
        fftw_execute_dft_r2c(workspace.forward, buffer, workspace.complex)
        let inverseScale = 1 / Double(size)
        bins[0] *= inverseScale
        bins[1] = 0
        for k in 1...half {
            let quefrency = Double(k) / fs
            let arg = Double.pi * f0 * quefrency
            let smoothing = Foundation.sin(arg) / arg
            let compensation = (1 - 2 * q1) + 2 * q1 * Foundation.cos(2 * arg)
            bins[2 &* k] *= smoothing * compensation * inverseScale
            bins[2 &* k &+ 1] = 0
        }
        fftw_execute_dft_c2r(workspace.inverse, workspace.complex, buffer)
        for k in 0...half { out[k] = buffer[k] }
    }
}

/// Deterministic N(0, 1) draws (SplitMix64 + Box–Muller) for WORLD's infinitesimal noise floor:
/// it only matters in digital silence, where it sets the envelope's level and roughness.
struct NoiseSource {
    private var bits: SplitMix64
    private var spare: Double?

    init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    mutating func nextGaussian() -> Double {
        if let s = spare { spare = nil; return s }
        let u = bits.nextOpenUnit(), v = bits.nextOpenUnit()
        let r = (-2 * Foundation.log(u)).squareRoot()
        spare = r * Foundation.sin(2 * Double.pi * v)
        return r * Foundation.cos(2 * Double.pi * v)
    }
}
