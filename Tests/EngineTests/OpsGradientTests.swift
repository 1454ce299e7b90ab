import XCTest
import Engine

/// Finite-difference gradient checks for every differentiable op (small shapes, inputs away from kinks).
final class OpsGradientTests: XCTestCase {
    let rng = RandomGenerator(seed: 42)

    /// A leaf requiring grad with N(0,1)·scale + shift values.
    func input(_ shape: [Int], scale: Float = 1, shift: Float = 0) -> Tensor {
        let t = rng.randn(shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = p[i] * scale + shift }
        t.requiresGrad = true
        return t
    }

    /// Positive leaf in [lo, hi).
    func positive(_ shape: [Int], _ lo: Float = 0.5, _ hi: Float = 2) -> Tensor {
        let t = rng.uniform(shape, low: lo, high: hi)
        t.requiresGrad = true
        return t
    }

    /// Leaf whose elements all have |x| ≥ margin (away from kinks at 0).
    func awayFromZero(_ shape: [Int], margin: Float = 0.2) -> Tensor {
        let t = rng.randn(shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = p[i] >= 0 ? p[i] + margin : p[i] - margin }
        t.requiresGrad = true
        return t
    }

    func check(_ inputs: [Tensor], tolerance: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line,
               _ f: @escaping ([Tensor]) -> Tensor) {
        let reports = GradientCheck.run(inputs: inputs, epsilon: 1e-3, f)
        for (i, r) in reports.enumerated() where inputs[i].requiresGrad {
            XCTAssertLessThan(r.relativeError, tolerance, "input \(i): max abs error \(r.maxAbsError)", file: file, line: line)
            XCTAssertFalse(r.numeric.allSatisfy { $0 == 0 }, "input \(i): numeric gradient is all zero — test probes nothing", file: file, line: line)
        }
    }

    func testBroadcastingArithmetic() {
        let a = input([2, 3, 4]), b = input([3, 1]), c = positive([4], 1, 2), s = input([])
        check([a, b]) { $0[0] + $0[1] }
        check([a, b]) { $0[0] - $0[1] }
        check([a, b]) { $0[0] * $0[1] }
        check([a, c]) { $0[0] / $0[1] }
        check([c, a]) { $0[0] / $0[1].abs().adding(1) }
        check([a, s]) { $0[0] * $0[1] }
        check([b, a]) { $0[0] - $0[1] }          // smaller shape on the left
        let m = input([2, 1, 4])
        check([m, b]) { $0[0] * $0[1] }           // both operands broadcast: [2,3,4]
    }

    func testScalarVariantsAndNeg() {
        let a = input([3, 4]), p = positive([5])
        check([a]) { $0[0] + 2.5 }
        check([a]) { 1.5 - $0[0] }
        check([a]) { $0[0] * -3 }
        check([a]) { $0[0] / 4 }
        check([a]) { -$0[0] }
        check([p]) { 2 / $0[0] }
        check([p]) { $0[0].reciprocal() }
    }

    func testUnaryMath() {
        let x = input([2, 5], scale: 0.8), p = positive([2, 5])
        check([x]) { $0[0].exp() }
        check([p]) { $0[0].log() }
        check([p]) { $0[0].sqrt() }
        check([p]) { $0[0].pow(3) }
        check([x]) { $0[0].pow(2) }
        check([p]) { $0[0].pow(-0.5) }
        check([x]) { $0[0].tanh() }
        check([x]) { $0[0].sigmoid() }
        check([x]) { $0[0].softplus() }
        let big = Tensor(shape: [3], data: [25, -30, 0.3], requiresGrad: true)   // threshold and tail branches
        check([big]) { $0[0].softplus() }
    }

    func testPiecewiseUnary() {
        let x = awayFromZero([3, 4])
        check([x]) { $0[0].relu() }
        check([x]) { leakyRelu($0[0], slope: 0.1) }
        check([x]) { $0[0].abs() }
        let y = Tensor(shape: [6], data: [-2, -0.7, -0.2, 0.3, 0.9, 1.8], requiresGrad: true)
        check([y]) { $0[0].clamp(min: -0.5, max: 1) }
        check([y]) { $0[0].clamp(min: 0) }
        let a = Tensor(shape: [4], data: [1, -2, 3, 0.5], requiresGrad: true)
        let b = Tensor(shape: [4], data: [0.5, -1, 3.5, -2], requiresGrad: true)
        check([a, b]) { Tensor.maximum($0[0], $0[1]) }
        check([a, b]) { Tensor.minimum($0[0], $0[1]) }
    }

    func testReductions() {
        let x = input([2, 3, 4])
        check([x]) { $0[0].sum(axis: 1) }
        check([x]) { $0[0].sum(axes: [0, 2], keepDim: true) }
        check([x]) { $0[0].sum(axes: [-1]) }
        check([x]) { $0[0].sum() }
        check([x]) { $0[0].mean(axis: 2, keepDim: true) }
        check([x]) { $0[0].mean() }
        check([x]) { $0[0].max(axis: 1) }
        check([x]) { $0[0].max(axis: -1, keepDim: true) }
        check([x]) { $0[0].max() }
        let b = input([3, 1])
        check([b]) { $0[0].broadcast(to: [2, 3, 4]) }
    }

    func testMatmul() {
        let a = input([3, 4]), b = input([4, 5])
        check([a, b]) { Tensor.matmul($0[0], $0[1]) }
        let at = input([4, 3]), bt = input([5, 4])
        check([at, b]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        check([a, bt]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        check([at, bt]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        let ba = input([2, 3, 4]), bb = input([2, 4, 2])
        check([ba, bb]) { Tensor.matmul($0[0], $0[1]) }
        let q = input([2, 2, 3, 4]), k = input([2, 2, 5, 4])   // attention scores [B,H,Tq,Tk]
        check([q, k]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        let w = input([5, 4])
        check([ba, w]) { Tensor.matmul($0[0], $0[1], transposeB: true) }   // linear over the last axis
        let bta = input([2, 4, 3])
        check([bta, b]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
    }

    func testSoftmax() {
        let x = input([2, 3, 4], scale: 1.5)
        check([x]) { $0[0].softmax(axis: -1) }
        check([x]) { $0[0].softmax(axis: 1) }
        check([x]) { $0[0].logSoftmax(axis: -1) }
        check([x]) { $0[0].logSoftmax(axis: 0) }
    }

    func testEmbeddingGatherWhere() {
        let table = input([5, 3])
        let ids = IntTensor(shape: [2, 3], values: [0, 4, 2, 2, 1, 4])
        check([table]) { Tensor.embedding($0[0], ids) }
        let x = input([2, 3, 4])
        let idx = IntTensor(shape: [2, 3, 2], values: [0, 3, 1, 1, 2, 0, 3, 3, 0, 2, 1, 0])
        check([x]) { $0[0].gather(axis: 2, index: idx) }
        let idx1 = IntTensor(shape: [2, 2, 4], values: (0..<16).map { Int32($0 % 3) })
        check([x]) { $0[0].gather(axis: 1, index: idx1) }
        let cond = Tensor(mask: [true, false, true, false, false, true], shape: [2, 1, 3])
        let a = input([2, 4, 3]), b = input([4, 1])
        check([a, b]) { Tensor.where(cond, $0[0], $0[1]) }
        let mask = Tensor(shape: [2, 1, 3], data: [1, 0, 0, 0, 1, 1])
        check([a]) { $0[0].maskedFill(mask, -1e4) }
    }

    func testLayoutOps() {
        let x = input([2, 3, 5])
        check([x]) { $0[0].padded(axis: 2, before: 2, after: 1) }
        check([x]) { $0[0].padded([(0, 0), (1, 2), (0, 1)], value: 0.5) }
        check([x]) { $0[0].reflectPadded(left: 3, right: 2) }
        check([x]) { $0[0].slice(axis: 2, start: 1, end: 4) }
        check([x]) { $0[0].slice(axis: 1, start: -2) }
        let y = input([2, 2, 5])
        check([x, y]) { Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) }
        check([x]) { xs in
            let parts = xs[0].split(sizes: [2, 3], axis: 2)
            return parts[0].sum(axis: 2, keepDim: true) * parts[1]
        }
        check([x]) { $0[0].chunked(3, axis: 1)[2] }
        check([x, y]) { Tensor.stack([$0[0].slice(axis: 1, start: 0, end: 2), $0[1]], axis: 2) }
        check([x]) { $0[0].permuted([2, 0, 1]) }
        check([x]) { $0[0].transposed(1, 2) }
        check([x]) { $0[0].reshaped([3, -1]).unsqueezed(0).squeezed(0) }
        check([x]) { $0[0].flipped(2) }
        check([x]) { $0[0].flipped(0) }
        check([x]) { $0[0].cumsum(axis: 2) }
        check([x]) { $0[0].cumsum(axis: 1) }
    }

    func testDropoutAndWeightNorm() {
        let x = input([4, 6])
        check([x]) { $0[0].dropout(0.3, generator: RandomGenerator(seed: 7)) }
        let v = input([3, 2, 4]), g = input([3, 1, 1])
        check([v, g]) { Tensor.weightNorm(v: $0[0], g: $0[1]) }
        let vt = input([4, 3, 5]), gt = input([4, 1, 1])        // transposed-conv layout [in, out, k]
        check([vt, gt]) { Tensor.weightNorm(v: $0[0], g: $0[1]) }
    }

    func testLinearModuleGradient() {
        let lin = Linear(4, 3, generator: RandomGenerator(seed: 3))
        let x = input([2, 5, 4])
        check([x, lin.weight, lin.bias!]) { xs in Tensor.matmul(xs[0], xs[1], transposeB: true) + xs[2] }
        // the module itself produces the same graph
        let y = lin(x)
        XCTAssertEqual(y.shape, [2, 5, 3])
    }

    func testCompositeChainWithFanOut() {
        // A tensor feeding several ops: gradients from every path must add up.
        let x = input([3, 4], scale: 0.5)
        check([x]) { xs in
            let h = xs[0].tanh()
            return (h * h.sigmoid()).softmax(axis: 1) + h.sum(axis: 0, keepDim: true)
        }
    }
}
