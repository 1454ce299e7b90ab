import Foundation
import XCTest
import Engine

/// `ConvTranspose1d(boxWidth: rate)`, the `model.upsample_mode` "nearest" layer: checked against its
/// definition computed another way (repeat every sample `rate` times, then a plain "same" convolution),
/// against the property it exists for (a constant input stays constant), and by finite differences.
final class NearestUpsamplingTests: XCTestCase {
    override func setUp() { Engine.configure() }

    /// Repeats every time step of x [B, C, T] `rate` times, element by element (no engine op involved).
    static func repeated(_ x: Tensor, rate: Int) -> Tensor {
        let (b, c, t) = (x.shape[0], x.shape[1], x.shape[2])
        var out = [Float](repeating: 0, count: b * c * t * rate)
        for row in 0..<(b * c) {
            for i in 0..<(t * rate) { out[row * t * rate + i] = x.pointer[row * t + i / rate] }
        }
        return Tensor(shape: [b, c, t * rate], data: out)
    }

    /// w [in, out, k] (transposed layout) → the cross-correlation kernel [out, in, k] of the equivalent
    /// convolution: transposed convolution is a true convolution, so the taps are reversed.
    static func flippedToConvLayout(_ w: Tensor) -> Tensor {
        let (cin, cout, k) = (w.shape[0], w.shape[1], w.shape[2])
        var out = [Float](repeating: 0, count: w.count)
        for i in 0..<cin { for o in 0..<cout { for j in 0..<k {
            out[(o * cin + i) * k + j] = w.pointer[(i * cout + o) * k + (k - 1 - j)]
        } } }
        return Tensor(shape: [cout, cin, k], data: out)
    }

    func testEqualsRepeatingThenConvolvingWithSamePadding() {
        // (in, out, rate, kernel, length): the decoder's shapes in small, kernel shorter and longer than the rate.
        for (n, (cin, cout, rate, k, t)) in [(3, 2, 4, 5, 6), (4, 3, 8, 15, 5), (2, 2, 2, 3, 7), (3, 5, 3, 1, 4)].enumerated() {
            let generator = RandomGenerator(seed: UInt64(40 + n))
            let layer = ConvTranspose1d(cin, cout, kernelSize: k, stride: rate, padding: (k - 1) / 2, weightNorm: true,
                                        boxWidth: rate, generator: generator)
            let x = generator.normal([2, cin, t], std: 1)
            let y = noGrad { layer(x) }
            XCTAssertEqual(y.shape, [2, cout, t * rate], "case \(n)")
            let expected = noGrad {
                conv1d(Self.repeated(x, rate: rate), weight: Self.flippedToConvLayout(layer.effectiveWeight), bias: layer.bias,
                       padding: (k - 1) / 2)
            }
            let worst = zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-5, "case \(n): box-summed transposed conv differs from repeat + conv by \(worst)")
        }
    }

    func testAConstantInputGivesAConstantOutputAwayFromTheEdges() {
        let (rate, k, t) = (8, 15, 12)
        let generator = RandomGenerator(seed: 7)
        let nearest = ConvTranspose1d(4, 3, kernelSize: k, stride: rate, padding: (k - 1) / 2, boxWidth: rate, generator: generator)
        // The reference layer with the same rate (kernel 2·rate): its output repeats a pattern every input step.
        let transposed = ConvTranspose1d(4, 3, kernelSize: 2 * rate, stride: rate, padding: rate / 2, generator: generator)
        let x = Tensor(repeating: 0.7, shape: [1, 4, t])
        func spread(_ layer: ConvTranspose1d, margin: Int) -> Float {
            let y = noGrad { layer(x) }
            var worst: Float = 0
            for o in 0..<3 {
                let row = Array(y.scalars[(o * t * rate + margin)..<((o + 1) * t * rate - margin)])
                worst = max(worst, (row.max() ?? 0) - (row.min() ?? 0))
            }
            return worst
        }
        XCTAssertLessThan(spread(nearest, margin: k), 1e-5)
        XCTAssertGreaterThan(spread(transposed, margin: 2 * rate), 1e-2, "the free transposed conv should ripple (the check can fail)")
    }

    func testGradientsOfInputWeightAndBiasByFiniteDifferences() {
        let x = KernelGradientTests.random([2, 3, 5], seed: 1)
        let w = KernelGradientTests.random([3, 2, 5], seed: 2, scale: 0.5)
        let b = KernelGradientTests.random([2], seed: 3)
        let layer = ConvTranspose1d(3, 2, kernelSize: 5, stride: 4, padding: 2, boxWidth: 4, generator: RandomGenerator(seed: 4))
        let reports = GradientCheck.run(inputs: [x, w, b]) {
            convTranspose1d($0[0], weight: layer.kernel($0[1]), bias: $0[2], stride: 4, padding: 2)
        }
        for (i, r) in reports.enumerated() {
            XCTAssertLessThan(r.relativeError, 5e-3, "input \(i): max abs error \(r.maxAbsError)")
        }
    }
}
