import Foundation
import CKernels
import Cores

/// Transcendental elementwise kernels over (src, dst, count). Each function is the single place its
/// math lives, so switching to the vectorized C kernels (CKernels) is a one-line change per function.
/// src and dst may alias (in-place is allowed).
/// The transcendental loops of the unary ops: the vectorized C kernels (CKernels, libmvec), which
/// run 15–20× faster than glibc's scalar functions; `pow` stays scalar.
enum ElementMath {
    static func exp(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) { ck_exp(src, dst, n) }
    static func log(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) { ck_log(src, dst, n) }
    static func tanh(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) { ck_tanh(src, dst, n) }
    static func sigmoid(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) { ck_sigmoid(src, dst, n) }
    /// log(1 + exp(x)) with PyTorch's threshold (x > 20 → x).
    static func softplus(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) { ck_softplus(src, dst, n) }
    static func pow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ p: Float) {
        for i in 0..<n { dst[i] = Foundation.pow(src[i], p) }
    }
}

extension Tensor {
    /// New tensor of the same shape whose elements `kernel(src, dst, n)` writes, chunk by chunk,
    /// split over the cores for big tensors.
    func mapElements(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = UnsafePointer(pointer), dst = out.pointer
        Parallel.forRanges(count, minChunk: elementwiseChunk) { r in
            kernel(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
        return out
    }

    /// g ⊙ f(x, y) for the backward of a unary op (x = input, y = output), one pass, no graph.
    static func unaryGrad(_ g: Tensor, _ x: Tensor, _ y: Tensor,
                          _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        let pg = UnsafePointer(g.pointer), px = UnsafePointer(x.pointer), py = UnsafePointer(y.pointer), po = out.pointer
        Parallel.forRanges(x.count, minChunk: elementwiseChunk) { r in
            let o = r.lowerBound
            kernel(pg + o, px + o, py + o, po + o, r.count)
        }
        return out
    }

    public func exp() -> Tensor {
        let out = mapElements(ElementMath.exp)
        return Tensor.record("exp", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, _, y, d, n in for i in 0..<n { d[i] = g[i] * y[i] } }]
        }
    }

    public func log() -> Tensor {
        let out = mapElements(ElementMath.log)
        return Tensor.record("log", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in for i in 0..<n { d[i] = g[i] / x[i] } }]
        }
    }

    public func sqrt() -> Tensor {
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = s[i].squareRoot() } }
        return Tensor.record("sqrt", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, _, y, d, n in for i in 0..<n { d[i] = g[i] / (2 * y[i]) } }]
        }
    }

    /// x^p elementwise (NaN for negative x with non-integer p, as PyTorch).
    public func pow(_ p: Float) -> Tensor {
        if p == 1 { return multiplied(by: 1) }
        let out: Tensor
        if p == 2 { out = mapElements { s, d, n in for i in 0..<n { d[i] = s[i] * s[i] } } }
        else { out = mapElements { s, d, n in ElementMath.pow(s, d, n, p) } }
        return Tensor.record("pow", output: out, inputs: [self]) { g in
            if p == 2 { return [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in for i in 0..<n { d[i] = 2 * x[i] * g[i] } }] }
            let pm1 = self.mapElements { s, d, n in ElementMath.pow(s, d, n, p - 1) }
            return [Tensor.unaryGrad(g, pm1, pm1) { g, x, _, d, n in for i in 0..<n { d[i] = p * x[i] * g[i] } }]
        }
    }

    public func square() -> Tensor { pow(2) }

    public func tanh() -> Tensor {
        let out = mapElements(ElementMath.tanh)
        return Tensor.record("tanh", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, _, y, d, n in for i in 0..<n { d[i] = g[i] * (1 - y[i] * y[i]) } }]
        }
    }

    public func sigmoid() -> Tensor {
        let out = mapElements(ElementMath.sigmoid)
        return Tensor.record("sigmoid", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, _, y, d, n in for i in 0..<n { d[i] = g[i] * y[i] * (1 - y[i]) } }]
        }
    }

    /// log(1 + eˣ) (PyTorch softplus, beta 1, threshold 20).
    public func softplus() -> Tensor {
        let out = mapElements(ElementMath.softplus)
        return Tensor.record("softplus", output: out, inputs: [self]) { g in
            let s = self.mapElements(ElementMath.sigmoid)
            return [Tensor.unaryGrad(g, self, s) { g, x, s, d, n in for i in 0..<n { d[i] = x[i] > 20 ? g[i] : g[i] * s[i] } }]
        }
    }

    public func relu() -> Tensor {
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = s[i] > 0 ? s[i] : 0 } }
        return Tensor.record("relu", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in for i in 0..<n { d[i] = x[i] > 0 ? g[i] : 0 } }]
        }
    }

    public func abs() -> Tensor {
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = Swift.abs(s[i]) } }
        return Tensor.record("abs", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in
                for i in 0..<n { d[i] = x[i] > 0 ? g[i] : (x[i] < 0 ? -g[i] : 0) } }]
        }
    }

    /// Clamps into [min, max] (either bound optional). Gradient passes where min ≤ x ≤ max, as PyTorch.
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        let l = lo ?? -.infinity, h = hi ?? .infinity
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = Swift.min(Swift.max(s[i], l), h) } }
        return Tensor.record("clamp", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in
                for i in 0..<n { d[i] = (x[i] >= l && x[i] <= h) ? g[i] : 0 } }]
        }
    }
}

extension Tensor {
    /// Elementwise rounding down / up (not differentiable: the result is a new leaf).
    public func floor() -> Tensor { mapElements { s, d, n in for i in 0..<n { d[i] = s[i].rounded(.down) } } }
    public func ceil() -> Tensor { mapElements { s, d, n in for i in 0..<n { d[i] = s[i].rounded(.up) } } }
}
