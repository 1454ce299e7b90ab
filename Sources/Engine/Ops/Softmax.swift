import Foundation
import Cores

extension Tensor {
    /// softmax along `axis` (max-subtracted, so large logits are safe).
    public func softmax(axis: Int = -1) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let out = Tensor.softmaxKernel(self, a, log: false)
        return Tensor.record("softmax", output: out, inputs: [self]) { g in
            // dx = y ⊙ (g − Σ g⊙y)
            let gy = Tensor.broadcastBinary(MulKernel.self, g, out)
            let s = Tensor.sumAxisKeep(gy, a)
            return [Tensor.broadcastBinary(MulKernel.self, out, Tensor.broadcastBinary(SubKernel.self, g, s))]
        }
    }

    /// log(softmax(x)) along `axis`, computed as x − logsumexp(x).
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let out = Tensor.softmaxKernel(self, a, log: true)
        return Tensor.record("log_softmax", output: out, inputs: [self]) { g in
            // dx = g − softmax ⊙ Σ g
            let s = Tensor.sumAxisKeep(g, a)
            let p = out.mapElements(ElementMath.exp)
            return [Tensor.broadcastBinary(SubKernel.self, g, Tensor.broadcastBinary(MulKernel.self, p, s))]
        }
    }

    static func softmaxKernel(_ x: Tensor, _ a: Int, log: Bool) -> Tensor {
        let (outer, n, inner) = Shape.split(x.shape, at: a)
        let out = Tensor(uninitialized: x.shape)
        let px = x.pointer, po = out.pointer
        Parallel.forRanges(outer, minChunk: Swift.max(1, elementwiseChunk / Swift.max(n &* inner, 1))) { r in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1))
            let e = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1))
            defer { col.deallocate(); e.deallocate() }
            for o in r {
                for i in 0..<inner {
                    let base = o &* n &* inner &+ i
                    var m = -Float.infinity
                    for k in 0..<n { col[k] = px[base &+ k &* inner]; m = Swift.max(m, col[k]) }
                    if m == -.infinity { m = 0 }   // fully masked row: keep exp finite
                    for k in 0..<n { col[k] -= m }
                    if log {
                        ElementMath.exp(col, e, n)
                        var s: Float = 0
                        for k in 0..<n { s += e[k] }
                        let ls = Foundation.log(s)
                        for k in 0..<n { po[base &+ k &* inner] = col[k] - ls }
                    } else {
                        ElementMath.exp(col, col, n)
                        var s: Float = 0
                        for k in 0..<n { s += col[k] }
                        let inv = 1 / s
                        for k in 0..<n { po[base &+ k &* inner] = col[k] * inv }
                    }
                }
            }
        }
        return out
    }
}
