import XCTest
import Engine

/// `sliceSegments` (commons.slice_segments): values against a naive index loop, backward against
/// finite differences and against the explicit scatter.
final class SliceSegmentsTests: XCTestCase {
    func testForwardMatchesIndexLoop() {
        let rng = RandomGenerator(seed: 7)
        let x = rng.randn([3, 4, 11])
        let starts = [0, 5, 3], size = 6
        let y = sliceSegments(x, starts: starts, size: size)
        XCTAssertEqual(y.shape, [3, 4, 6])
        for b in 0..<3 {
            for c in 0..<4 {
                for t in 0..<size {
                    XCTAssertEqual(y.pointer[(b * 4 + c) * size + t], x.pointer[(b * 4 + c) * 11 + starts[b] + t])
                }
            }
        }
    }

    func testWholeAxisAndEmptyWindow() {
        let x = RandomGenerator(seed: 3).randn([2, 1, 5])
        XCTAssertEqual(sliceSegments(x, starts: [0, 0], size: 5).scalars, x.scalars)
        XCTAssertEqual(sliceSegments(x, starts: [5, 2], size: 0).shape, [2, 1, 0])
    }

    func testBackwardScattersIntoZeros() {
        let x = RandomGenerator(seed: 11).randn([2, 3, 9])
        x.requiresGrad = true
        let starts = [4, 1], size = 3
        let y = sliceSegments(x, starts: starts, size: size)
        let upstream = RandomGenerator(seed: 12).randn(y.shape)
        y.backward(gradient: upstream)
        let g = try! XCTUnwrap(x.grad)
        for b in 0..<2 {
            for c in 0..<3 {
                for t in 0..<9 {
                    let inside = t >= starts[b] && t < starts[b] + size
                    let expected = inside ? upstream.pointer[(b * 3 + c) * size + t - starts[b]] : 0
                    XCTAssertEqual(g.pointer[(b * 3 + c) * 9 + t], expected)
                }
            }
        }
    }

    func testGradientCheck() {
        let x = RandomGenerator(seed: 5).randn([2, 2, 8])
        x.requiresGrad = true
        // A nonlinear consumer so the check probes more than a copy.
        let reports = GradientCheck.run(inputs: [x]) { sliceSegments($0[0], starts: [1, 4], size: 4).square() }
        XCTAssertLessThan(reports[0].relativeError, 1e-2)
        XCTAssertTrue(reports[0].numeric.contains { $0 != 0 })
        XCTAssertTrue(reports[0].analytic.contains { $0 == 0 }, "elements outside every window get no gradient")
    }

    func testNoGraphUnderNoGrad() {
        let x = RandomGenerator(seed: 1).randn([1, 1, 4])
        x.requiresGrad = true
        let y = noGrad { sliceSegments(x, starts: [1], size: 2) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.node)
    }
}
