import XCTest
import Engine

/// A two-layer toy network with reference-style key paths.
private final class TwoConvs: Module {
    @ModuleInfo(key: "pre") var pre: Conv1d
    @ModuleInfo(key: "ups") var ups: ModuleList<ConvTranspose1d>
    init(_ g: RandomGenerator) {
        _pre.wrappedValue = Conv1d(3, 4, kernelSize: 3, padding: 1, generator: g)
        _ups.wrappedValue = ModuleList([ConvTranspose1d(4, 2, kernelSize: 4, stride: 2, padding: 1, weightNorm: true, generator: g)])
        super.init()
    }
    func callAsFunction(_ x: Tensor) -> Tensor { ups[0](leakyRelu(pre(x), slope: 0.1)) }
}

final class LoRATests: XCTestCase {
    func testFreshAdapterIsIdentityAndOnlyAdaptersTrain() {
        let g = RandomGenerator(seed: 11)
        let net = TwoConvs(g)
        let x = g.randn([2, 3, 6])
        let before = noGrad { net(x) }.scalars
        XCTAssertEqual(net.attachLoRA(toPrefixes: ["pre", "ups"], rank: 2, alpha: 4, generator: g), ["pre", "ups.0"])
        XCTAssertEqual(noGrad { net(x) }.scalars, before)   // B = 0 ⇒ W' = W exactly
        XCTAssertEqual(net.loraStateDict().keys.sorted(), ["pre.lora.lora_A", "pre.lora.lora_B", "ups.0.lora.lora_A", "ups.0.lora.lora_B"])

        net.freeze()
        for (k, t) in net.namedParameters() where k.contains(".lora.") { t.requiresGrad = true }
        XCTAssertEqual(net.trainableParameters().count, 4)
        net(x).sum().backward()
        XCTAssertNil(net.pre.weight?.grad)
        XCTAssertNotNil(net.pre.lora?.b.grad)
    }

    func testGradientsReachAAndB() {
        let g = RandomGenerator(seed: 12)
        let conv = Conv1d(3, 4, kernelSize: 3, padding: 1, weightNorm: true, generator: g)
        let lora = conv.attachLoRA(rank: 2, alpha: 2, generator: g)
        for i in 0..<lora.b.count { lora.b.pointer[i] = Float(i % 5) * 0.1 - 0.2 }
        let x = g.randn([1, 3, 5])
        let reports = GradientCheck.run(inputs: [lora.a, lora.b]) { _ in conv(x) }
        for r in reports { XCTAssertLessThan(r.relativeError, 1e-2) }
    }

    func testMergedWeightsReproduceTheAdaptedModel() throws {
        let g = RandomGenerator(seed: 13)
        let net = TwoConvs(g)
        net.attachLoRA(toPrefixes: [""], rank: 2, alpha: 8, generator: g)
        for (_, m) in net.namedModules() {
            if let l = m as? LoRAAdapter { for i in 0..<l.b.count { l.b.pointer[i] = Float((i * 7) % 11) * 0.05 - 0.25 } }
        }
        let x = g.randn([2, 3, 6])
        let adapted = noGrad { net(x) }
        let merged = net.mergedStateDict()
        XCTAssertFalse(merged.keys.contains { $0.contains("lora") })
        let plain = TwoConvs(RandomGenerator(seed: 99))
        XCTAssertTrue(try plain.load(merged).isComplete)
        let out = noGrad { plain(x) }
        for (a, b) in zip(adapted.scalars, out.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(zip(adapted.scalars, noGrad { TwoConvs(RandomGenerator(seed: 13))(x) }.scalars).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testDropoutPathInTrainingEqualsMergedPathInEval() {
        let g = RandomGenerator(seed: 14)
        let conv = Conv1d(3, 4, kernelSize: 3, padding: 1, generator: g)
        let lora = conv.attachLoRA(rank: 2, alpha: 2, dropout: 0.5, generator: g)
        for i in 0..<lora.b.count { lora.b.pointer[i] = 0.3 }
        let x = g.randn([1, 3, 5])
        conv.eval()
        let evalOut = noGrad { conv(x) }.scalars
        conv.train(true)
        let trainOut = noGrad { conv(x) }.scalars
        XCTAssertNotEqual(evalOut, trainOut)                 // dropout path active in training
        conv.eval()
        XCTAssertEqual(noGrad { conv(x) }.scalars, evalOut)   // deterministic in eval
    }
}
