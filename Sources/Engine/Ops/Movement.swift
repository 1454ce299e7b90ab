import Foundation

/// Layout ops: reshape, permute, slice, pad, concat, split, flip, cumsum.
extension Tensor {
    /// Same elements, new shape (one dimension may be -1 and is inferred). Shares storage: free.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let hole = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[hole] = count / known
        }
        precondition(Tensor.elementCount(s) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if s == shape { return self }
        let out = Tensor(shape: s, storage: storage)
        let inShape = shape
        return Tensor.record("reshape", output: out, inputs: [self]) { g in [Tensor(shape: inShape, storage: g.storage)] }
    }

    /// Inserts a size-1 axis at `axis` (negative counts from the end of the result).
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank + 1)
        var s = shape; s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes size-1 axis `axis`, or every size-1 axis when nil.
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        if let axis {
            let a = Shape.axis(axis, rank: rank)
            precondition(shape[a] == 1, "squeeze axis \(axis) has size \(shape[a]), not 1")
            var s = shape; s.remove(at: a)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Reorders axes: result axis i is input axis perm[i].
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "permutation \(perm) invalid for rank \(rank)")
        if perm == Array(0..<rank) { return self }
        let st = Shape.strides(shape)
        let out = Tensor.gatherStrided(self, strides: perm.map { st[$0] }, shape: perm.map { shape[$0] })
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return Tensor.record("permute", output: out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (default: the last two).
    public func transposed(_ a0: Int = -2, _ a1: Int = -1) -> Tensor {
        var perm = Array(0..<rank)
        perm.swapAt(Shape.axis(a0, rank: rank), Shape.axis(a1, rank: rank))
        return permuted(perm)
    }

    /// Elements start..<end along `axis` (step 1). Negative bounds count from the end.
    public func slice(axis: Int, start: Int, end: Int? = nil) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let n = shape[a]
        let lo = start < 0 ? start + n : start
        let hi = end.map { $0 < 0 ? $0 + n : $0 } ?? n
        precondition(lo >= 0 && lo <= hi && hi <= n, "slice \(start)..<\(end ?? n) out of range for axis \(axis) of \(shape)")
        if lo == 0 && hi == n { return self }
        let (outer, _, inner) = Shape.split(shape, at: a)
        var outShape = shape; outShape[a] = hi - lo
        let out = Tensor(uninitialized: outShape)
        let block = (hi - lo) * inner, px = pointer, po = out.pointer
        for o in 0..<outer { (po + o &* block).update(from: px + (o &* n &+ lo) &* inner, count: block) }
        let inShape = shape
        return Tensor.record("slice", output: out, inputs: [self]) { g in
            let gx = Tensor(zeros: inShape)
            let pg = g.pointer, pd = gx.pointer
            for o in 0..<outer { (pd + (o &* n &+ lo) &* inner).update(from: pg + o &* block, count: block) }
            return [gx]
        }
    }

    /// Constant padding of one axis with `before`/`after` elements of `value`.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        precondition(before >= 0 && after >= 0, "negative padding")
        if before == 0 && after == 0 { return self }
        let a = Shape.axis(axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, at: a)
        let m = n + before + after
        var outShape = shape; outShape[a] = m
        let out = Tensor(repeating: value, shape: outShape)
        let px = pointer, po = out.pointer, block = n * inner
        for o in 0..<outer { (po + (o &* m &+ before) &* inner).update(from: px + o &* block, count: block) }
        return Tensor.record("pad", output: out, inputs: [self]) { g in
            [g.slice(axis: a, start: before, end: before + n)]
        }
    }

    /// Constant padding of every axis: `pads[d] = (before, after)` for axis d (count must equal rank).
    public func padded(_ pads: [(Int, Int)], value: Float = 0) -> Tensor {
        precondition(pads.count == rank, "pad list has \(pads.count) entries for rank \(rank)")
        var x = self
        for (d, p) in pads.enumerated() { x = x.padded(axis: d, before: p.0, after: p.1, value: value) }
        return x
    }

    /// Reflect padding of the last axis (PyTorch `F.pad(mode="reflect")`: the edge is not repeated).
    public func reflectPadded(left: Int, right: Int) -> Tensor {
        let n = shape[rank - 1]
        precondition(left >= 0 && right >= 0 && left < n && right < n, "reflect pad (\(left), \(right)) needs pads < size \(n)")
        let m = n + left + right, rows = count / Swift.max(n, 1)
        var outShape = shape; outShape[rank - 1] = m
        let out = Tensor(uninitialized: outShape)
        let px = pointer, po = out.pointer
        @inline(__always) func source(_ j: Int) -> Int {
            let i = j - left
            return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i)
        }
        for r in 0..<rows {
            let src = px + r &* n, dst = po + r &* m
            for j in 0..<m { dst[j] = src[source(j)] }
        }
        return Tensor.record("reflect_pad", output: out, inputs: [self]) { g in
            let gx = Tensor(zeros: self.shape)
            let pg = g.pointer, pd = gx.pointer
            for r in 0..<rows {
                let src = pg + r &* m, dst = pd + r &* n
                for j in 0..<m { dst[source(j)] += src[j] }
            }
            return [gx]
        }
    }

    /// Joins tensors along `axis`; all other axes must match.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let a = Shape.axis(axis, rank: first.rank)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concat along \(axis): shape \(t.shape) does not match \(first.shape)")
        }
        if tensors.count == 1 { return first }
        let sizes = tensors.map { $0.shape[a] }
        var outShape = first.shape; outShape[a] = sizes.reduce(0, +)
        let (outer, total, inner) = Shape.split(outShape, at: a)
        let out = Tensor(uninitialized: outShape)
        let po = out.pointer
        var offset = 0
        for t in tensors {
            let block = t.shape[a] * inner, pt = t.pointer
            for o in 0..<outer { (po + (o &* total &+ offset) &* inner).update(from: pt + o &* block, count: block) }
            offset += t.shape[a]
        }
        return record("concat", output: out, inputs: tensors) { g in
            var start = 0
            return tensors.map { t in
                defer { start += t.shape[a] }
                return t.requiresGrad ? g.slice(axis: a, start: start, end: start + t.shape[a]) : nil
            }
        }
    }

    /// Splits along `axis` into pieces of the given sizes (which must add up to the axis length).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = Shape.axis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[a], "split sizes \(sizes) do not add up to \(shape[a])")
        var start = 0
        return sizes.map { s in defer { start += s }; return slice(axis: a, start: start, end: start + s) }
    }

    /// Splits along `axis` into `parts` equal pieces.
    public func chunked(_ parts: Int, axis: Int) -> [Tensor] {
        let a = Shape.axis(axis, rank: rank)
        precondition(parts > 0 && shape[a] % parts == 0, "axis of size \(shape[a]) does not split into \(parts)")
        return split(sizes: [Int](repeating: shape[a] / parts, count: parts), axis: a)
    }

    /// Reverses the order of elements along `axis`.
    public func flipped(_ axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, at: a)
        let out = Tensor(uninitialized: shape)
        let px = pointer, po = out.pointer
        for o in 0..<outer {
            for k in 0..<n {
                (po + (o &* n &+ k) &* inner).update(from: px + (o &* n &+ (n - 1 - k)) &* inner, count: inner)
            }
        }
        return Tensor.record("flip", output: out, inputs: [self]) { g in [g.flipped(a)] }
    }

    /// Inclusive cumulative sum along `axis`.
    public func cumsum(axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let out = Tensor.cumsumKernel(self, a, reverse: false)
        return Tensor.record("cumsum", output: out, inputs: [self]) { g in [Tensor.cumsumKernel(g, a, reverse: true)] }
    }

    static func cumsumKernel(_ x: Tensor, _ a: Int, reverse: Bool) -> Tensor {
        let (outer, n, inner) = Shape.split(x.shape, at: a)
        let out = Tensor(uninitialized: x.shape)
        let px = x.pointer, po = out.pointer
        for o in 0..<outer {
            let base = o &* n &* inner
            for i in 0..<inner {
                var s: Float = 0
                if reverse {
                    for k in stride(from: n - 1, through: 0, by: -1) { let j = base &+ k &* inner &+ i; s += px[j]; po[j] = s }
                } else {
                    for k in 0..<n { let j = base &+ k &* inner &+ i; s += px[j]; po[j] = s }
                }
            }
        }
        return out
    }
}

extension Tensor {
    /// Stacks equal-shape tensors along a new axis `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack of no tensors")
        let a = Shape.axis(axis, rank: tensors[0].rank + 1)
        return concat(tensors.map { $0.unsqueezed(a) }, axis: a)
    }
}
