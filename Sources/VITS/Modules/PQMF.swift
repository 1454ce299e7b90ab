import Foundation
import Engine

/// Pseudo-QMF filter bank (near-perfect reconstruction, cosine-modulated Kaiser prototype), as the
/// MB-iSTFT-VITS authors use it (their `pqmf.py`, after ParallelWaveGAN by T. Hayashi): `subbands`
/// bands, prototype of `taps + 1` coefficients with cut-off `cutoffRatio`·π and Kaiser β `beta`
/// (authors: 4, 62, 0.15, 9.0). The filters are fixed (no parameters, no state_dict keys: the
/// authors build it inside `forward`). Gradients flow through both directions to the signal.
public struct PQMF: Sendable {
    public let subbands: Int
    public let taps: Int
    /// [subbands, 1, taps + 1] (conv1d weight).
    public let analysisFilter: Tensor
    /// [1, subbands, taps + 1] (conv1d weight).
    public let synthesisFilter: Tensor
    /// [subbands, subbands, subbands]: identity at tap 0 — the down-sampling conv's weight.
    let downFilter: Tensor
    /// The same times `subbands` — the up-sampling transposed conv's weight (power compensation).
    let upFilter: Tensor

    public init(subbands: Int = 4, taps: Int = 62, cutoffRatio: Double = 0.15, beta: Double = 9.0) {
        precondition(taps % 2 == 0 && taps > 0, "PQMF: taps must be a positive even number, got \(taps)")
        precondition(cutoffRatio > 0 && cutoffRatio < 1, "PQMF: cutoff ratio must be in (0, 1), got \(cutoffRatio)")
        precondition(subbands >= 1, "PQMF: need at least one band")
        self.subbands = subbands
        self.taps = taps
        let proto = PQMF.prototype(taps: taps, cutoffRatio: cutoffRatio, beta: beta)
        let length = taps + 1
        var analysis = [Float](repeating: 0, count: subbands * length)
        var synthesis = [Float](repeating: 0, count: subbands * length)
        for k in 0..<subbands {
            let sign: Double = k % 2 == 0 ? 1 : -1
            for n in 0..<length {
                let arg = Double(2 * k + 1) * (Double.pi / Double(2 * subbands)) * (Double(n) - Double(taps - 1) / 2)
                analysis[k * length + n] = Float(2 * proto[n] * cos(arg + sign * Double.pi / 4))
                synthesis[k * length + n] = Float(2 * proto[n] * cos(arg - sign * Double.pi / 4))
            }
        }
        analysisFilter = Tensor(shape: [subbands, 1, length], data: analysis)
        synthesisFilter = Tensor(shape: [1, subbands, length], data: synthesis)
        var down = [Float](repeating: 0, count: subbands * subbands * subbands)
        for k in 0..<subbands { down[(k * subbands + k) * subbands] = 1 }
        downFilter = Tensor(shape: [subbands, subbands, subbands], data: down)
        upFilter = Tensor(shape: [subbands, subbands, subbands], data: down.map { $0 * Float(subbands) })
    }

    /// The Kaiser-windowed ideal low-pass prototype (`design_prototype_filter`), float64.
    static func prototype(taps: Int, cutoffRatio: Double, beta: Double) -> [Double] {
        let omega = Double.pi * cutoffRatio
        let half = Double(taps) / 2
        let alpha = Double(taps) / 2    // numpy.kaiser(M = taps + 1): (M − 1)/2
        return (0...taps).map { n in
            let m = Double(n) - half
            let ideal = n == taps / 2 ? cutoffRatio : sin(omega * m) / (Double.pi * m)
            let r = (Double(n) - alpha) / alpha
            let window = besselI0(beta * (max(0, 1 - r * r)).squareRoot()) / besselI0(beta)
            return ideal * window
        }
    }

    /// Modified Bessel function of the first kind, order 0 (power series; converges fast for |x| ≲ 30).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        let q = x * x / 4
        while term > 1e-17 * sum {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }

    /// Splits a signal into bands: [B, 1, T] → [B, subbands, ⌊T / subbands⌋].
    public func analysis(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == 1, "PQMF.analysis: input must be [B, 1, T], got \(x.shape)")
        let filtered = conv1d(x, weight: analysisFilter, padding: taps / 2)
        return conv1d(filtered, weight: downFilter, stride: subbands)
    }

    /// Merges bands back: [B, subbands, T'] → [B, 1, T'·subbands].
    public func synthesis(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == subbands, "PQMF.synthesis: input must be [B, \(subbands), T], got \(x.shape)")
        return conv1d(upsample(x), weight: synthesisFilter, padding: taps / 2)
    }

    /// Zero-insertion up-sampling by `subbands` with gain `subbands` (the authors' transposed conv with
    /// the scaled identity filter): [B, S, T] → [B, S, T·S].
    public func upsample(_ x: Tensor) -> Tensor {
        convTranspose1d(x, weight: upFilter, stride: subbands)
    }
}
