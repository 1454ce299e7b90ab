import XCTest
import Engine

/// The ConvFlow spline against the VITS reference (Fixtures/spline.json, made by
/// scripts/fixtures/engine_spline.py from jaywalnut310/vits transforms.py), plus finite differences
/// and the inverse round trip.
final class SplineTests: XCTestCase {
    struct Case { let inputs, outputs, logabsdet, gInputs, gWidths, gHeights, gDerivatives: [Float] }

    var shape: [Int] = [], bins = 0
    var widths: [Float] = [], heights: [Float] = [], derivatives: [Float] = [], probeOut: [Float] = [], probeLad: [Float] = []
    var forward: Case!, inverse: Case!

    override func setUpWithError() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "spline", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func floats(_ a: Any?) -> [Float] { (a as? [Any] ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? .nan) } }
        func readCase(_ a: Any?) throws -> Case {
            let d = try XCTUnwrap(a as? [String: Any])
            return Case(inputs: floats(d["inputs"]), outputs: floats(d["outputs"]), logabsdet: floats(d["logabsdet"]),
                        gInputs: floats(d["grad_inputs"]), gWidths: floats(d["grad_widths"]),
                        gHeights: floats(d["grad_heights"]), gDerivatives: floats(d["grad_derivatives"]))
        }
        shape = try XCTUnwrap(root["shape"] as? [Int]); bins = try XCTUnwrap(root["bins"] as? Int)
        widths = floats(root["widths"]); heights = floats(root["heights"]); derivatives = floats(root["derivatives"])
        probeOut = floats(root["probe_outputs"]); probeLad = floats(root["probe_logabsdet"])
        forward = try readCase(root["forward"]); inverse = try readCase(root["inverse"])
    }

    func assertClose(_ got: [Float], _ want: [Float], atol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        let scale = want.map { abs($0) }.max() ?? 1
        var worst: Float = 0
        for (a, b) in zip(got, want) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThanOrEqual(worst, atol * max(scale, 1), "\(what): max error \(worst) (max |ref| \(scale))", file: file, line: line)
    }

    func run(_ c: Case, inverse inv: Bool) {
        let x = Tensor(shape: shape, data: c.inputs, requiresGrad: true)
        let uw = Tensor(shape: shape + [bins], data: widths, requiresGrad: true)
        let uh = Tensor(shape: shape + [bins], data: heights, requiresGrad: true)
        let ud = Tensor(shape: shape + [bins - 1], data: derivatives, requiresGrad: true)
        let (y, lad) = RationalQuadraticSpline.transform(x, widths: uw, heights: uh, derivatives: ud, inverse: inv)
        assertClose(y.scalars, c.outputs, atol: 1e-5, "outputs")
        assertClose(lad.scalars, c.logabsdet, atol: 1e-5, "logabsdet")
        (y * Tensor(shape: shape, data: probeOut) + lad * Tensor(shape: shape, data: probeLad)).sum().backward()
        assertClose(x.grad!.scalars, c.gInputs, atol: 1e-4, "grad inputs")
        assertClose(uw.grad!.scalars, c.gWidths, atol: 1e-4, "grad widths")
        assertClose(uh.grad!.scalars, c.gHeights, atol: 1e-4, "grad heights")
        assertClose(ud.grad!.scalars, c.gDerivatives, atol: 1e-4, "grad derivatives")
    }

    func testForwardMatchesReference() { run(forward, inverse: false) }
    func testInverseMatchesReference() { run(inverse, inverse: true) }

    func testInverseUndoesForward() {
        let x = Tensor(shape: shape, data: forward.inputs)
        let uw = Tensor(shape: shape + [bins], data: widths), uh = Tensor(shape: shape + [bins], data: heights)
        let ud = Tensor(shape: shape + [bins - 1], data: derivatives)
        let (y, lad) = RationalQuadraticSpline.transform(x, widths: uw, heights: uh, derivatives: ud)
        let (back, ladInv) = RationalQuadraticSpline.transform(y, widths: uw, heights: uh, derivatives: ud, inverse: true)
        assertClose(back.scalars, x.scalars, atol: 1e-5, "round trip")
        assertClose((lad + ladInv).scalars, [Float](repeating: 0, count: x.count), atol: 1e-4, "log-dets cancel")
        XCTAssertTrue(forward.inputs.contains { abs($0) > 5 }, "fixture exercises the linear tails")
    }

    func testFiniteDifferenceGradients() {
        let rng = RandomGenerator(seed: 99)
        let x = rng.uniform([2, 4], low: -4.5, high: 4.5); x.requiresGrad = true
        let uw = rng.randn([2, 4, 6]); uw.requiresGrad = true
        let uh = rng.randn([2, 4, 6]); uh.requiresGrad = true
        let ud = rng.randn([2, 4, 5]); ud.requiresGrad = true
        for inv in [false, true] {
            let reports = GradientCheck.run(inputs: [x, uw, uh, ud]) { t in
                let (y, lad) = RationalQuadraticSpline.transform(t[0], widths: t[1], heights: t[2], derivatives: t[3], inverse: inv)
                return Tensor.concat([y, lad], axis: 0)
            }
            for (i, r) in reports.enumerated() { XCTAssertLessThan(r.relativeError, 2e-2, "inverse \(inv) input \(i)") }
        }
    }
}
