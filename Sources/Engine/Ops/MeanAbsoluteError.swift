import Foundation
import Cores

extension Tensor {
    /// mean|x − target| as one op; the gradient goes to x only (sign(x − t)/n, 0 where equal, as
    /// torch's abs). Summed in Double so a long map loses nothing to rounding.
    public static func meanAbsoluteError(_ x: Tensor, target: Tensor) -> Tensor {
        precondition(x.shape == target.shape, "meanAbsoluteError: shapes \(x.shape) and \(target.shape) differ")
        let n = x.count
        let px = x.pointer, pt = target.pointer
        let chunks = Swift.max(1, Swift.min(Parallel.workers, n / (1 << 16)))
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { sums in
            nonisolated(unsafe) let s = sums.baseAddress!
            Parallel.forRanges(chunks) { r in
                for c in r {
                    let lo = n * c / chunks, hi = n * (c + 1) / chunks
                    var acc = 0.0, i = lo
                    // Float blocks of 1024 (vectorised), added into a Double total.
                    while i < hi {
                        let end = Swift.min(hi, i &+ 1024)
                        var block: Float = 0
                        for j in i..<end { block += Swift.abs(px[j] - pt[j]) }
                        acc += Double(block)
                        i = end
                    }
                    s[c] = acc
                }
            }
        }
        let out = Tensor(scalar: Float(partial.reduce(0, +) / Double(Swift.max(n, 1))))
        return Tensor.record("mean_abs_error", output: out, inputs: [x]) { g in
            let scale = g.item / Float(Swift.max(n, 1))
            let gx = Tensor(uninitialized: x.shape)
            let pg = gx.pointer, px = x.pointer, pt = target.pointer   // the closure keeps both alive
            Parallel.forRanges(n, minChunk: 1 << 15) { r in
                for i in r {
                    let d = px[i] - pt[i]
                    pg[i] = d > 0 ? scale : (d < 0 ? -scale : 0)
                }
            }
            return [gx]
        }
    }
}
