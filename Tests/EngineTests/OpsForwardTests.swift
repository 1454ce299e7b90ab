import XCTest
import Engine

/// Forward values against hand-computed or naive-loop truth, and broadcasting shapes.
final class OpsForwardTests: XCTestCase {
    func testBroadcastShapesAndValues() {
        let a = Tensor(shape: [2, 1, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [4, 1], data: [10, 20, 30, 40])
        let c = a + b
        XCTAssertEqual(c.shape, [2, 4, 3])
        for i in 0..<2 { for j in 0..<4 { for k in 0..<3 {
            XCTAssertEqual(c.scalars[(i * 4 + j) * 3 + k], a.scalars[i * 3 + k] + b.scalars[j])
        } } }
        XCTAssertEqual((a * Tensor(scalar: 2)).shape, [2, 1, 3])
        XCTAssertEqual((Tensor(zeros: [5, 1, 7]) - Tensor(zeros: [3, 1])).shape, [5, 3, 7])
        XCTAssertEqual(Shape.broadcast([8, 1, 6, 1], [7, 1, 5]), [8, 7, 6, 5])   // numpy docs example
        XCTAssertEqual((Tensor(zeros: [2, 3]) / 2).scalars, [Float](repeating: 0, count: 6))
        XCTAssertEqual(Tensor(shape: [3], data: [1, 2, 3]).divided(by: 3).scalars, [Float(1) / 3, Float(2) / 3, 1])
    }

    func testLargeElementwiseUsesParallelPathCorrectly() {
        let n = 1 << 17
        let x = RandomGenerator(seed: 1).randn([2, n / 2])
        let y = RandomGenerator(seed: 2).randn([1, n / 2])
        let z = x * y
        for i in stride(from: 0, to: n, by: 977) { XCTAssertEqual(z.pointer[i], x.pointer[i] * y.pointer[i % (n / 2)]) }
        let e = x.exp()
        // vectorized libmvec exp: within a few ulp of glibc's scalar expf
        for i in stride(from: 0, to: n, by: 1231) {
            let want = Foundation.exp(x.pointer[i])
            XCTAssertEqual(e.pointer[i], want, accuracy: want * 1e-6)
        }
    }

    func testMatmulAgainstNaiveLoops() {
        let rng = RandomGenerator(seed: 9)
        let a = rng.randn([3, 70, 40]), b = rng.randn([3, 40, 50])
        let c = Tensor.matmul(a, b)
        XCTAssertEqual(c.shape, [3, 70, 50])
        var maxErr: Float = 0
        for bi in 0..<3 { for i in 0..<70 { for j in 0..<50 {
            var s: Float = 0
            for k in 0..<40 { s += a.pointer[(bi * 70 + i) * 40 + k] * b.pointer[(bi * 40 + k) * 50 + j] }
            maxErr = max(maxErr, abs(s - c.pointer[(bi * 70 + i) * 50 + j]))
        } } }
        XCTAssertLessThan(maxErr, 1e-4)
        // one big product (rows split over the cores) equals the product of its halves
        let big = rng.randn([300, 200]), w = rng.randn([200, 100])
        let full = Tensor.matmul(big, w)
        let bottom = Tensor.matmul(big.slice(axis: 0, start: 150, end: 300), w)
        let fullBottom = full.slice(axis: 0, start: 150, end: 300)
        var err: Float = 0
        for i in 0..<bottom.count { err = max(err, abs(bottom.pointer[i] - fullBottom.pointer[i])) }
        XCTAssertLessThan(err, 1e-4)
        // transpose flags agree with explicit transposes
        let t = Tensor.matmul(w, big, transposeA: true, transposeB: true)
        let ref = Tensor.matmul(w.transposed(), big.transposed())
        XCTAssertEqual(t.shape, [100, 300])
        var terr: Float = 0
        for i in 0..<t.count { terr = max(terr, abs(t.pointer[i] - ref.pointer[i])) }
        XCTAssertLessThan(terr, 1e-3)
    }

    func testReductionsSoftmaxAndScans() {
        let x = Tensor(shape: [2, 3], data: [1, 5, 3, -2, 0, 7])
        XCTAssertEqual(x.sum(axis: 0).scalars, [-1, 5, 10])
        XCTAssertEqual(x.sum(axis: 1, keepDim: true).shape, [2, 1])
        XCTAssertEqual(x.sum().item, 14)
        XCTAssertEqual(x.mean(axis: 1).scalars, [3, 5 / 3])
        XCTAssertEqual(x.max(axis: 1).scalars, [5, 7])
        XCTAssertEqual(x.max().item, 7)
        XCTAssertEqual(x.cumsum(axis: 1).scalars, [1, 6, 9, -2, -2, 5])
        let s = x.softmax(axis: 1)
        for r in 0..<2 { XCTAssertEqual(s.scalars[r * 3..<r * 3 + 3].reduce(0, +), 1, accuracy: 1e-6) }
        let ls = x.logSoftmax(axis: 1)
        for i in 0..<6 { XCTAssertEqual(ls.scalars[i], Foundation.log(s.scalars[i]), accuracy: 1e-5) }
        // masked entries: softmax of a -inf row element is exactly 0
        let m = Tensor(shape: [1, 3], data: [0, -.infinity, 1]).softmax()
        XCTAssertEqual(m.scalars[1], 0)
    }

    func testLayoutValues() {
        let x = Tensor(shape: [1, 4], data: [1, 2, 3, 4])
        XCTAssertEqual(x.reflectPadded(left: 2, right: 1).scalars, [3, 2, 1, 2, 3, 4, 3])   // torch F.pad reflect
        XCTAssertEqual(x.padded(axis: 1, before: 1, after: 2, value: 9).scalars, [9, 1, 2, 3, 4, 9, 9])
        XCTAssertEqual(x.flipped(1).scalars, [4, 3, 2, 1])
        XCTAssertEqual(x.slice(axis: 1, start: 1, end: 3).scalars, [2, 3])
        let y = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(y.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(Tensor.concat([y, y.slice(axis: 1, start: 0, end: 1)], axis: 1).scalars, [1, 2, 3, 1, 4, 5, 6, 4])
        XCTAssertEqual(y.gather(axis: 1, index: IntTensor(shape: [2, 2], values: [2, 0, 1, 1])).scalars, [3, 1, 5, 5])
        XCTAssertEqual(Tensor.embedding(y, IntTensor([1, 0, 1])).scalars, [4, 5, 6, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(y.maskedFill(Tensor(shape: [1, 3], data: [0, 1, 0]), -1).scalars, [1, -1, 3, 4, -1, 6])
        XCTAssertEqual(y.unsqueezed(1).shape, [2, 1, 3])
        XCTAssertEqual(y.reshaped([3, 2]).unsqueezed(-1).shape, [3, 2, 1])
        XCTAssertEqual(Tensor(zeros: [1, 3, 1]).squeezed().shape, [3])
        XCTAssertEqual(y.permuted([1, 0]).shape, [3, 2])
        XCTAssertEqual(y.greaterEqual(3).scalars, [0, 0, 1, 1, 1, 1])
        XCTAssertEqual(Tensor.stack([y, y], axis: 1).shape, [2, 2, 3])
        XCTAssertEqual(Tensor.stack([x, x]).scalars, [1, 2, 3, 4, 1, 2, 3, 4])
        XCTAssertEqual(Tensor(shape: [3], data: [-1.5, 0.2, 2]).floor().scalars, [-2, 0, 2])
        XCTAssertEqual(Tensor(shape: [3], data: [-1.5, 0.2, 2]).ceil().scalars, [-1, 1, 2])
    }

    func testDropoutStatistics() {
        let x = Tensor(repeating: 1, shape: [100_000])
        let y = x.dropout(0.25, generator: RandomGenerator(seed: 11))
        let zeros = y.scalars.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / 100_000, 0.25, accuracy: 0.01)
        XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || $0 == Float(1) / 0.75 })
        XCTAssertTrue(x.dropout(0.25, training: false, generator: RandomGenerator(seed: 1)) === x)
    }

    func testWeightNormRowsHaveNormG() {
        let v = RandomGenerator(seed: 5).randn([4, 3, 5])
        let g = Tensor(shape: [4, 1, 1], data: [0.5, 2, -1, 3])
        let w = Tensor.weightNorm(v: v, g: g)
        for r in 0..<4 {
            let row = w.scalars[r * 15..<(r + 1) * 15]
            XCTAssertEqual(row.map { $0 * $0 }.reduce(0, +).squareRoot(), abs(g.scalars[r]), accuracy: 1e-5)
        }
    }
}
