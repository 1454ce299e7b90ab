import Foundation
import Cores

/// A small integer tensor for token ids and gather indices (row-major Int32 values + shape).
/// Not differentiable; it only selects.
public struct IntTensor: Sendable, Equatable {
    public let shape: [Int]
    public var values: [Int32]

    public init(shape: [Int], values: [Int32]) {
        precondition(values.count == Tensor.elementCount(shape), "\(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(_ values: [Int32]) { self.init(shape: [values.count], values: values) }

    public init(repeating value: Int32, shape: [Int]) {
        self.init(shape: shape, values: [Int32](repeating: value, count: Tensor.elementCount(shape)))
    }

    /// Rounds each element of a float tensor (e.g. a bin count from a comparison sum) to an index.
    public init(rounding t: Tensor) {
        var v = [Int32](repeating: 0, count: t.count)
        let p = t.pointer
        for i in 0..<t.count { v[i] = Int32(p[i].rounded()) }
        self.init(shape: t.shape, values: v)
    }

    public var count: Int { values.count }
    public var rank: Int { shape.count }

    public func reshaped(_ s: [Int]) -> IntTensor { IntTensor(shape: s, values: values) }

    /// The ids as a float tensor (no graph).
    public var asFloat: Tensor { Tensor(shape: shape, data: values.map(Float.init)) }
}

extension Tensor {
    /// 0/1 float tensor from a Bool mask (true → 1), for `where`/`maskedFill`.
    public convenience init(mask: [Bool], shape: [Int]) {
        self.init(shape: shape, data: mask.map { $0 ? 1 : 0 })
    }

    /// Rows of `table` [V, D] picked by `ids` (any shape S); result S + [D].
    /// Backward scatters (adds) into the rows of the table.
    public static func embedding(_ table: Tensor, _ ids: IntTensor) -> Tensor {
        precondition(table.rank == 2, "embedding table must be [vocab, dim], got \(table.shape)")
        let v = table.shape[0], d = table.shape[1]
        for id in ids.values { precondition(id >= 0 && Int(id) < v, "embedding id \(id) outside [0, \(v))") }
        let out = Tensor(uninitialized: ids.shape + [d])
        let pt = table.pointer, po = out.pointer
        for (i, id) in ids.values.enumerated() { (po + i &* d).update(from: pt + Int(id) &* d, count: d) }
        return record("embedding", output: out, inputs: [table]) { g in
            let gt = Tensor(zeros: table.shape)
            let pg = g.pointer, pd = gt.pointer
            for (i, id) in ids.values.enumerated() {
                let dst = pd + Int(id) &* d, src = pg + i &* d
                for j in 0..<d { dst[j] += src[j] }
            }
            return [gt]
        }
    }

    /// torch.gather: out[i…, j, k…] = self[i…, index[i…, j, k…], k…] along `axis`. `index` has this
    /// tensor's rank; its other axes may be shorter. Backward scatters (adds) into the source.
    public func gather(axis: Int, index: IntTensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(index.rank == rank, "gather index rank \(index.rank) != tensor rank \(rank)")
        for d in 0..<rank where d != a {
            precondition(index.shape[d] <= shape[d], "gather index shape \(index.shape) exceeds \(shape) on axis \(d)")
        }
        let n = shape[a]
        for v in index.values { precondition(v >= 0 && Int(v) < n, "gather index \(v) outside [0, \(n))") }
        let srcStrides = Shape.strides(shape)
        let idxShape = index.shape
        // Source offset of each output element, computed once and reused by backward.
        var offsets = [Int](repeating: 0, count: index.count)
        var multi = [Int](repeating: 0, count: rank)
        for e in 0..<index.count {
            var off = 0
            for d in 0..<rank { off += (d == a ? Int(index.values[e]) : multi[d]) * srcStrides[d] }
            offsets[e] = off
            var d = rank - 1
            while d >= 0 { multi[d] += 1; if multi[d] < idxShape[d] { break }; multi[d] = 0; d -= 1 }
        }
        let out = Tensor(uninitialized: idxShape)
        let px = pointer, po = out.pointer
        for e in 0..<offsets.count { po[e] = px[offsets[e]] }
        let inShape = shape
        return Tensor.record("gather", output: out, inputs: [self]) { g in
            let gx = Tensor(zeros: inShape)
            let pg = g.pointer, pd = gx.pointer
            for e in 0..<offsets.count { pd[offsets[e]] += pg[e] }
            return [gx]
        }
    }

    /// Elementwise select: `condition` (nonzero = true) ? a : b, all three broadcast together.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape), b.shape)
        let c = condition.shape == shape ? condition : noGrad { condition.broadcast(to: shape) }
        let x = a.shape == shape ? a : noGrad { a.broadcast(to: shape) }
        let y = b.shape == shape ? b : noGrad { b.broadcast(to: shape) }
        let out = Tensor(uninitialized: shape)
        let pc = c.pointer, px = x.pointer, py = y.pointer, po = out.pointer
        Parallel.forRanges(out.count, minChunk: elementwiseChunk) { r in
            for i in r { po[i] = pc[i] != 0 ? px[i] : py[i] }
        }
        return record("where", output: out, inputs: [a, b]) { g in
            let pg = g.pointer
            var ga: Tensor?, gb: Tensor?
            if a.requiresGrad {
                let t = Tensor(uninitialized: shape), pt = t.pointer
                for i in 0..<t.count { pt[i] = pc[i] != 0 ? pg[i] : 0 }
                ga = t.sum(toShape: a.shape)
            }
            if b.requiresGrad {
                let t = Tensor(uninitialized: shape), pt = t.pointer
                for i in 0..<t.count { pt[i] = pc[i] != 0 ? 0 : pg[i] }
                gb = t.sum(toShape: b.shape)
            }
            _ = c   // keep the broadcast condition alive for the pointers above
            return [ga, gb]
        }
    }

    /// Replaces elements where `mask` (broadcastable, nonzero = true) is set by `value`.
    public func maskedFill(_ mask: Tensor, _ value: Float) -> Tensor {
        Tensor.where(mask, Tensor(scalar: value), self)
    }
}
