import XCTest
import Engine

/// Exact GELU (erf form, `torch.nn.functional.gelu` default): values against an independent
/// float64 reference, the derivative, gradient check, special values.
final class GeluTests: XCTestCase {
    /// (x, gelu(x), gelu'(x)) computed with scipy 1.17.1 in float64 from the float32 value of x:
    /// gelu = 0.5·x·scipy.special.erfc(−x/√2), gelu' = 0.5·erfc(−x/√2) + x·exp(−x²/2)/√(2π).
    static let reference: [(x: Float, value: Double, slope: Double)] = [
        (-6.0, -5.9195258702e-09, -3.5468709454e-08),
        (-3.0, -4.0496940949e-03, -1.1945647204e-02),
        (-1.5, -1.0021080190e-01, -1.2746919223e-01),
        (-0.5, -1.5426876936e-01, 1.3250487534e-01),
        (-0.001, -4.9960108150e-04, 4.9920211567e-01),
        (0.0, 0.0, 5.0000000000e-01),
        (0.3, 1.8537343539e-01, 7.3232777551e-01),
        (1.0, 8.4134474607e-01, 1.0833154706e+00),
        (2.5, 2.4844758367e+00, 1.0376110859e+00),
        (6.0, 5.9999999941e+00, 1.0000000355e+00),
    ]

    func testValuesAndSlopesAgainstScipy() {
        let xs = Self.reference.map(\.x)
        let x = Tensor(shape: [xs.count], data: xs, requiresGrad: true)
        let y = x.gelu()
        y.backward(gradient: Tensor(repeating: 1, shape: [xs.count]))
        let slopes = x.grad!.scalars
        for (i, r) in Self.reference.enumerated() {
            // Float32 results: ~1e-6 relative; in the far tail, exp(−x²/2) inherits the rounding of
            // x² (relative error ≈ x²·ulp), so the bound widens there.
            let rel = Swift.abs(r.x) > 4 ? 2e-5 : 1e-6
            XCTAssertEqual(Double(y.scalars[i]), r.value, accuracy: rel * Swift.abs(r.value) + 1e-12, "gelu(\(r.x))")
            XCTAssertEqual(Double(slopes[i]), r.slope, accuracy: rel * Swift.abs(r.slope) + 1e-12, "gelu'(\(r.x))")
        }
    }

    /// A dense sweep against ½x(1 + erf(x/√2)) in Double (glibc erf): max absolute error.
    func testDenseSweepAgainstDoubleErf() {
        let n = 200_001
        let xs = (0..<n).map { Float(-10 + 20 * Double($0) / Double(n - 1)) }
        let y = Tensor(shape: [n], data: xs).gelu().scalars
        var worst = 0.0
        for i in 0..<n {
            let x = Double(xs[i])
            let ref = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            worst = max(worst, Swift.abs(Double(y[i]) - ref))
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testGradientCheck() {
        let rng = RandomGenerator(seed: 7)
        let x = rng.randn([3, 5, 7])
        let p = x.pointer
        for i in 0..<x.count { p[i] *= 2 }
        x.requiresGrad = true
        let report = GradientCheck.run(inputs: [x], epsilon: 1e-3) { $0[0].gelu() }
        XCTAssertLessThan(report[0].relativeError, 1e-2, "max abs error \(report[0].maxAbsError)")
    }

    /// Large tensors take the parallel path; chunk boundaries must not change any value.
    func testParallelChunksMatchSmallCalls() {
        let x = RandomGenerator(seed: 3).randn([3, 40_000])
        let whole = x.gelu().scalars
        for row in 0..<3 {
            let part = x.slice(axis: 0, start: row, end: row + 1).gelu().scalars
            XCTAssertEqual(Array(whole[(row * 40_000)..<((row + 1) * 40_000)]), part)
        }
    }

    func testSpecialValues() {
        let y = Tensor(shape: [4], data: [.infinity, -.infinity, .nan, -40]).gelu().scalars
        XCTAssertEqual(y[0], .infinity)
        XCTAssertTrue(y[1].isNaN)          // −∞·0, as PyTorch
        XCTAssertTrue(y[2].isNaN)
        XCTAssertEqual(y[3], 0)
    }
}
