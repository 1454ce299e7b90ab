import Foundation
import Cores

extension Tensor {
    /// Inverted dropout: zeroes each element with probability `p` (mask drawn from `generator`) and
    /// scales the rest by 1/(1−p). Identity when `p` is 0 or `training` is false.
    public func dropout(_ p: Float, training: Bool = true, generator: RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        if !training || p == 0 { return self }
        let mask = generator.rand(shape)
        let scale = 1 / (1 - p)
        let pm = mask.pointer
        for i in 0..<mask.count { pm[i] = pm[i] < 1 - p ? scale : 0 }   // keep with probability 1−p
        let out = Tensor.broadcastBinary(MulKernel.self, self, mask)
        return Tensor.record("dropout", output: out, inputs: [self]) { g in [Tensor.broadcastBinary(MulKernel.self, g, mask)] }
    }

    /// Weight-norm reparametrization w = g · v / ‖v‖ with the norm over every axis but 0
    /// (PyTorch `weight_norm(dim=0)`): conv weight v [out, in, k] with g [out, 1, 1], and transposed
    /// conv weight v [in, out, k] with g [in, 1, 1]. Fused forward and backward.
    public static func weightNorm(v: Tensor, g: Tensor) -> Tensor {
        let rows = v.shape[0], n = v.count / Swift.max(rows, 1)
        precondition(g.count == rows && g.shape.first == rows, "weight norm g \(g.shape) does not match v \(v.shape) on axis 0")
        // Rows are independent, so they split over the cores (the discriminator's weights are 47M
        // values at the reference size); each row's sum runs in order, so results do not depend
        // on the split.
        let minRows = Swift.max(1, (1 << 15) / Swift.max(n, 1))
        let norms = Tensor(uninitialized: [rows])
        let out = Tensor(uninitialized: v.shape)
        let pv = v.pointer, pg = g.pointer, po = out.pointer, pn = norms.pointer
        Parallel.forRanges(rows, minChunk: minRows) { range in
            for r in range {
                let row = pv + r &* n
                var s = 0.0
                for j in 0..<n { s += Double(row[j]) * Double(row[j]) }
                let norm = Float(s.squareRoot())
                pn[r] = norm
                let scale = pg[r] / norm
                let dst = po + r &* n
                for j in 0..<n { dst[j] = row[j] * scale }
            }
        }
        return record("weight_norm", output: out, inputs: [v, g]) { dw in
            // With u = v/‖v‖: dg = Σ dw·u ; dv = (g/‖v‖)·(dw − u·Σ dw·u)
            let gv = Tensor(uninitialized: v.shape), gg = Tensor(uninitialized: g.shape)
            let pd = dw.pointer, pgv = gv.pointer, pgg = gg.pointer, pn = norms.pointer
            Parallel.forRanges(rows, minChunk: minRows) { range in
                for r in range {
                    let row = pv + r &* n, d = pd + r &* n
                    let inv = 1 / pn[r]
                    var dot = 0.0
                    for j in 0..<n { dot += Double(d[j]) * Double(row[j]) }
                    let proj = Float(dot) * inv       // Σ dw·u
                    pgg[r] = proj
                    let scale = pg[r] * inv
                    let dst = pgv + r &* n
                    for j in 0..<n { dst[j] = scale * (d[j] - row[j] * inv * proj) }
                }
            }
            return [v.requiresGrad ? gv : nil, g.requiresGrad ? gg : nil]
        }
    }
}
