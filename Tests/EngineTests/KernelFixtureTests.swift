import Foundation
import XCTest
import Engine

/// Forward values and gradients of the kernel ops against PyTorch
/// (Fixtures/kernels.json, written by scripts/fixtures/engine_kernels.py; reference computed in float64).
final class KernelFixtureTests: XCTestCase {
    struct FixtureTensor: Decodable {
        let shape: [Int]
        let data: [Float]
        func tensor(requiresGrad: Bool = false) -> Tensor { Tensor(shape: shape, data: data, requiresGrad: requiresGrad) }
    }
    struct Case: Decodable {
        let name: String
        let op: String
        let params: [String: Double]
        let tensors: [String: FixtureTensor]
        func int(_ key: String) -> Int { Int(params[key] ?? 0) }
    }
    struct Fixture: Decodable { let cases: [Case] }

    static func loadCases() throws -> [Case] {
        guard let url = Bundle.module.url(forResource: "kernels", withExtension: "json", subdirectory: "Fixtures") else {
            throw NSError(domain: "KernelFixtureTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "Fixtures/kernels.json missing from the test bundle"])
        }
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).cases
    }

    /// max|got − want| ≤ tolerance · max|want| (with a floor so all-zero references work).
    func assertClose(_ got: Tensor?, _ want: FixtureTensor?, tolerance: Float, _ what: String) {
        guard let want else { return }
        guard let got else { return XCTFail("\(what): no value computed") }
        XCTAssertEqual(got.shape, want.shape, "\(what): shape")
        guard got.shape == want.shape else { return }
        var maxErr: Float = 0, scale: Float = 1e-6
        let values = got.scalars
        for i in values.indices {
            maxErr = max(maxErr, abs(values[i] - want.data[i]))
            scale = max(scale, abs(want.data[i]))
        }
        XCTAssertLessThanOrEqual(maxErr / scale, tolerance, "\(what): max abs error \(maxErr), reference max \(scale)")
    }

    func testAgainstPyTorch() throws {
        Engine.configure()
        let cases = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        var ops = Set<String>()
        for c in cases {
            ops.insert(c.op)
            let t = c.tensors
            guard let inputFixture = t["input"], let probe = t["probe"] else { return XCTFail("\(c.name): missing input/probe") }
            let input = inputFixture.tensor(requiresGrad: true)
            let weight = t["weight"]?.tensor(requiresGrad: true)
            let bias = t["bias"]?.tensor(requiresGrad: true)
            let gamma = t["gamma"]?.tensor(requiresGrad: true)
            let beta = t["beta"]?.tensor(requiresGrad: true)
            let condition = t["condition"]?.tensor(requiresGrad: true)
            let output: Tensor
            switch c.op {
            case "conv1d":
                output = conv1d(input, weight: weight!, bias: bias, stride: c.int("stride"), padding: c.int("padding"),
                                dilation: c.int("dilation"), groups: c.int("groups"))
            case "convTranspose1d":
                output = convTranspose1d(input, weight: weight!, bias: bias, stride: c.int("stride"),
                                         padding: c.int("padding"), outputPadding: c.int("outputPadding"),
                                         groups: c.int("groups"), dilation: c.int("dilation"))
            case "conv2dK1":
                output = conv2dK1(input, weight: weight!, bias: bias, stride: c.int("stride"), padding: c.int("padding"))
            case "layerNormChannels":
                output = layerNormChannels(input, gamma: gamma!, beta: beta!, eps: Float(c.params["eps"] ?? 1e-5))
            case "tanhSigmoidGate":
                output = tanhSigmoidGate(input, condition: condition)
            case "leakyRelu":
                output = leakyRelu(input, slope: Float(c.params["slope"] ?? 0))
            default:
                XCTFail("unknown op \(c.op) in fixture \(c.name)")
                continue
            }
            assertClose(output, t["output"], tolerance: 1e-5, "\(c.name) forward")
            output.backward(gradient: probe.tensor())
            assertClose(input.grad, t["grad_input"], tolerance: 1e-4, "\(c.name) d/input")
            assertClose(weight?.grad, t["grad_weight"], tolerance: 1e-4, "\(c.name) d/weight")
            assertClose(bias?.grad, t["grad_bias"], tolerance: 1e-4, "\(c.name) d/bias")
            assertClose(gamma?.grad, t["grad_gamma"], tolerance: 1e-4, "\(c.name) d/gamma")
            assertClose(beta?.grad, t["grad_beta"], tolerance: 1e-4, "\(c.name) d/beta")
            assertClose(condition?.grad, t["grad_condition"], tolerance: 1e-4, "\(c.name) d/condition")
        }
        XCTAssertEqual(ops, ["conv1d", "convTranspose1d", "conv2dK1", "layerNormChannels", "tanhSigmoidGate", "leakyRelu"])
    }
}
