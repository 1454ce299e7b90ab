import Foundation
import Cores

/// Elementwise binary kernels, specialized per operation (no per-element closures).
protocol BinaryKernel { static func apply(_ a: Float, _ b: Float) -> Float }
enum AddKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum SubKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum MulKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum DivKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }
enum GreaterKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a > b ? 1 : 0 } }
enum GreaterEqualKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a >= b ? 1 : 0 } }
enum LessKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a < b ? 1 : 0 } }
enum LessEqualKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a <= b ? 1 : 0 } }
enum EqualKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a == b ? 1 : 0 } }
enum MaximumKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a >= b ? a : b } }
enum MinimumKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a <= b ? a : b } }

/// Elements per parallel chunk for cheap elementwise work.
let elementwiseChunk = 1 << 15

extension Tensor {
    /// out = K(a, b) with numpy broadcasting; no graph.
    static func broadcastBinary<K: BinaryKernel>(_ kernel: K.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : Shape.broadcast(a.shape, b.shape)
        let out = Tensor(uninitialized: shape)
        let n = out.count
        if n == 0 { return out }
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        if a.count == n && b.count == n {
            Parallel.forRanges(n, minChunk: elementwiseChunk) { r in
                for i in r { po[i] = K.apply(pa[i], pb[i]) }
            }
        } else if b.count == 1 && a.count == n {
            let s = pb[0]
            Parallel.forRanges(n, minChunk: elementwiseChunk) { r in
                for i in r { po[i] = K.apply(pa[i], s) }
            }
        } else if a.count == 1 && b.count == n {
            let s = pa[0]
            Parallel.forRanges(n, minChunk: elementwiseChunk) { r in
                for i in r { po[i] = K.apply(s, pb[i]) }
            }
        } else {
            let walker = RowWalker(shape: shape, strides: [Shape.broadcastStrides(a.shape, to: shape),
                                                           Shape.broadcastStrides(b.shape, to: shape)])
            let len = walker.rowLength
            let sa = walker.strides[0].last ?? 0, sb = walker.strides[1].last ?? 0
            Parallel.forRanges(walker.rows, minChunk: Swift.max(1, elementwiseChunk / Swift.max(len, 1))) { range in
                walker.forEachRow(in: range) { row, offs in
                    let x = pa + offs[0], y = pb + offs[1], o = po + row &* len
                    if sa == 1 && sb == 1 { for j in 0..<len { o[j] = K.apply(x[j], y[j]) } }
                    else if sa == 1 && sb == 0 { let v = y[0]; for j in 0..<len { o[j] = K.apply(x[j], v) } }
                    else if sa == 0 && sb == 1 { let v = x[0]; for j in 0..<len { o[j] = K.apply(v, y[j]) } }
                    else { for j in 0..<len { o[j] = K.apply(x[j &* sa], y[j &* sb]) } }
                }
            }
        }
        return out
    }

    /// Sums `self` over the axes along which `shape` was broadcast to produce it (the backward of
    /// broadcasting). Returns self when the shapes already match.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "cannot reduce \(shape) to \(target)")
        var axes: [Int] = Array(0..<lead)
        for d in 0..<target.count where target[d] == 1 && shape[d + lead] != 1 { axes.append(d + lead) }
        let reduced = axes.isEmpty ? self : sum(axes: axes, keepDim: true)
        return reduced.reshaped(target)
    }

    // MARK: differentiable broadcasting arithmetic

    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(AddKernel.self, a, b)
        return record("add", output: out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sum(toShape: a.shape) : nil, b.requiresGrad ? g.sum(toShape: b.shape) : nil]
        }
    }

    public static func sub(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(SubKernel.self, a, b)
        return record("sub", output: out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sum(toShape: a.shape) : nil, b.requiresGrad ? g.neg().sum(toShape: b.shape) : nil]
        }
    }

    public static func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(MulKernel.self, a, b)
        return record("mul", output: out, inputs: [a, b]) { g in
            [a.requiresGrad ? broadcastBinary(MulKernel.self, g, b).sum(toShape: a.shape) : nil,
             b.requiresGrad ? broadcastBinary(MulKernel.self, g, a).sum(toShape: b.shape) : nil]
        }
    }

    public static func div(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(DivKernel.self, a, b)
        return record("div", output: out, inputs: [a, b]) { g in
            let ga = a.requiresGrad || b.requiresGrad ? broadcastBinary(DivKernel.self, g, b) : nil
            // d(a/b)/db = -(a/b)/b = -out/b
            return [a.requiresGrad ? ga!.sum(toShape: a.shape) : nil,
                    b.requiresGrad ? broadcastBinary(MulKernel.self, ga!, out).neg().sum(toShape: b.shape) : nil]
        }
    }

    /// Elementwise maximum (gradient to the larger input; ties go to `a`).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(MaximumKernel.self, a, b)
        return record("maximum", output: out, inputs: [a, b]) { g in
            let pickA = broadcastBinary(GreaterEqualKernel.self, a, b)
            return [a.requiresGrad ? broadcastBinary(MulKernel.self, g, pickA).sum(toShape: a.shape) : nil,
                    b.requiresGrad ? broadcastBinary(MulKernel.self, g, pickA.oneMinus()).sum(toShape: b.shape) : nil]
        }
    }

    /// Elementwise minimum (gradient to the smaller input; ties go to `a`).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastBinary(MinimumKernel.self, a, b)
        return record("minimum", output: out, inputs: [a, b]) { g in
            let pickA = broadcastBinary(LessEqualKernel.self, a, b)
            return [a.requiresGrad ? broadcastBinary(MulKernel.self, g, pickA).sum(toShape: a.shape) : nil,
                    b.requiresGrad ? broadcastBinary(MulKernel.self, g, pickA.oneMinus()).sum(toShape: b.shape) : nil]
        }
    }

    // MARK: comparisons (not differentiable; 1 where true, 0 elsewhere)

    public func greater(_ other: Tensor) -> Tensor { Tensor.broadcastBinary(GreaterKernel.self, self, other) }
    public func greaterEqual(_ other: Tensor) -> Tensor { Tensor.broadcastBinary(GreaterEqualKernel.self, self, other) }
    public func less(_ other: Tensor) -> Tensor { Tensor.broadcastBinary(LessKernel.self, self, other) }
    public func lessEqual(_ other: Tensor) -> Tensor { Tensor.broadcastBinary(LessEqualKernel.self, self, other) }
    public func equal(_ other: Tensor) -> Tensor { Tensor.broadcastBinary(EqualKernel.self, self, other) }
    public func greater(_ s: Float) -> Tensor { greater(Tensor(scalar: s)) }
    public func greaterEqual(_ s: Float) -> Tensor { greaterEqual(Tensor(scalar: s)) }
    public func less(_ s: Float) -> Tensor { less(Tensor(scalar: s)) }
    public func lessEqual(_ s: Float) -> Tensor { lessEqual(Tensor(scalar: s)) }

    /// 1 − x without a graph (internal helper for masks).
    func oneMinus() -> Tensor {
        let out = Tensor(uninitialized: shape)
        let p = pointer, o = out.pointer
        for i in 0..<count { o[i] = 1 - p[i] }
        return out
    }

    // MARK: scalar variants

    public func adding(_ s: Float) -> Tensor {
        let out = mapElements { src, dst, n in for i in 0..<n { dst[i] = src[i] + s } }
        return Tensor.record("add_scalar", output: out, inputs: [self]) { g in [g] }
    }

    public func multiplied(by s: Float) -> Tensor {
        let out = mapElements { src, dst, n in for i in 0..<n { dst[i] = src[i] * s } }
        return Tensor.record("mul_scalar", output: out, inputs: [self]) { g in [g.multiplied(by: s)] }
    }

    public func neg() -> Tensor { multiplied(by: -1) }

    /// x / s, computed as a true division (bit-identical to PyTorch's `x / s`).
    public func divided(by s: Float) -> Tensor {
        let out = mapElements { src, dst, n in for i in 0..<n { dst[i] = src[i] / s } }
        return Tensor.record("div_scalar", output: out, inputs: [self]) { g in [g.divided(by: s)] }
    }

    /// Elementwise 1/x.
    public func reciprocal() -> Tensor {
        let out = mapElements { src, dst, n in for i in 0..<n { dst[i] = 1 / src[i] } }
        return Tensor.record("reciprocal", output: out, inputs: [self]) { g in
            // d(1/x) = -1/x² = -out²
            [Tensor.broadcastBinary(MulKernel.self, g, Tensor.broadcastBinary(MulKernel.self, out, out)).neg()]
        }
    }
}

// MARK: operators

public func + (a: Tensor, b: Tensor) -> Tensor { Tensor.add(a, b) }
public func - (a: Tensor, b: Tensor) -> Tensor { Tensor.sub(a, b) }
public func * (a: Tensor, b: Tensor) -> Tensor { Tensor.mul(a, b) }
public func / (a: Tensor, b: Tensor) -> Tensor { Tensor.div(a, b) }
public prefix func - (a: Tensor) -> Tensor { a.neg() }
public func + (a: Tensor, s: Float) -> Tensor { a.adding(s) }
public func + (s: Float, a: Tensor) -> Tensor { a.adding(s) }
public func - (a: Tensor, s: Float) -> Tensor { a.adding(-s) }
public func - (s: Float, a: Tensor) -> Tensor { a.neg().adding(s) }
public func * (a: Tensor, s: Float) -> Tensor { a.multiplied(by: s) }
public func * (s: Float, a: Tensor) -> Tensor { a.multiplied(by: s) }
public func / (a: Tensor, s: Float) -> Tensor { a.divided(by: s) }
public func / (s: Float, a: Tensor) -> Tensor { s == 1 ? a.reciprocal() : a.reciprocal().multiplied(by: s) }
