import Foundation
import XCTest
import Engine

/// Large shapes that take the chunked, two-core paths (several im2col blocks per batch item),
/// against a direct convolution written out in the test; vector math against libm in Double;
/// NaN/Inf behaviour; and flat memory over repeated training steps.
final class KernelPathTests: XCTestCase {
    override func setUp() { Engine.configure() }

    /// y[b, co, o] = Σ w[co, ci, k] · x[b, g·cinG + ci, o·s − p + k·d] + bias, in Double.
    func directConv1d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride s: Int, padding p: Int, dilation d: Int,
                      groups: Int) -> [Double] {
        let (batch, cin, t) = (x.shape[0], x.shape[1], x.shape[2])
        let (cout, cinG, k) = (w.shape[0], w.shape[1], w.shape[2])
        let coutG = cout / groups
        let tout = (t + 2 * p - d * (k - 1) - 1) / s + 1
        let xs = x.scalars, ws = w.scalars, bs = bias?.scalars
        var y = [Double](repeating: 0, count: batch * cout * tout)
        for b in 0..<batch {
            for co in 0..<cout {
                let g = co / coutG
                for o in 0..<tout {
                    var acc = bs.map { Double($0[co]) } ?? 0
                    for ci in 0..<cinG {
                        for kk in 0..<k {
                            let ti = o * s - p + kk * d
                            if ti < 0 || ti >= t { continue }
                            acc += Double(ws[(co * cinG + ci) * k + kk]) * Double(xs[(b * cin + g * cinG + ci) * t + ti])
                        }
                    }
                    y[(b * cout + co) * tout + o] = acc
                }
            }
        }
        _ = cin
        return y
    }

    func assertClose(_ got: [Float], _ want: [Double], tolerance: Double, _ what: String) {
        XCTAssertEqual(got.count, want.count, what)
        var maxErr = 0.0, scale = 1e-12
        for i in 0..<min(got.count, want.count) {
            maxErr = max(maxErr, abs(Double(got[i]) - want[i]))
            scale = max(scale, abs(want[i]))
        }
        XCTAssertLessThan(maxErr / scale, tolerance, "\(what): max abs error \(maxErr) of \(scale)")
    }

    func testChunkedConv1dMatchesDirect() {
        // 32·9 im2col rows × 2400 columns exceeds one scratch block: several chunks per item.
        let x = KernelGradientTests.random([1, 32, 2400], seed: 1)
        let w = KernelGradientTests.random([24, 16, 9], seed: 2, scale: 0.2)
        let b = KernelGradientTests.random([24], seed: 3)
        let y = conv1d(x, weight: w, bias: b, stride: 2, padding: 8, dilation: 2, groups: 2)
        assertClose(y.scalars, directConv1d(x, w, b, stride: 2, padding: 8, dilation: 2, groups: 2),
                    tolerance: 1e-5, "chunked conv1d")

        // Input gradient = transposed conv of the output gradient: check the chunked gather
        // through the adjoint identity <conv(x), g> = <x, convᵀ(g)> on the same shapes.
        let g = KernelGradientTests.random(y.shape, seed: 4)
        g.requiresGrad = false
        y.backward(gradient: g)
        let xs = x.scalars, gs = g.scalars, ys = noGrad { conv1d(x, weight: w, stride: 2, padding: 8, dilation: 2, groups: 2) }.scalars
        let dx = x.grad!.scalars
        var lhs = 0.0, rhs = 0.0
        for i in ys.indices { lhs += Double(ys[i]) * Double(gs[i]) }
        for i in xs.indices { rhs += Double(xs[i]) * Double(dx[i]) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
    }

    func testChunkedConvTransposeIsAdjointOfConv() {
        // convTranspose1d(g; W) must equal the input gradient of conv1d(·; W) with the same geometry.
        let (cin, cout, k, s, p) = (48, 40, 16, 8, 4)
        let tin = 300
        let x = KernelGradientTests.random([2, cin, tin], seed: 5)
        let w = KernelGradientTests.random([cin, cout, k], seed: 6, scale: 0.2)
        let y = noGrad { convTranspose1d(x, weight: w, stride: s, padding: p) }
        XCTAssertEqual(y.shape, [2, cout, (tin - 1) * s - 2 * p + k])
        // <convT(x), z> == <x, conv1d(z; W)>: conv1d with weight [Cin, Cout, K] maps Cout → Cin channels.
        let z = KernelGradientTests.random(y.shape, seed: 7)
        let cz = directConv1d(z, w, nil, stride: s, padding: p, dilation: 1, groups: 1)
        let ys = y.scalars, zs = z.scalars, xs = x.scalars
        var lhs = 0.0, rhs = 0.0
        for i in ys.indices { lhs += Double(ys[i]) * Double(zs[i]) }
        for i in xs.indices { rhs += Double(xs[i]) * cz[i] }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
    }

    func testVectorMathAgainstLibm() {
        let n = 4099   // not a multiple of 8: exercises the tail
        var xs = [Float](repeating: 0, count: n)
        for i in 0..<n { xs[i] = Float(i - n / 2) * 0.013 }
        let src = Tensor(shape: [n], data: xs), dst = Tensor(zeros: [n])
        func maxRelError(_ f: VectorMath.Unary, _ truth: (Double) -> Double, domain: (Float) -> Float = { $0 }) -> Double {
            let input = Tensor(shape: [n], data: xs.map(domain))
            VectorMath.apply(f, input.pointer, dst.pointer, count: n)
            var worst = 0.0
            for i in 0..<n {
                let want = truth(Double(input.pointer[i]))
                worst = max(worst, abs(Double(dst.pointer[i]) - want) / max(abs(want), 1e-30))
            }
            return worst
        }
        XCTAssertLessThan(maxRelError(VectorMath.exp, Foundation.exp), 1e-6)
        XCTAssertLessThan(maxRelError(VectorMath.log, Foundation.log, domain: { abs($0) + 1e-3 }), 1e-6)
        XCTAssertLessThan(maxRelError(VectorMath.tanh, Foundation.tanh), 1e-6)
        XCTAssertLessThan(maxRelError(VectorMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }), 1e-6)
        XCTAssertLessThan(maxRelError(VectorMath.softplus, { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) }), 1e-6)
        _ = src
    }

    /// -ffast-math is built with -fno-finite-math-only: NaN and ±Inf behave as in PyTorch.
    func testNonFiniteValues() {
        let special: [Float] = [.nan, .infinity, -.infinity, 0, 100, -100, 30, -30, 1]
        let x = Tensor(shape: [special.count], data: special), y = Tensor(zeros: [special.count])
        func run(_ f: VectorMath.Unary) -> [Float] {
            VectorMath.apply(f, x.pointer, y.pointer, count: special.count)
            return y.scalars
        }
        let tanh = run(VectorMath.tanh)
        XCTAssertTrue(tanh[0].isNaN)
        XCTAssertEqual(Array(tanh[1...6]), [1, -1, 0, 1, -1, 1])
        let sigmoid = run(VectorMath.sigmoid)
        XCTAssertTrue(sigmoid[0].isNaN)
        XCTAssertEqual(Array(sigmoid[1...5]), [1, 0, 0.5, 1, 0])
        let softplus = run(VectorMath.softplus)
        XCTAssertTrue(softplus[0].isNaN)
        XCTAssertEqual(softplus[1], .infinity)
        XCTAssertEqual(softplus[2], 0)
        XCTAssertEqual(softplus[4], 100)
        XCTAssertEqual(softplus[6], 30)       // above the threshold: identity, as torch
        let exp = run(VectorMath.exp)
        XCTAssertTrue(exp[0].isNaN)
        XCTAssertEqual(exp[1], .infinity)
        XCTAssertEqual(exp[2], 0)
        XCTAssertEqual(exp[4], .infinity)     // overflow
        let log = run(VectorMath.log)
        XCTAssertTrue(log[0].isNaN)
        XCTAssertEqual(log[1], .infinity)
        XCTAssertTrue(log[2].isNaN)           // log of a negative number
        XCTAssertEqual(log[3], -.infinity)
        let lrelu = noGrad { leakyRelu(x, slope: 0.1) }.scalars
        XCTAssertTrue(lrelu[0].isNaN)
        XCTAssertEqual(Array(lrelu[1...5]), [.infinity, -.infinity, 0, 100, -10])
        let gateInput = Tensor(shape: [1, 2, 3], data: [.nan, .infinity, -.infinity, 1, .infinity, .infinity])
        let gate = noGrad { tanhSigmoidGate(gateInput) }.scalars
        XCTAssertTrue(gate[0].isNaN)
        XCTAssertEqual(Array(gate[1...2]), [1, -1])
    }

    /// Resident memory of the process (pages in /proc/self/statm × page size).
    func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testRepeatedTrainingStepsKeepMemoryFlat() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/statm") else { throw XCTSkip("needs /proc") }
        let x = KernelGradientTests.random([2, 64, 1024], seed: 8)
        let w1 = KernelGradientTests.random([64, 64, 3], seed: 9, scale: 0.1)
        let w2 = KernelGradientTests.random([32, 64, 16], seed: 10, scale: 0.1)
        let gamma = KernelGradientTests.random([64], seed: 11, offset: 1), beta = KernelGradientTests.random([64], seed: 12)
        func step() {
            let h = conv1d(x, weight: w1, padding: 3, dilation: 3)
            let a = tanhSigmoidGate(h)
            let u = convTranspose1d(a, weight: w2, stride: 8, padding: 4)
            let n = layerNormChannels(leakyRelu(u, slope: 0.1), gamma: gamma, beta: beta)
            n.backward(gradient: Tensor(repeating: 1e-3, shape: n.shape))
            for p in [x, w1, w2, gamma, beta] { p.zeroGrad() }
        }
        // glibc returns and re-takes freed blocks in bursts, so single readings swing by a few
        // step sizes: compare the peak over a warm window with the peak over a later, longer one.
        var warmPeak = 0
        for _ in 0..<8 { step(); warmPeak = max(warmPeak, residentBytes()) }
        let pool = ScratchPool.shared.idleBytes
        var latePeak = 0
        for _ in 0..<24 { step(); latePeak = max(latePeak, residentBytes()) }
        XCTAssertEqual(ScratchPool.shared.idleBytes, pool, "scratch pool grew in steady state")
        // One step allocates ~10 MB of activations and gradients; 24 leaking steps would add ~240 MB.
        XCTAssertLessThan(latePeak - warmPeak, 16 << 20, "peak resident memory grew by \(latePeak - warmPeak) bytes")
    }

    func testBufferCacheReusesLargeBlocksAndBypassesSmallOnes() {
        let cache = BufferCache()
        let big = cache.allocate(bytes: 1 << 20)
        cache.deallocate(big.pointer, bytes: big.bytes)
        XCTAssertEqual(cache.idleBytes, 1 << 20)
        // A slightly smaller request reuses the block; a much smaller one does not.
        let again = cache.allocate(bytes: (1 << 20) - 4096)
        XCTAssertEqual(again.pointer, big.pointer)
        XCTAssertEqual(again.bytes, 1 << 20)
        XCTAssertEqual(cache.idleBytes, 0)
        cache.deallocate(again.pointer, bytes: again.bytes)
        let half = cache.allocate(bytes: 1 << 19)
        XCTAssertNotEqual(half.pointer, big.pointer)
        XCTAssertEqual(Int(bitPattern: half.pointer) % BufferCache.alignment, 0)
        cache.deallocate(half.pointer, bytes: half.bytes)
        XCTAssertEqual(cache.idleBytes, (1 << 20) + (1 << 19))
        let small = cache.allocate(bytes: 1024)
        cache.deallocate(small.pointer, bytes: small.bytes)
        XCTAssertEqual(cache.idleBytes, (1 << 20) + (1 << 19), "small blocks are not cached")
        cache.trim()
        XCTAssertEqual(cache.idleBytes, 0)
        // Beyond capacity the oldest idle blocks are freed.
        let bounded = BufferCache(capacityBytes: 1 << 20)
        let a = bounded.allocate(bytes: 600 << 10), b = bounded.allocate(bytes: 700 << 10)
        bounded.deallocate(a.pointer, bytes: a.bytes)
        bounded.deallocate(b.pointer, bytes: b.bytes)
        XCTAssertEqual(bounded.idleBytes, 700 << 10)
        bounded.trim()
    }
}
