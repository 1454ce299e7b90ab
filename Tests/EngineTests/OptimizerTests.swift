import XCTest
import Engine

/// Optimizers against trajectories recorded from PyTorch (Fixtures/optim.json, made by
/// scripts/fixtures/engine_optim.py), plus bit-exact state round trips.
final class OptimizerTests: XCTestCase {
    struct Fixture {
        let shapes: [String: [Int]]
        let names: [String]
        let initial: [String: [Float]]
        let grads: [[String: [Float]?]]
        let cases: [[String: Any]]
        let clip: [String: Any]
        let exponentialLR: [String: Any]
    }

    static func floats(_ any: Any?) -> [Float] { (any as? [Any] ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? .nan) } }

    func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "optim", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let shapes = try XCTUnwrap(root["shapes"] as? [String: [Int]])
        let initial = try XCTUnwrap(root["initial"] as? [String: Any]).mapValues { Self.floats($0) }
        let grads = try XCTUnwrap(root["grads"] as? [[String: Any]]).map { step in
            step.mapValues { $0 is NSNull ? nil : Self.floats($0) } as [String: [Float]?]
        }
        return Fixture(shapes: shapes, names: ["enc.weight", "enc.bias", "dec.0.weight_g"], initial: initial, grads: grads,
                       cases: try XCTUnwrap(root["cases"] as? [[String: Any]]),
                       clip: try XCTUnwrap(root["clip"] as? [String: Any]),
                       exponentialLR: try XCTUnwrap(root["exponential_lr"] as? [String: Any]))
    }

    func makeParams(_ f: Fixture) -> [(String, Tensor)] {
        f.names.map { ($0, Tensor(shape: f.shapes[$0]!, data: f.initial[$0]!, requiresGrad: true)) }
    }

    func setGrads(_ params: [(String, Tensor)], _ step: [String: [Float]?]) {
        for (name, p) in params {
            if let g = step[name] ?? nil { p.grad = Tensor(shape: p.shape, data: g) } else { p.grad = nil }
        }
    }

    func assertClose(_ got: [Float], _ want: [Float], rel: Float, _ msg: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, msg, file: file, line: line)
        for (a, b) in zip(got, want) where abs(a - b) > rel * max(abs(b), 1e-3) {
            XCTFail("\(msg): \(a) vs \(b)", file: file, line: line); return
        }
    }

    func makeAdamW(_ c: [String: Any], _ params: [(String, Tensor)]) -> AdamW {
        let betas = (c["betas"] as? [Double]) ?? [0.9, 0.999]
        return AdamW(parameters: params, learningRate: c["lr"] as! Double, betas: (betas[0], betas[1]),
                     eps: c["eps"] as! Double, weightDecay: c["weight_decay"] as! Double)
    }

    func testAdamWMatchesPyTorchTrajectories() throws {
        let f = try loadFixture()
        let adamCases = f.cases.filter { $0["optimizer"] as? String == "adamw" }
        XCTAssertEqual(adamCases.count, 3)
        for (ci, c) in adamCases.enumerated() {
            let params = makeParams(f)
            let opt = makeAdamW(c, params)
            let traj = try XCTUnwrap(c["trajectory"] as? [[String: Any]])
            for (t, grads) in f.grads.enumerated() {
                setGrads(params, grads)
                opt.step()
                for (name, p) in params { assertClose(p.scalars, Self.floats(traj[t][name]), rel: 1e-6, "case \(ci) step \(t + 1) \(name)") }
            }
            // the exported state equals torch's optimizer state
            let state = opt.stateTensors()
            let want = try XCTUnwrap(c["state"] as? [String: [String: Any]])
            for name in f.names {
                XCTAssertEqual(state[name + ".step"]?.item, Float((want[name]?["step"] as? Double) ?? -1), name)
                assertClose(state[name + ".exp_avg"]!.scalars, Self.floats(want[name]?["exp_avg"]), rel: 1e-6, "\(name) exp_avg")
                assertClose(state[name + ".exp_avg_sq"]!.scalars, Self.floats(want[name]?["exp_avg_sq"]), rel: 1e-6, "\(name) exp_avg_sq")
            }
            XCTAssertEqual(state["enc.bias.step"]?.item, Float(f.grads.count - 2))   // skipped twice without grad
        }
    }

    /// The vectorized update (8 lanes + scalar tail) gives exactly the bits of torch's AdamW formula
    /// written out element by element in IEEE float: lerp as one fused multiply-add, no other fusion.
    func testAdamWKernelIsBitExactToTheScalarFormula() {
        var rng = SystemRandomNumberGenerator()
        for (beta1, weightDecay) in [(0.8, 0.01), (0.3, 0.0), (0.9, 0.1)] {
            let n = 37                                   // four vectors of 8 and a tail of 5
            let x0 = (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
            let grads = (0..<3).map { _ in (0..<n).map { _ in Float.random(in: -1...1, using: &rng) * (Bool.random() ? 1e-4 : 1) } }
            let p = Tensor(shape: [n], data: x0, requiresGrad: true)
            let lr = 2e-4, beta2 = 0.99, eps = 1e-9
            let opt = AdamW(parameters: [("p", p)], learningRate: lr, betas: (beta1, beta2), eps: eps, weightDecay: weightDecay)
            var x = x0, m = [Float](repeating: 0, count: n), v = m
            for (t, g) in grads.enumerated() {
                p.grad = Tensor(shape: [n], data: g)
                opt.step()
                let step = Double(t + 1)
                let w = Float(1 - beta1), stepSize = Float(-(lr / (1 - Foundation.pow(beta1, step))))
                let bc2 = Float((1 - Foundation.pow(beta2, step)).squareRoot())
                for j in 0..<n {
                    if weightDecay != 0 { x[j] = x[j] * Float(1 - lr * weightDecay) }
                    let d = g[j] - m[j]
                    m[j] = w < 0.5 ? m[j].addingProduct(w, d) : g[j].addingProduct(-d, 1 - w)
                    let a = v[j] * Float(beta2), b = Float(1 - beta2) * g[j] * g[j]
                    v[j] = a + b
                    let denom = v[j].squareRoot() / bc2 + Float(eps)
                    x[j] = x[j] + stepSize * m[j] / denom
                }
                XCTAssertEqual(p.scalars.map(\.bitPattern), x.map(\.bitPattern), "beta1 \(beta1) wd \(weightDecay) step \(t + 1)")
                XCTAssertEqual(opt.stateTensors()["p.exp_avg_sq"]?.scalars.map(\.bitPattern), v.map(\.bitPattern))
            }
        }
    }

    func testAdamWStateRoundTripIsBitExact() throws {
        let f = try loadFixture()
        let c = f.cases[0]
        let straight = makeParams(f)
        let opt = makeAdamW(c, straight)
        for g in f.grads { setGrads(straight, g); opt.step() }

        // half the steps, export params + state, rebuild everything, finish
        let first = makeParams(f)
        let opt1 = makeAdamW(c, first)
        for g in f.grads.prefix(6) { setGrads(first, g); opt1.step() }
        let savedState = opt1.stateTensors()
        let savedParams = first.map { ($0.0, $0.1.copy()) }
        let resumed = savedParams.map { ($0.0, Tensor(shape: $0.1.shape, data: $0.1.scalars, requiresGrad: true)) }
        let opt2 = makeAdamW(c, resumed)
        try opt2.loadState(savedState)
        for g in f.grads.dropFirst(6) { setGrads(resumed, g); opt2.step() }
        for (a, b) in zip(straight, resumed) { XCTAssertEqual(a.1.scalars, b.1.scalars, a.0) }
        for (k, v) in opt.stateTensors() { XCTAssertEqual(v.scalars, opt2.stateTensors()[k]?.scalars, k) }

        var bad = savedState
        bad["enc.weight.exp_avg"] = Tensor(zeros: [3, 4])
        XCTAssertThrowsError(try opt2.loadState(bad)) { XCTAssertTrue("\($0)".contains("enc.weight.exp_avg")) }
        bad = savedState
        bad["ghost.exp_avg"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try opt2.loadState(bad)) { XCTAssertTrue("\($0)".contains("ghost")) }
    }

    func testSGDMomentumMatchesPyTorch() throws {
        let f = try loadFixture()
        let c = try XCTUnwrap(f.cases.first { $0["optimizer"] as? String == "sgd" })
        let params = makeParams(f)
        let opt = SGD(parameters: params, learningRate: c["lr"] as! Double, momentum: c["momentum"] as! Double,
                      weightDecay: c["weight_decay"] as! Double)
        let traj = try XCTUnwrap(c["trajectory"] as? [[String: Any]])
        for (t, grads) in f.grads.enumerated() {
            setGrads(params, grads)
            opt.step()
            for (name, p) in params { assertClose(p.scalars, Self.floats(traj[t][name]), rel: 1e-5, "sgd step \(t + 1) \(name)") }
        }
        let saved = opt.stateTensors()
        let opt2 = SGD(parameters: params, learningRate: 0.05, momentum: 0.9)
        try opt2.loadState(saved)
        XCTAssertEqual(opt2.stateTensors().mapValues(\.scalars), saved.mapValues(\.scalars))
    }

    func testClipGradNormMatchesPyTorch() throws {
        let f = try loadFixture()
        let params = makeParams(f).map(\.1)
        for (p, name) in zip(params, f.names) { p.grad = Tensor(shape: p.shape, data: f.grads[0][name]!!) }
        let total = GradientClipping.clipGradNorm(params, maxNorm: Float(f.clip["max_norm"] as! Double))
        XCTAssertEqual(total, Float(f.clip["total_norm"] as! Double), accuracy: 1e-5)
        let want = try XCTUnwrap(f.clip["clipped"] as? [Any])
        for (p, w) in zip(params, want) { assertClose(p.grad!.scalars, Self.floats(w), rel: 1e-5, "clipped grad") }
        // value clipping clamps elementwise and reports the norm before clamping
        let norm = GradientClipping.clipGradValue(params, 0.05)
        XCTAssertEqual(norm, GradientClipping.totalNorm(params) > norm ? -1 : norm)
        XCTAssertTrue(params.allSatisfy { $0.grad!.scalars.allSatisfy { abs($0) <= 0.05 } })
    }

    func testExponentialLRMatchesPyTorchAndRestores() throws {
        let f = try loadFixture()
        let e = f.exponentialLR
        var sched = ExponentialLR(initialLearningRate: e["initial"] as! Double, gamma: e["gamma"] as! Double)
        let counts = e["counts"] as! [Int]
        let lrs = (e["lr_bits"] as! [String]).map { Double(bitPattern: UInt64($0, radix: 16)!) }
        let opt = SGD(parameters: [], learningRate: sched.learningRate)
        var seen: [Int: Double] = [:]
        for i in 1...1000 { sched.step(opt); if counts.contains(i) { seen[i] = sched.learningRate } }
        for (c, lr) in zip(counts, lrs) { XCTAssertEqual(seen[c], lr, "count \(c)") }   // exact: same multiplication chain
        XCTAssertEqual(opt.learningRate, sched.learningRate)
        let restored = ExponentialLR(initialLearningRate: sched.initialLearningRate, gamma: sched.gamma, count: sched.count)
        XCTAssertEqual(restored, sched)
    }

    func testFrozenParametersAreUntouched() {
        let lin = Linear(3, 2, generator: RandomGenerator(seed: 1))
        lin.freeze("weight")
        let before = lin.weight.scalars
        let opt = AdamW(parameters: lin.namedParameters(), learningRate: 0.1)
        let x = Tensor(repeating: 1, shape: [4, 3])
        for _ in 0..<3 { opt.zeroGrad(); lin(x).square().sum().backward(); opt.step() }
        XCTAssertEqual(lin.weight.scalars, before)
        XCTAssertEqual(opt.stateTensors().keys.sorted(), ["bias.exp_avg", "bias.exp_avg_sq", "bias.step"])
    }
}
