import XCTest
import Engine
import VITS
import ReferenceCheck

/// Parity of the text side of VITS — TextEncoder (`enc_p`), the duration predictors (`dp`) and the
/// speaker table (`emb_g`) — with the reference PyTorch fixtures (tiny-sdp, tiny-dp, tiny-spk):
/// forward outputs and traces, the duration loss, inference logw, and the generator gradients
/// of these modules that the fixtures make reachable without the rest of the model.
final class TextSideParityTests: XCTestCase {
    static let forwardTolerance: Float = 1e-4
    static let gradientTolerance: Float = 1e-3

    func fixture(_ name: String) throws -> ReferenceFixture {
        try ReferenceFixture(folder: Fixtures.url("reference/\(name)"))
    }

    /// The generator weights under `prefix.`, with the prefix removed.
    func weights(_ f: ReferenceFixture, prefix: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, value) in try f.generatorWeights() where key.hasPrefix(prefix + ".") {
            out[String(key.dropFirst(prefix.count + 1))] = value
        }
        return out
    }

    /// Builds a module and loads the fixture's weights for it strictly (no missing or unexpected key).
    func load<M: Module>(_ module: M, from f: ReferenceFixture, prefix: String) throws -> M {
        let report = try module.load(weights(f, prefix: prefix), strict: true)
        XCTAssertTrue(report.isComplete, "\(prefix): \(report)")
        module.eval()   // the fixtures run every dropout in eval mode; nothing else here depends on the mode
        return module
    }

    func tokens(_ f: ReferenceFixture, _ part: ReferenceFixture.Part) throws -> (IntTensor, [Int]) {
        let x = try f.integers("x", in: part)
        return (IntTensor(shape: x.shape, values: x.values.map { Int32($0) }), try f.integers("x_lengths", in: part).values)
    }

    func speakerVector(_ f: ReferenceFixture, _ part: ReferenceFixture.Part) throws -> Tensor? {
        guard f.config.isMultiSpeaker else { return nil }
        let table = try load(SpeakerEmbedding(config: f.config, generator: RandomGenerator(seed: 0)), from: f, prefix: "emb_g")
        return try table(f.integers("sid", in: part).values)
    }

    // MARK: comparison

    /// Compares our tensor with the fixture's (stored in full or sampled): max|a − b| ≤ rtol·max|ref|,
    /// or ≤ 1e-6 absolute where the reference is all zero. Returns the relative error.
    @discardableResult
    func compare(_ ours: Tensor, _ name: String, _ f: ReferenceFixture, _ part: ReferenceFixture.Part,
                 rtol: Float = forwardTolerance, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let label = "\(f.config.fixture?.name ?? "?"):\(part.rawValue):\(name)"
        var maxAbs: Float = 0, scale: Float = 0
        if f.has(name, in: part) {
            let ref = try f.tensor(name, in: part)
            XCTAssertEqual(ours.shape, ref.shape, "\(label): shape", file: file, line: line)
            guard ours.shape == ref.shape else { return .infinity }
            let a = ours.scalars, r = ref.scalars
            for i in r.indices {
                maxAbs = max(maxAbs, abs(a[i] - r[i]))
                scale = max(scale, abs(r[i]))
            }
        } else if let sample = try f.sampled(name, in: part) {
            let shape = try f.integers(name + ".shape", in: part).values
            XCTAssertEqual(ours.shape, shape, "\(label): shape", file: file, line: line)
            guard ours.shape == shape else { return .infinity }
            let a = ours.scalars
            for (value, index) in zip(sample.values, sample.indices) { maxAbs = max(maxAbs, abs(a[index] - value)) }
            scale = sample.scale
        } else {
            XCTFail("\(label): not in the fixture", file: file, line: line)
            return .infinity
        }
        let relative = scale > 0 ? maxAbs / scale : maxAbs
        let pass = scale > 0 ? maxAbs <= rtol * scale : maxAbs <= 1e-6
        XCTAssertTrue(pass, "\(label): max abs error \(maxAbs), max|ref| \(scale), relative \(relative) > \(rtol)", file: file, line: line)
        report[label] = relative
        return relative
    }

    /// Every comparison's relative error, printed at the end of each test (the numbers in docs/vits.md).
    var report: [String: Float] = [:]

    override func tearDown() {
        if !report.isEmpty {
            let groups = Dictionary(grouping: report) { entry in
                let fields = entry.key.split(separator: ":")
                return fields.prefix(2).joined(separator: ":") + (fields.last!.hasPrefix("grad.") ? " gradients" : " forward")
            }
            for (group, entries) in groups.sorted(by: { $0.key < $1.key }) {
                let worst = entries.max { $0.value < $1.value }!
                print("parity \(name) \(group): \(entries.count) tensors, worst \(worst.key.split(separator: ":").last!) \(worst.value)")
            }
        }
        report = [:]
        super.tearDown()
    }

    /// Fixture tensor names under `trace.<prefix>.` (sampled ones by their base name).
    func traceNames(_ f: ReferenceFixture, _ part: ReferenceFixture.Part, prefix: String) -> Set<String> {
        var names = Set<String>()
        for n in f.names(part) where n.hasPrefix("trace.\(prefix).") {
            var base = n
            for suffix in [".sample", ".idx", ".stats", ".shape"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) }
            names.insert(String(base.dropFirst("trace.".count)))
        }
        return names
    }

    /// Checks that we traced exactly the fixture's trace names for `prefix` and that each one matches.
    func compareTraces(_ traces: [String: Tensor], _ f: ReferenceFixture, _ part: ReferenceFixture.Part, prefix: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = traceNames(f, part, prefix: prefix)
        XCTAssertFalse(expected.isEmpty, "no trace.\(prefix).* in the fixture", file: file, line: line)
        XCTAssertEqual(Set(traces.keys), expected, "trace names", file: file, line: line)
        for name in expected.sorted() {
            guard let ours = traces[name] else { continue }
            try compare(ours, "trace." + name, f, part, file: file, line: line)
        }
    }

    // MARK: layout

    /// Our module trees produce exactly the reference keys and shapes, in state_dict order.
    func testKeysAndShapesMatchReferenceLayout() throws {
        for name in ["tiny-sdp", "tiny-dp", "tiny-spk", "ljs_base", "ljs_nosdp", "vctk_base"] {
            let config = try Fixtures.config(name)
            let vocabulary = config.fixture?.nVocab ?? 178
            let specs = try VITSParameters.generator(config, vocabularySize: vocabulary)
            let rng = RandomGenerator(seed: 1)
            var modules: [(String, Module)] = [
                ("enc_p", TextEncoder(config: config, vocabularySize: vocabulary, generator: rng)),
                ("dp", makeDurationPredictor(config: config, generator: rng)),
            ]
            if config.isMultiSpeaker { modules.append(("emb_g", SpeakerEmbedding(config: config, generator: rng))) }
            for (prefix, module) in modules {
                let ours = module.namedParameters().map { ParameterSpec(key: prefix + "." + $0.0, shape: $0.1.shape) }
                let reference = specs.filter { $0.module == prefix }.map { ParameterSpec(key: $0.key, shape: $0.shape) }
                XCTAssertEqual(ours, reference, "\(name): \(prefix)")
            }
            XCTAssertEqual(specs.contains { $0.module == "emb_g" }, config.isMultiSpeaker, name)

            // Registered under one parent as SynthesizerTrn will (dp through the protocol existential).
            let parent = Module()
            parent.register("enc_p", TextEncoder(config: config, vocabularySize: vocabulary, generator: rng))
            parent.register("dp", makeDurationPredictor(config: config, generator: rng))
            if config.isMultiSpeaker { parent.register("emb_g", SpeakerEmbedding(config: config, generator: rng)) }
            XCTAssertEqual(parent.namedParameters().map { ParameterSpec(key: $0.0, shape: $0.1.shape) },
                           specs.filter { ["enc_p", "dp", "emb_g"].contains($0.module) }.map { ParameterSpec(key: $0.key, shape: $0.shape) },
                           name)
        }
    }

    // MARK: TextEncoder

    func testTextEncoderForwardMatchesFixtures() throws {
        for name in Fixtures.fixtureNames {
            let f = try fixture(name)
            let encoder = try load(TextEncoder(config: f.config, vocabularySize: f.vocabularySize, generator: RandomGenerator(seed: 1)),
                                   from: f, prefix: "enc_p")
            for part in [ReferenceFixture.Part.training, .inference] {
                let (x, lengths) = try tokens(f, part)
                var traces: [String: Tensor] = [:]
                let out = try noGrad { try encoder(x, lengths: lengths) { traces[$0] = $1 } }
                try compare(out.x, "enc_p.x", f, part)
                try compare(out.m, "enc_p.m_p", f, part)
                try compare(out.logs, "enc_p.logs_p", f, part)
                XCTAssertEqual(out.mask.scalars, try f.tensor("enc_p.x_mask", in: part).scalars, "\(name): x_mask exact")
                if part == .training { try compareTraces(traces, f, part, prefix: "enc_p") }
            }
        }
    }

    /// grad.enc_p.* = ∂loss_gen_all/∂θ: the text encoder's outputs reach the loss only through the
    /// prior statistics in loss_kl (MAS runs without gradient, dp detaches h), so the KL loss built
    /// from the fixture's z_p, logs_q, attn and y_mask reproduces every enc_p gradient.
    func testTextEncoderGradientsMatchFixtures() throws {
        for name in Fixtures.fixtureNames {
            let f = try fixture(name)
            let encoder = try load(TextEncoder(config: f.config, vocabularySize: f.vocabularySize, generator: RandomGenerator(seed: 1)),
                                   from: f, prefix: "enc_p")
            let (x, lengths) = try tokens(f, .training)
            let out = try encoder(x, lengths: lengths)
            let attn = try f.tensor("attn").squeezed(1)                                          // [B, Ty, Tx]
            let mP = Tensor.matmul(attn, out.m, transposeB: true).transposed(1, 2)               // [B, I, Ty]
            let logsP = Tensor.matmul(attn, out.logs, transposeB: true).transposed(1, 2)
            try compare(mP, "prior.m_p", f, .training)
            try compare(logsP, "prior.logs_p", f, .training)
            let zP = try f.tensor("flow.z_p"), logsQ = try f.tensor("enc_q.logs_q"), yMask = try f.tensor("enc_q.y_mask")
            let kl = logsP - logsQ - 0.5 + (zP - mP).square() * 0.5 * (logsP * -2).exp()
            let lossKL = (kl * yMask).sum() / yMask.sum() * Float(f.config.train.cKl)
            try compare(lossKL, "loss_kl", f, .training)
            lossKL.backward()
            for (key, parameter) in encoder.namedParameters() {
                let gradient = try XCTUnwrap(parameter.grad, "\(name): enc_p.\(key) got no gradient")
                if key.hasSuffix("conv_k.bias") {
                    // Analytically zero (softmax is shift invariant): both sides are rounding noise.
                    XCTAssertLessThan(gradient.scalars.map(abs).max() ?? 0, 1e-6, "\(name): enc_p.\(key)")
                } else {
                    try compare(gradient, "grad.enc_p." + key, f, .training, rtol: Self.gradientTolerance)
                }
            }
        }
    }

    func testBadTokensAndLengthsThrow() throws {
        let f = try fixture("tiny-sdp")
        let encoder = TextEncoder(config: f.config, vocabularySize: f.vocabularySize, generator: RandomGenerator(seed: 1))
        XCTAssertThrowsError(try encoder(IntTensor(shape: [1, 3], values: [1, 40, 2]), lengths: [3])) {
            XCTAssertEqual($0 as? TextInputError, .tokenOutOfRange(item: 0, position: 1, id: 40, vocabularySize: 40))
        }
        XCTAssertThrowsError(try encoder(IntTensor(shape: [1, 3], values: [1, 2, 3]), lengths: [4])) {
            XCTAssertEqual($0 as? TextInputError, .lengthOutOfRange(item: 0, length: 4, maxLength: 3))
        }
        XCTAssertThrowsError(try encoder(IntTensor(shape: [2, 3], values: [1, 2, 3, 1, 2, 3]), lengths: [3])) {
            XCTAssertEqual($0 as? TextInputError, .lengthCount(expected: 2, got: 1))
        }
        let table = SpeakerEmbedding(speakers: 4, channels: 3, generator: RandomGenerator(seed: 1))
        XCTAssertThrowsError(try table([0, 4])) {
            XCTAssertEqual($0 as? TextInputError, .speakerOutOfRange(item: 1, id: 4, speakers: 4))
        }
    }

    // MARK: speaker conditioning

    func testSpeakerVectorMatchesFixture() throws {
        let f = try fixture("tiny-spk")
        for part in [ReferenceFixture.Part.training, .inference] {
            let g = try XCTUnwrap(speakerVector(f, part))
            try compare(g, "g", f, part, rtol: 0)   // a table lookup: exact
        }
    }

    // MARK: duration predictors

    func durationPredictor(_ f: ReferenceFixture) throws -> any DurationPredicting {
        let dp = makeDurationPredictor(config: f.config, generator: RandomGenerator(seed: 2))
        let report = try dp.load(weights(f, prefix: "dp"), strict: true)
        XCTAssertTrue(report.isComplete, "dp: \(report)")
        dp.eval()
        return dp
    }

    /// l_length and dp.out from the fixture's h (enc_p.x), mask, MAS durations w, g and the recorded
    /// SDP noise; then ∂Σl_length/∂θ_dp = grad.dp.* (dp detaches its inputs, so loss_dur is the
    /// only path from the loss to its parameters).
    func testDurationLossAndGradientsMatchFixtures() throws {
        for name in Fixtures.fixtureNames {
            let f = try fixture(name)
            let dp = try durationPredictor(f)
            let h = try f.tensor("enc_p.x"), mask = try f.tensor("enc_p.x_mask"), w = try f.tensor("w")
            let g = try speakerVector(f, .training)
            let noiseShape = dp.trainingNoiseShape(batch: h.shape[0], tokens: h.shape[2])
            // Recorded draws in call order: posterior, then (SDP only) the duration noise, then slice.
            let noise = try noiseShape.map { shape in
                let n = try f.tensor("noise.001")
                XCTAssertEqual(n.shape, shape, "\(name): SDP noise draw")
                return n
            }
            var traces: [String: Tensor] = [:]
            let (output, loss) = dp.durationLoss(h, mask: mask, durations: w, g: g, noise: noise) { traces[$0] = $1 }
            try compare(output, "dp.out", f, .training)
            try compare(loss, "l_length", f, .training)
            let lossDur = loss.sum()
            try compare(lossDur, "loss_dur", f, .training)
            try compareTraces(traces, f, .training, prefix: "dp")

            lossDur.backward()
            for (key, parameter) in dp.namedParameters() {
                let gradient = try XCTUnwrap(parameter.grad, "\(name): dp.\(key) got no gradient")
                try compare(gradient, "grad.dp." + key, f, .training, rtol: Self.gradientTolerance)
            }
        }
    }

    func testInferenceLogDurationsMatchFixtures() throws {
        for name in Fixtures.fixtureNames {
            let f = try fixture(name)
            let dp = try durationPredictor(f)
            let h = try f.tensor("enc_p.x", in: .inference), mask = try f.tensor("enc_p.x_mask", in: .inference)
            let g = try speakerVector(f, .inference)
            let noise = try dp.inferenceNoiseShape(batch: h.shape[0], tokens: h.shape[2]).map { shape in
                let n = try f.tensor("noise.000", in: .inference)
                XCTAssertEqual(n.shape, shape, "\(name): SDP reverse noise draw")
                return n
            }
            let noiseScale = try f.tensor("param.noise_scale_w", in: .inference).item
            var traces: [String: Tensor] = [:]
            let logw = noGrad { dp.logDurations(h, mask: mask, g: g, noise: noise, noiseScale: noiseScale) { traces[$0] = $1 } }
            try compare(logw, "logw", f, .inference)
            try compareTraces(traces, f, .inference, prefix: "dp")
            // The durations that follow from it: w_ceil = ceil(exp(logw)·mask·length_scale), exact.
            let lengthScale = try f.tensor("param.length_scale", in: .inference).item
            let wCeil = noGrad { (logw.exp() * mask * lengthScale).ceil() }
            XCTAssertEqual(wCeil.scalars, try f.tensor("w_ceil", in: .inference).scalars, "\(name): w_ceil")
        }
    }
}

/// Finite-difference gradients, flow inverses and the banded relative attention on small random
/// modules (independent of the fixtures).
final class TextSideModuleTests: XCTestCase {
    func randomize(_ t: Tensor, _ rng: RandomGenerator, std: Float) {
        let values = rng.normal(t.shape, std: std)
        t.pointer.update(from: values.pointer, count: t.count)
    }

    func assertGradients(of parameters: [(String, Tensor)], tolerance: Float = 1e-2, file: StaticString = #filePath,
                         line: UInt = #line, _ f: @escaping () -> Tensor) {
        let tensors = parameters.map(\.1)
        let reports = GradientCheck.run(inputs: tensors, epsilon: 1e-3) { _ in f() }
        for ((key, _), r) in zip(parameters, reports) {
            XCTAssertLessThan(r.relativeError, tolerance, "\(key): max abs error \(r.maxAbsError)", file: file, line: line)
            XCTAssertFalse(r.numeric.allSatisfy { $0 == 0 }, "\(key): numeric gradient all zero", file: file, line: line)
        }
    }

    func pick(_ module: Module, _ keys: [String]) -> [(String, Tensor)] {
        let all = Dictionary(uniqueKeysWithValues: module.namedParameters())
        return keys.map { ($0, all[$0]!) }
    }

    func testTextEncoderGradientCheck() throws {
        let rng = RandomGenerator(seed: 11)
        let encoder = TextEncoder(vocabularySize: 7, outChannels: 2, hiddenChannels: 4, filterChannels: 6, heads: 2, layers: 2,
                                  kernelSize: 3, dropout: 0.1, generator: rng)
        encoder.eval()
        for (key, p) in encoder.namedParameters() where key.contains("norm") { randomize(p, rng, std: 0.3); p.pointer[0] += 1 }
        let tokens = IntTensor(shape: [2, 6], values: [1, 2, 3, 4, 5, 6, 6, 5, 4, 0, 0, 0])
        let weights = RandomGenerator(seed: 3).normal([2, 4, 6])
        let keys = ["emb.weight", "encoder.attn_layers.0.emb_rel_k", "encoder.attn_layers.0.emb_rel_v",
                    "encoder.attn_layers.0.conv_q.weight", "encoder.attn_layers.1.conv_v.bias", "encoder.attn_layers.1.conv_o.weight",
                    "encoder.norm_layers_1.0.gamma", "encoder.ffn_layers.0.conv_1.weight", "encoder.ffn_layers.1.conv_2.bias",
                    "encoder.norm_layers_2.1.beta", "proj.weight"]
        assertGradients(of: pick(encoder, keys), tolerance: 2e-2) {
            let out = try! encoder(tokens, lengths: [6, 3])
            return Tensor.concat([out.m, out.logs], axis: 1) * weights
        }
    }

    func tinySDP(gin: Int, seed: UInt64) -> StochasticDurationPredictor {
        let rng = RandomGenerator(seed: seed)
        let sdp = StochasticDurationPredictor(inChannels: 4, ginChannels: gin, generator: rng)
        sdp.eval()
        // Non-trivial flows: the reference zero-inits ConvFlow.proj and the affine maps.
        for (key, p) in sdp.namedParameters() {
            if key.hasSuffix(".proj.weight") || key.hasSuffix(".proj.bias") || key.hasSuffix(".m") || key.hasSuffix(".logs") {
                randomize(p, rng, std: 0.2)
            }
            if key.contains("norms") && key.hasSuffix("gamma") { randomize(p, rng, std: 0.2); for i in 0..<p.count { p.pointer[i] += 1 } }
        }
        return sdp
    }

    func testStochasticDurationPredictorGradientCheck() throws {
        let sdp = tinySDP(gin: 3, seed: 5)
        let rng = RandomGenerator(seed: 9)
        let h = rng.normal([2, 4, 5]), g = rng.normal([2, 3, 1]), noise = rng.normal([2, 2, 5])
        let mask = TextEncoder.sequenceMask(lengths: [5, 3], length: 5)
        let w = Tensor(shape: [2, 1, 5], data: [2, 1, 3, 4, 1, 2, 5, 1, 0, 0])
        let keys = ["flows.0.logs", "flows.1.pre.weight", "flows.1.convs.convs_sep.1.weight", "flows.3.proj.weight",
                    "flows.7.convs.norms_2.2.gamma", "post_pre.weight", "post_proj.bias", "post_convs.convs_1x1.0.weight",
                    "post_flows.0.m", "post_flows.5.proj.bias", "pre.weight", "proj.weight", "convs.convs_sep.2.bias",
                    "cond.weight"]
        assertGradients(of: pick(sdp, keys), tolerance: 2e-2) {
            sdp.negativeLogLikelihood(h, mask: mask, durations: w, g: g, noise: noise)
        }
    }

    func testDeterministicDurationPredictorGradientCheck() throws {
        let rng = RandomGenerator(seed: 21)
        let dp = DurationPredictor(inChannels: 4, filterChannels: 6, ginChannels: 3, generator: rng)
        dp.eval()
        let h = rng.normal([2, 4, 5]), g = rng.normal([2, 3, 1])
        let mask = TextEncoder.sequenceMask(lengths: [5, 3], length: 5)
        let w = Tensor(shape: [2, 1, 5], data: [2, 1, 3, 4, 1, 2, 5, 1, 0, 0])
        assertGradients(of: pick(dp, ["conv_1.weight", "norm_1.gamma", "conv_2.bias", "norm_2.beta", "proj.weight", "cond.weight"])) {
            dp.durationLoss(h, mask: mask, durations: w, g: g, noise: nil, trace: nil).loss
        }
        // Inputs are detached: nothing flows back into h or g.
        let hLeaf = h.copy(), gLeaf = g.copy()
        hLeaf.requiresGrad = true; gLeaf.requiresGrad = true
        dp(hLeaf, mask: mask, g: gLeaf).sum().backward()
        XCTAssertNil(hLeaf.grad); XCTAssertNil(gLeaf.grad)
    }

    /// ConvFlow and ElementwiseAffine: reverse ∘ forward = identity on the valid positions; the
    /// forward log-determinant equals Σ log|∂y/∂x| measured by finite differences.
    func testFlowInverses() throws {
        let sdp = tinySDP(gin: 0, seed: 8)
        let rng = RandomGenerator(seed: 4)
        let x = rng.normal([2, 2, 6]).multiplied(by: 2)
        let g = rng.normal([2, 4, 6])
        let mask = TextEncoder.sequenceMask(lengths: [6, 4], length: 6)
        let xm = x * mask
        let flow = try XCTUnwrap(sdp.module(at: "flows.3") as? ConvFlow)
        let (y, logdet) = flow.transform(xm, mask: mask, g: g, reverse: false)
        let back = flow.transform(y, mask: mask, g: g, reverse: true).y
        for (a, b) in zip(back.scalars, xm.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        // The ConvFlow Jacobian is diagonal in x₁ (x₀ passes through): logdet = Σ log(Δy₁/Δx₁).
        let eps: Float = 1e-2
        for b in 0..<2 {
            var expected = 0.0
            for t in 0..<6 where mask.scalars[b * 6 + t] > 0 {
                let up = xm.copy(), down = xm.copy()
                up.pointer[b * 12 + 6 + t] += eps; down.pointer[b * 12 + 6 + t] -= eps
                let dy = flow.transform(up, mask: mask, g: g, reverse: false).y.scalars[b * 12 + 6 + t]
                    - flow.transform(down, mask: mask, g: g, reverse: false).y.scalars[b * 12 + 6 + t]
                expected += log(Double(dy) / Double(2 * eps))
            }
            XCTAssertEqual(Double(logdet.scalars[b]), expected, accuracy: 1e-2)
        }
        let affine = try XCTUnwrap(sdp.module(at: "flows.0") as? ElementwiseAffine)
        let (ya, _) = affine.forward(xm, mask: mask)
        for (a, b) in zip(affine.reverse(ya, mask: mask).scalars, xm.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// Relative attention against a direct double-precision evaluation of the reference formula,
    /// including T < window + 1 (the reference's slicing branch of `_get_relative_embeddings`).
    func testRelativeAttentionAgainstDirectFormula() throws {
        for t in [3, 7] {
            let rng = RandomGenerator(seed: UInt64(30 + t))
            let c = 4, heads = 2, d = 2, w = 4
            let attention = RelativeMultiHeadAttention(channels: c, outChannels: c, heads: heads, window: w, dropout: 0, generator: rng)
            let x = rng.normal([1, c, t])
            let lengths = [t - 1]
            let mask = TextEncoder.sequenceMask(lengths: lengths, length: t)
            let attnMask = mask.unsqueezed(2) * mask.unsqueezed(3)
            let ours = attention(x, attentionMask: attnMask).scalars

            func conv(_ layer: Conv1d, _ input: [Double]) -> [Double] {     // 1×1 conv, [C, T]
                let wt = layer.weight!.scalars, bias = layer.bias!.scalars
                var out = [Double](repeating: 0, count: c * t)
                for o in 0..<c { for s in 0..<t {
                    var acc = Double(bias[o])
                    for i in 0..<c { acc += Double(wt[o * c + i]) * input[i * t + s] }
                    out[o * t + s] = acc
                } }
                return out
            }
            let xin = x.scalars.map(Double.init)
            let q = conv(attention.convQ, xin), k = conv(attention.convK, xin), v = conv(attention.convV, xin)
            let ek = attention.embRelK.scalars.map(Double.init), ev = attention.embRelV.scalars.map(Double.init)
            var merged = [Double](repeating: 0, count: c * t)
            for hd in 0..<heads {
                for i in 0..<t {
                    var scores = [Double](repeating: 0, count: t)
                    for j in 0..<t {
                        var s = 0.0
                        for e in 0..<d {
                            let qi = q[(hd * d + e) * t + i] / Double(d).squareRoot()
                            s += qi * k[(hd * d + e) * t + j]
                            if abs(j - i) <= w { s += qi * ek[(j - i + w) * d + e] }
                        }
                        scores[j] = (i < lengths[0] && j < lengths[0]) ? s : -1e4
                    }
                    let top = scores.max()!
                    let ex = scores.map { exp($0 - top) }, total = ex.reduce(0, +)
                    for e in 0..<d {
                        var o = 0.0
                        for j in 0..<t {
                            let p = ex[j] / total
                            o += p * v[(hd * d + e) * t + j]
                            if abs(j - i) <= w { o += p * ev[(j - i + w) * d + e] }
                        }
                        merged[(hd * d + e) * t + i] = o
                    }
                }
            }
            let expected = conv(attention.convO, merged)
            for (a, b) in zip(ours, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-5, "T = \(t)") }
        }
    }

    func testRelativePositionBandIsAdjointAndDifferentiable() throws {
        let rng = RandomGenerator(seed: 17)
        for t in [3, 6, 12] {
            let band = rng.normal([2, 3, t, 9]), dense = rng.normal([2, 3, t, t])
            // ⟨toDense(b), D⟩ = ⟨b, fromDense(D)⟩
            let lhs = zip(RelativePositionBand.toDense(band, window: 4).scalars, dense.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            let rhs = zip(band.scalars, RelativePositionBand.fromDense(dense, window: 4).scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
            band.requiresGrad = true; dense.requiresGrad = true
            for r in GradientCheck.run(inputs: [band], { RelativePositionBand.toDense($0[0], window: 4) }) {
                XCTAssertLessThan(r.relativeError, 1e-2)
            }
            for r in GradientCheck.run(inputs: [dense], { RelativePositionBand.fromDense($0[0], window: 4) }) {
                XCTAssertLessThan(r.relativeError, 1e-2)
            }
        }
    }

    func testRelativeAttentionGradientCheck() throws {
        let rng = RandomGenerator(seed: 23)
        let attention = RelativeMultiHeadAttention(channels: 4, outChannels: 4, heads: 2, dropout: 0, generator: rng)
        let x = rng.normal([2, 4, 6])
        x.requiresGrad = true
        let mask = TextEncoder.sequenceMask(lengths: [6, 4], length: 6)
        let attnMask = mask.unsqueezed(2) * mask.unsqueezed(3)
        let params = pick(attention, ["emb_rel_k", "emb_rel_v", "conv_q.weight", "conv_k.weight", "conv_v.bias", "conv_o.weight"])
        assertGradients(of: [("x", x)] + params) { attention(x, attentionMask: attnMask) }
    }
}
