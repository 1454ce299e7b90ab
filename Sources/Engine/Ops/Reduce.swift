import Foundation
import Cores

extension Tensor {
    /// Sum over one axis, keeping it as size 1. No graph.
    static func sumAxisKeep(_ x: Tensor, _ axis: Int) -> Tensor {
        var outShape = x.shape; outShape[axis] = 1
        let (outer, n, inner) = Shape.split(x.shape, at: axis)
        let out = Tensor(zeros: outShape)
        let px = x.pointer, po = out.pointer
        if inner == 1 {
            Parallel.forRanges(outer, minChunk: Swift.max(1, elementwiseChunk / Swift.max(n, 1))) { r in
                for o in r {
                    // Double accumulator: long rows (losses over whole batches) keep float accuracy.
                    var s = 0.0
                    let row = px + o &* n
                    for k in 0..<n { s += Double(row[k]) }
                    po[o] = Float(s)
                }
            }
        } else {
            Parallel.forRanges(outer, minChunk: Swift.max(1, elementwiseChunk / Swift.max(n &* inner, 1))) { r in
                for o in r {
                    let dst = po + o &* inner
                    for k in 0..<n {
                        let src = px + (o &* n &+ k) &* inner
                        for i in 0..<inner { dst[i] += src[i] }
                    }
                }
            }
        }
        return out
    }

    /// Sum over `axes` (negative axes count from the end). With `keepDim`, reduced axes stay as size 1.
    public func sum(axes: [Int], keepDim: Bool = false) -> Tensor {
        let ax = Array(Set(axes.map { Shape.axis($0, rank: rank) })).sorted(by: >)
        var outKeep = shape
        for a in ax { outKeep[a] = 1 }
        var acc: Tensor = self
        for a in ax { acc = Tensor.sumAxisKeep(acc, a) }
        if ax.isEmpty { acc = copy() }
        let finalShape = keepDim ? outKeep : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let out = Tensor(shape: finalShape, storage: acc.storage)
        let inShape = shape
        return Tensor.record("sum", output: out, inputs: [self]) { g in
            [Tensor(shape: outKeep, storage: g.storage).broadcast(to: inShape)]
        }
    }

    public func sum(axis: Int, keepDim: Bool = false) -> Tensor { sum(axes: [axis], keepDim: keepDim) }

    /// Sum of all elements (rank-0 result).
    public func sum() -> Tensor { reshaped([count]).sum(axes: [0]) }

    public func mean(axes: [Int], keepDim: Bool = false) -> Tensor {
        let n = Set(axes.map { Shape.axis($0, rank: rank) }).reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDim: keepDim).divided(by: Float(n))
    }

    public func mean(axis: Int, keepDim: Bool = false) -> Tensor { mean(axes: [axis], keepDim: keepDim) }

    /// Mean of all elements (rank-0 result).
    public func mean() -> Tensor { sum().divided(by: Float(Swift.max(count, 1))) }

    /// Maximum over one axis. The gradient flows to the first maximal element of each slice (PyTorch's
    /// `Swift.max(dim)` convention).
    public func max(axis: Int, keepDim: Bool = false) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, at: a)
        precondition(n > 0, "max over an empty axis")
        var keepShape = shape; keepShape[a] = 1
        let out = Tensor(uninitialized: keepShape)
        var argmax = [Int32](repeating: 0, count: outer * inner)
        let px = pointer, po = out.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = px[o &* n &* inner &+ i], bestK = 0
                    for k in 1..<Swift.max(n, 1) {
                        let v = px[(o &* n &+ k) &* inner &+ i]
                        if v > best { best = v; bestK = k }
                    }
                    po[o &* inner &+ i] = best
                    am[o &* inner &+ i] = Int32(bestK)
                }
            }
        }
        let result = keepDim ? out : Tensor(shape: shape.enumerated().filter { $0.offset != a }.map(\.element), storage: out.storage)
        let inShape = shape
        return Tensor.record("max", output: result, inputs: [self]) { g in
            let gx = Tensor(zeros: inShape)
            let pg = g.pointer, pd = gx.pointer
            for o in 0..<outer {
                for i in 0..<inner {
                    let k = Int(argmax[o &* inner &+ i])
                    pd[(o &* n &+ k) &* inner &+ i] = pg[o &* inner &+ i]
                }
            }
            return [gx]
        }
    }

    /// Maximum of all elements (rank-0 result).
    public func max() -> Tensor { reshaped([count]).max(axis: 0) }

    /// Reads this tensor broadcast to `target` (numpy rules) into a new contiguous tensor.
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let out = Tensor.gatherStrided(self, strides: Shape.broadcastStrides(shape, to: target), shape: target)
        let inShape = shape
        return Tensor.record("broadcast", output: out, inputs: [self]) { g in [g.sum(toShape: inShape)] }
    }
}
