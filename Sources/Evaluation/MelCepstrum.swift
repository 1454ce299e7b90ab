import Foundation
import Cores
import CFFTW

/// Mel-cepstrum of a power spectrum the way SPTK/pysptk's `sp2mc` computes it: the real cepstrum of
/// the log power spectrum (inverse real DFT, c0 halved), then frequency-warped to order M with the
/// all-pass constant α by `freqt` (Oppenheim & Johnson, "Discrete representation of signals",
/// Proc. IEEE 60, 1972; the recursion of SPTK's freqt.c).
public enum MelCepstrum {
    /// SPTK's `mcepalpha`: the α in [0, 1) (step 0.001) whose all-pass warping of 0…π best fits the
    /// mel scale 0…fs/2 (mean squared distance of the two curves, each normalized to end at 1,
    /// sampled at 1000 points). 0.455 at 22.05 kHz, 0.41 at 16 kHz.
    public static func alpha(sampleRate: Int) -> Double {
        let points = 1000
        let step = Double(sampleRate) / 2 / Double(points)
        var mel = [Double](repeating: 0, count: points)
        for i in 0..<points { mel[i] = 1000 / Foundation.log(2) * Foundation.log(1 + step * Double(i) / 1000) }
        let melEnd = mel[points - 1]
        for i in 0..<points { mel[i] /= melEnd }
        var best = 0.0, bestDistance = Double.infinity
        var warped = [Double](repeating: 0, count: points)
        for candidate in 0..<1000 {
            let a = Double(candidate) * 0.001
            for i in 0..<points {
                let omega = Double.pi / Double(points) * Double(i)
                let num = (1 - a * a) * Foundation.sin(omega)
                let den = (1 + a * a) * Foundation.cos(omega) - 2 * a
                var w = Foundation.atan(num / den)
                if w < 0 { w += Double.pi }
                warped[i] = w
            }
            let end = warped[points - 1]
            var distance = 0.0
            for i in 0..<points {
                let d = mel[i] - warped[i] / end
                distance += d * d
            }
            distance /= Double(points)
            if distance < bestDistance { bestDistance = distance; best = a }
        }
        return best
    }

    /// Frequency warping of the cepstrum `input[0…m1]` to `output[0…order]` (SPTK freqt): the input is
    /// fed from its highest quefrency down through a chain of first-order all-pass sections.
    /// `previous` is scratch of order + 1 values.
    public static func freqt(_ input: UnsafePointer<Double>, count m1: Int, order: Int, alpha a: Double,
                      output c: UnsafeMutablePointer<Double>, previous d: UnsafeMutablePointer<Double>) {
        let b = 1 - a * a
        for j in 0...order { c[j] = 0 }
        var i = m1 &- 1
        while i >= 0 {
            for j in 0...order { d[j] = c[j] }
            c[0] = input[i] + a * d[0]
            if order >= 1 { c[1] = b * d[0] + a * d[1] }
            if order >= 2 {
                for j in 2...order { c[j] = d[j &- 1] + a * (d[j] - c[j &- 1]) }
            }
            i &-= 1
        }
    }

    /// `sp2mc` of one frame given as the natural log of its power spectrum (bins 0…N/2): writes
    /// order + 1 coefficients. `workspace` must be of size N; `previous` holds order + 1 values.
    static func fromLogPower(_ logPower: UnsafePointer<Double>, order: Int, alpha: Double,
                             workspace: borrowing FFTWorkspace, previous: UnsafeMutablePointer<Double>,
                             output: UnsafeMutablePointer<Double>) {
        let size = workspace.size, half = size / 2
        let bins = workspace.bins
        for k in 0...half { bins[2 &* k] = logPower[k]; bins[2 &* k &+ 1] = 0 }
        fftw_execute_dft_c2r(workspace.inverse, workspace.complex, workspace.real)
        let cepstrum = workspace.real
        let scale = 1 / Double(size)
        for i in 0..<size { cepstrum[i] *= scale }
        cepstrum[0] /= 2
        // pysptk passes the whole length-N inverse DFT (negative quefrencies included) to freqt.
        freqt(cepstrum, count: size, order: order, alpha: alpha, output: output, previous: previous)
    }

    /// `sp2mc` of power spectra (frames × (N/2 + 1), row-major): frames × (order + 1) coefficients.
    public static func fromPowerSpectra(_ power: [Double], fftSize: Int, order: Int, alpha: Double) -> [Double] {
        let bins = fftSize / 2 + 1
        let frames = power.count / bins
        var out = [Double](repeating: 0, count: frames * (order + 1))
        power.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let src = p.baseAddress!, dst = o.baseAddress!
                Parallel.forRanges(frames, minChunk: 8, chunksPerWorker: 4) { range in
                    let workspace = FFTWorkspace(size: fftSize)
                    let logPower = UnsafeMutablePointer<Double>.allocate(capacity: bins)
                    let previous = UnsafeMutablePointer<Double>.allocate(capacity: order + 1)
                    defer { logPower.deallocate(); previous.deallocate() }
                    for f in range {
                        for k in 0..<bins { logPower[k] = Foundation.log(src[f &* bins &+ k]) }
                        fromLogPower(logPower, order: order, alpha: alpha, workspace: workspace, previous: previous,
                                     output: dst + f &* (order &+ 1))
                    }
                }
            }
        }
        return out
    }
}
