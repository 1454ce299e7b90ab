import Foundation
import XCTest
import Engine

/// Finite-difference gradient checks of every kernel op, over the argument variants VITS uses.
final class KernelGradientTests: XCTestCase {
    override func setUp() { Engine.configure() }

    /// Deterministic values in [-scale, scale).
    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1, offset: Float = 0) -> Tensor {
        var state = seed
        let n = shape.reduce(1, *)
        var data = [Float](repeating: 0, count: n)
        for i in 0..<n {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            data[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale + offset
        }
        return Tensor(shape: shape, data: data, requiresGrad: true)
    }

    func check(_ name: String, _ inputs: [Tensor], tolerance: Float = 5e-3, _ f: ([Tensor]) -> Tensor) {
        let reports = GradientCheck.run(inputs: inputs, f)
        for (i, r) in reports.enumerated() where inputs[i].requiresGrad {
            XCTAssertLessThan(r.relativeError, tolerance, "\(name): input \(i) max abs error \(r.maxAbsError)")
        }
    }

    func testConv1dVariants() {
        // (Cin, T, Cout, K, stride, padding, dilation, groups)
        let variants: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (3, 9, 4, 3, 1, 1, 1, 1),     // same padding
            (4, 12, 4, 3, 1, 3, 3, 1),    // dilated WN/ResBlock conv
            (4, 11, 6, 3, 2, 2, 2, 2),    // stride + dilation + groups
            (6, 7, 6, 5, 1, 2, 1, 6),     // depthwise (DDSConv)
            (4, 8, 2, 1, 1, 0, 1, 1),     // pointwise fast path
            (4, 9, 4, 1, 2, 1, 1, 2),     // k = 1 but strided and padded: general path
            (2, 15, 4, 41, 4, 20, 1, 2),  // DiscriminatorS-style long kernel, stride 4
            (8, 3, 8, 5, 1, 2, 1, 1),     // weight larger than the data: row-split weight gradient
        ]
        for (n, v) in variants.enumerated() {
            let (cin, t, cout, k, s, p, d, g) = v
            let x = Self.random([2, cin, t], seed: UInt64(10 + n))
            let w = Self.random([cout, cin / g, k], seed: UInt64(20 + n), scale: 0.5)
            let b = Self.random([cout], seed: UInt64(30 + n))
            check("conv1d \(v)", [x, w, b]) { conv1d($0[0], weight: $0[1], bias: $0[2], stride: s, padding: p, dilation: d, groups: g) }
        }
        let x = Self.random([1, 3, 6], seed: 1), w = Self.random([2, 3, 3], seed: 2)
        check("conv1d no bias", [x, w]) { conv1d($0[0], weight: $0[1], padding: 1) }
    }

    func testConvTranspose1dVariants() {
        // (Cin, T, Cout, K, stride, padding, outputPadding, groups, dilation)
        let variants: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (4, 4, 3, 16, 8, 4, 0, 1, 1),   // HiFi-GAN upsampler (k = 2u, p = (k − u)/2)
            (3, 5, 2, 4, 2, 1, 1, 1, 1),    // output padding
            (4, 5, 6, 3, 2, 1, 0, 2, 1),    // groups
            (2, 4, 3, 3, 3, 2, 2, 1, 2),    // dilation, output padding < dilation
            (3, 6, 3, 1, 1, 0, 0, 1, 1),    // pointwise fast path
            (2, 3, 2, 5, 1, 0, 0, 1, 1),    // stride 1, no padding: output longer than input
            (8, 2, 6, 16, 8, 4, 0, 1, 1),   // weight larger than the data: row-split weight gradient
        ]
        for (n, v) in variants.enumerated() {
            let (cin, t, cout, k, s, p, op, g, d) = v
            let x = Self.random([2, cin, t], seed: UInt64(40 + n))
            let w = Self.random([cin, cout / g, k], seed: UInt64(50 + n), scale: 0.5)
            let b = Self.random([cout], seed: UInt64(60 + n))
            check("convTranspose1d \(v)", [x, w, b]) {
                convTranspose1d($0[0], weight: $0[1], bias: $0[2], stride: s, padding: p, outputPadding: op, groups: g, dilation: d)
            }
        }
    }

    func testConv2dK1Variants() {
        // (Cin, H, W, Cout, K, stride, padding)
        for (n, v) in [(2, 11, 3, 3, 5, 3, 2), (3, 7, 2, 2, 3, 1, 1), (2, 5, 4, 1, 3, 1, 1), (3, 4, 5, 2, 1, 1, 0)].enumerated() {
            let (cin, h, wd, cout, k, s, p) = v
            let x = Self.random([2, cin, h, wd], seed: UInt64(70 + n))
            let w = Self.random([cout, cin, k, 1], seed: UInt64(80 + n), scale: 0.5)
            let b = Self.random([cout], seed: UInt64(90 + n))
            check("conv2dK1 \(v)", [x, w, b]) { conv2dK1($0[0], weight: $0[1], bias: $0[2], stride: s, padding: p) }
        }
    }

    func testLayerNormChannels() {
        let x = Self.random([2, 5, 7], seed: 100, scale: 2, offset: 0.5)
        let gamma = Self.random([5], seed: 101, offset: 1), beta = Self.random([5], seed: 102)
        check("layerNormChannels", [x, gamma, beta], tolerance: 1e-2) { layerNormChannels($0[0], gamma: $0[1], beta: $0[2]) }
    }

    func testGateLeakyReluAddMasked() {
        let a = Self.random([2, 6, 5], seed: 110, scale: 2)
        let cond = Self.random([2, 6, 1], seed: 111)
        check("tanhSigmoidGate", [a, cond]) { tanhSigmoidGate($0[0], condition: $0[1]) }
        check("tanhSigmoidGate no condition", [a]) { tanhSigmoidGate($0[0]) }
        // keep inputs away from the kink at 0, where finite differences straddle both slopes
        let x = Self.random([3, 4, 5], seed: 112, scale: 2)
        for i in 0..<x.count where abs(x.pointer[i]) < 0.05 { x.pointer[i] = 0.3 }
        check("leakyRelu", [x]) { leakyRelu($0[0], slope: 0.1) }
        let y = Self.random([3, 4, 5], seed: 113)
        let mask = Tensor(shape: [3, 1, 5], data: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        check("addMasked", [x, y]) { addMasked($0[0], $0[1], mask: mask) }
        let masked = noGrad { addMasked(x, y, mask: mask) }
        XCTAssertEqual(masked.pointer[3], 0)
        XCTAssertEqual(masked.pointer[0], x.pointer[0] + y.pointer[0])
    }

    /// Gradients flow only to the inputs that ask for them, and the op is not recorded without any.
    func testGradientSelection() {
        let x = Self.random([1, 2, 6], seed: 120)
        x.requiresGrad = false
        let w = Self.random([3, 2, 3], seed: 121)
        let y = conv1d(x, weight: w, padding: 1)
        y.backward(gradient: Tensor(repeating: 1, shape: y.shape))
        XCTAssertNil(x.grad)
        XCTAssertEqual(w.grad?.shape, [3, 2, 3])
        let z = noGrad { conv1d(x, weight: w, padding: 1) }
        XCTAssertNil(z.node)
    }
}
