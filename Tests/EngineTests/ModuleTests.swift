import XCTest
import Engine

/// A miniature of the VITS naming scheme: nested modules, numbered lists, weight-norm pairs.
private final class Block: Module {
    let convQ: Linear
    let norms: ModuleList<Linear>
    init(_ rng: RandomGenerator) {
        convQ = Linear(4, 4, generator: rng)
        norms = ModuleList([Linear(4, 2, generator: rng), Linear(2, 2, bias: false, generator: rng)])
        super.init()
        register("conv_q", convQ)
        register("norm_layers_1", norms)
    }
}

private final class Upsampler: Module {
    let weightG: Tensor, weightV: Tensor
    init(_ rng: RandomGenerator) {
        weightV = rng.randn([3, 2, 4])
        weightG = Tensor(repeating: 1, shape: [3, 1, 1])
        super.init()
        register("weight_g", weightG)
        register("weight_v", weightV)
    }
}

private final class TinyModel: Module {
    let encoder: ModuleList<Block>
    let ups: ModuleList<Upsampler>
    let emb: Embedding
    let drop: Dropout
    init(seed: UInt64) {
        let rng = RandomGenerator(seed: seed)
        emb = Embedding(10, 4, generator: rng)
        encoder = ModuleList([Block(rng), Block(rng)])
        ups = ModuleList([Upsampler(rng)])
        drop = Dropout(0.5, generator: rng)
        super.init()
        let encP = register("enc_p", Module())
        encP.register("emb", emb)
        encP.register("attn_layers", encoder)
        let dec = register("dec", Module())
        dec.register("ups", ups)
        register("drop", drop)
        registerBuffer("step_buffer", Tensor(zeros: [1]))
    }
}

final class ModuleTests: XCTestCase {
    func testKeyPathsMatchReferenceNaming() {
        let m = TinyModel(seed: 1)
        let keys = m.namedParameters().map(\.0)
        XCTAssertEqual(keys, [
            "enc_p.emb.weight",
            "enc_p.attn_layers.0.conv_q.weight", "enc_p.attn_layers.0.conv_q.bias",
            "enc_p.attn_layers.0.norm_layers_1.0.weight", "enc_p.attn_layers.0.norm_layers_1.0.bias",
            "enc_p.attn_layers.0.norm_layers_1.1.weight",
            "enc_p.attn_layers.1.conv_q.weight", "enc_p.attn_layers.1.conv_q.bias",
            "enc_p.attn_layers.1.norm_layers_1.0.weight", "enc_p.attn_layers.1.norm_layers_1.0.bias",
            "enc_p.attn_layers.1.norm_layers_1.1.weight",
            "dec.ups.0.weight_g", "dec.ups.0.weight_v",
        ])
        XCTAssertEqual(Set(m.stateDict().keys), Set(keys + ["step_buffer"]))
        XCTAssertEqual(m.parameterCount, 40 + 2 * (20 + 10 + 4) + 3 + 24)
        XCTAssertTrue(m.module(at: "enc_p.attn_layers.1.conv_q") === m.encoder[1].convQ)
        XCTAssertNil(m.module(at: "enc_p.nothing"))
        XCTAssertEqual(m.stateDict()["dec.ups.0.weight_g"]?.shape, [3, 1, 1])
    }

    func testLoadRoundTripAndInPlaceCopy() throws {
        let a = TinyModel(seed: 1), b = TinyModel(seed: 2)
        let weightRef = b.encoder[0].convQ.weight
        XCTAssertNotEqual(weightRef.scalars, a.encoder[0].convQ.weight.scalars)
        let report = try b.load(a.stateDict())
        XCTAssertTrue(report.isComplete)
        XCTAssertEqual(report.loaded.count, 14)
        // copied into the existing tensor: layers keep their references
        XCTAssertEqual(weightRef.scalars, a.encoder[0].convQ.weight.scalars)
        for (k, t) in b.stateDict() { XCTAssertEqual(t.scalars, a.stateDict()[k]!.scalars, k) }
    }

    func testStrictLoadReportsAndModifiesNothing() {
        let a = TinyModel(seed: 1), b = TinyModel(seed: 2)
        var state = a.stateDict()
        state["dec.ups.0.weight_g"] = nil
        state["dec.ups.0.weight"] = Tensor(zeros: [3, 2, 4])
        state["enc_p.emb.weight"] = Tensor(zeros: [12, 4])
        let before = b.encoder[0].convQ.weight.scalars
        XCTAssertThrowsError(try b.load(state, strict: true)) { error in
            guard case let ModuleError.stateMismatch(r) = error else { return XCTFail("wrong error \(error)") }
            XCTAssertEqual(r.missing, ["dec.ups.0.weight_g"])
            XCTAssertEqual(r.unexpected, ["dec.ups.0.weight"])
            XCTAssertEqual(r.shapeMismatched, [ShapeMismatch(key: "enc_p.emb.weight", expected: [10, 4], got: [12, 4])])
            let text = "\(error)"
            XCTAssertTrue(text.contains("dec.ups.0.weight_g") && text.contains("[12, 4]"), text)
        }
        XCTAssertEqual(b.encoder[0].convQ.weight.scalars, before)
        // non-strict loads what matches and reports the rest
        let r = try? b.load(state, strict: false)
        XCTAssertEqual(r?.loaded.count, 12)
        XCTAssertEqual(b.encoder[0].convQ.weight.scalars, a.encoder[0].convQ.weight.scalars)
        XCTAssertNotEqual(b.emb.weight.scalars, Tensor(zeros: [12, 4]).scalars)
    }

    func testFreezeByPrefixAndTrainingMode() {
        let m = TinyModel(seed: 3)
        XCTAssertEqual(m.freeze("enc_p.attn_layers.0"), 5)
        XCTAssertEqual(m.freeze("dec.up"), 0)          // prefix matches whole path components only
        let trainable = Set(m.trainableParameters().map(\.0))
        XCTAssertFalse(trainable.contains("enc_p.attn_layers.0.conv_q.weight"))
        XCTAssertTrue(trainable.contains("enc_p.attn_layers.1.conv_q.weight"))
        // a frozen parameter receives no gradient
        let x = Tensor(repeating: 1, shape: [1, 4])
        (m.encoder[0].convQ(x) + m.encoder[1].convQ(x)).sum().backward()
        XCTAssertNil(m.encoder[0].convQ.weight.grad)
        XCTAssertNotNil(m.encoder[1].convQ.weight.grad)
        m.unfreeze()
        XCTAssertEqual(m.trainableParameters().count, m.namedParameters().count)

        let y = Tensor(repeating: 1, shape: [1000])
        XCTAssertTrue(m.drop.isTraining)
        XCTAssertTrue(m.drop(y).scalars.contains(0))
        m.eval()
        XCTAssertFalse(m.encoder[1].isTraining)
        XCTAssertTrue(m.drop(y) === y)
        m.train()
        XCTAssertTrue(m.drop.isTraining)
    }

    func testLinearAndEmbeddingLayouts() {
        let rng = RandomGenerator(seed: 4)
        let lin = Linear(3, 2, generator: rng)
        XCTAssertEqual(lin.weight.shape, [2, 3])
        XCTAssertEqual(lin.bias?.shape, [2])
        XCTAssertTrue(lin.weight.scalars.allSatisfy { abs($0) <= 1 / Float(3).squareRoot() })
        let x = Tensor(shape: [1, 3], data: [1, 2, 3])
        let y = lin(x)
        for o in 0..<2 {
            let expected = (0..<3).reduce(lin.bias!.scalars[o]) { $0 + lin.weight.scalars[o * 3 + $1] * x.scalars[$1] }
            XCTAssertEqual(y.scalars[o], expected, accuracy: 1e-6)
        }
        let emb = Embedding(5, 2, generator: rng)
        XCTAssertEqual(emb(IntTensor(shape: [1, 2], values: [4, 0])).shape, [1, 2, 2])
    }
}
