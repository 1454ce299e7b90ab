import XCTest
import Engine

/// A miniature of the VITS naming scheme: nested modules, numbered lists, weight-norm pairs.
/// Block and Upsampler declare their entries; TinyModel builds its tree with run-time registration.
private final class Block: Module {
    @ModuleInfo(key: "conv_q") var convQ: Linear
    @ModuleInfo(key: "norm_layers_1") var norms: ModuleList<Linear>
    init(_ rng: RandomGenerator) {
        _convQ.wrappedValue = Linear(4, 4, generator: rng)
        _norms.wrappedValue = ModuleList([Linear(4, 2, generator: rng), Linear(2, 2, bias: false, generator: rng)])
        super.init()
    }
}

private final class Upsampler: Module {
    @ParameterInfo(key: "weight_g") var weightG: Tensor
    @ParameterInfo(key: "weight_v") var weightV: Tensor
    init(_ rng: RandomGenerator) {
        _weightV.wrappedValue = rng.randn([3, 2, 4])
        _weightG.wrappedValue = Tensor(repeating: 1, shape: [3, 1, 1])
        super.init()
    }
}

/// Every kind of declared entry, a subclass adding its own, and run-time registrations after them.
private class DeclaredBase: Module {
    @ModuleInfo(key: "late_child") var lateChild: Linear          // a child declared before parameters
    @ParameterInfo(key: "scale") var scale: Tensor
    @ParameterInfo(key: "shift") var shift: Tensor?
    @BufferInfo(key: "running") var running: Tensor
    @ModuleInfo(key: "absent") var absent: Linear?
    @ModuleInfo(key: "list") var list = ModuleList<Linear>()
    init(_ rng: RandomGenerator, shift hasShift: Bool) {
        _lateChild.wrappedValue = Linear(2, 2, generator: rng)
        _scale.wrappedValue = Tensor(repeating: 1, shape: [2])
        _shift.wrappedValue = hasShift ? Tensor(zeros: [2]) : nil
        _running.wrappedValue = Tensor(zeros: [2])
        _absent.wrappedValue = nil
        super.init()
        list.append(Linear(2, 1, bias: false, generator: rng))
    }
}

private final class DeclaredDerived: DeclaredBase {
    @ParameterInfo(key: "gain") var gain: Tensor
    @ModuleInfo(key: "head") var head: Embedding
    init(_ rng: RandomGenerator) {
        _gain.wrappedValue = Tensor(repeating: 2, shape: [1])
        _head.wrappedValue = Embedding(3, 2, generator: rng)
        super.init(rng, shift: true)
        register("extra", Tensor(zeros: [1]))
        registerBuffer("extra_buffer", Tensor(zeros: [1]))
        register("adapter", Linear(1, 1, generator: rng))
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

    /// Declared entries come in PyTorch order — own parameters, buffers, children, each in
    /// declaration order with the superclass's first — and run-time registrations follow them.
    func testDeclaredEntriesOrderAndKinds() {
        let m = DeclaredDerived(RandomGenerator(seed: 5))
        XCTAssertEqual(m.ownParameters.map(\.name), ["scale", "shift", "gain", "extra"])
        XCTAssertEqual(m.ownBuffers.map(\.name), ["running", "extra_buffer"])
        XCTAssertEqual(m.children.map(\.name), ["late_child", "list", "head", "adapter"])
        XCTAssertEqual(m.namedParameters().map(\.0), [
            "scale", "shift", "gain", "extra",
            "late_child.weight", "late_child.bias", "list.0.weight", "head.weight", "adapter.weight", "adapter.bias",
        ])
        XCTAssertEqual(m.namedModules().map(\.0), ["", "late_child", "list", "list.0", "head", "adapter"])
        XCTAssertEqual(Set(m.stateDict().keys), Set(m.namedParameters().map(\.0) + ["running", "extra_buffer"]))
        // The wrappers hand out the registered tensors and modules themselves.
        XCTAssertTrue(m.stateDict()["running"] === m.running)
        XCTAssertTrue(m.module(at: "head") === m.head)
        XCTAssertTrue(m.module(at: "list.0") === m.list[0])
        XCTAssertNil(m.module(at: "absent"))
        // Parameters require gradients from the moment they are assigned; buffers never do.
        XCTAssertTrue(m.scale.requiresGrad && m.shift?.requiresGrad == true && m.gain.requiresGrad)
        XCTAssertFalse(m.running.requiresGrad)
        XCTAssertEqual(m.trainableParameters().count, 10)
        XCTAssertEqual(m.freeze("late_child"), 2)
        XCTAssertFalse(m.lateChild.weight.requiresGrad)

        // An optional declared as nil has no key; the same class with it set has one.
        let without = DeclaredBase(RandomGenerator(seed: 6), shift: false)
        XCTAssertEqual(without.ownParameters.map(\.name), ["scale"])
        XCTAssertEqual(without.namedParameters().map(\.0), ["scale", "late_child.weight", "late_child.bias", "list.0.weight"])
    }

    /// A parameter is trainable without any walk over the model having happened first (discovery is
    /// lazy, requiresGrad is set on assignment), and a load after discovery reaches the declared tensors.
    func testDeclaredParametersTrainBeforeAnyWalk() throws {
        let a = DeclaredDerived(RandomGenerator(seed: 7))
        (a.gain * a.scale).sum().backward()
        XCTAssertEqual(a.gain.grad?.scalars, [2])
        XCTAssertEqual(a.scale.grad?.scalars, [2, 2])

        let b = DeclaredDerived(RandomGenerator(seed: 8))
        let report = try b.load(a.stateDict())
        XCTAssertTrue(report.isComplete)
        XCTAssertEqual(b.head.weight.scalars, a.head.weight.scalars)
        XCTAssertEqual(b.list[0].weight.scalars, a.list[0].weight.scalars)
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
