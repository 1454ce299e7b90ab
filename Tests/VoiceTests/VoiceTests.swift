import Audio
import Engine
import Foundation
import Mandarin
import Training
import VITS
import Voice
import XCTest

/// Export, load and synthesis over a fake run folder in the RUN_LAYOUT format, written with the
/// trainer's own `CheckpointStore`, from tiny random-weight models (vocabulary = zh-v1).
final class VoiceTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        Engine.configure()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("voice-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: fixtures

    static let vocabulary = PhonemeInventory.v1.count
    static let speakerNames = ["target_male", "male_low", "female_high", "child"]

    static func configURL(_ name: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.resourceURL)
        return base.appendingPathComponent("Fixtures/configs/\(name).json")
    }

    static func mandarinFrontend() throws -> TextFrontend {
        let frontend = try MandarinFrontend.bundled()
        return TextFrontend(name: "mandarin", inventoryName: PhonemeInventory.v1.version, symbols: PhonemeInventory.v1.symbols) { s in
            let r = frontend.process(s)
            return r.pinyin.isEmpty ? [] : try PhonemeInventory.v1.ids(of: r.tokens)
        }
    }

    struct FakeRun {
        var root: URL
        var config: VITSConfig
        var models: [Int: SynthesizerTrn]
    }

    /// A run folder as `vits train` leaves it: config, inventory, speakers, provenance and one
    /// checkpoint per step (generator + a small discriminator file + state.json with checksums).
    func makeRun(config name: String = "tiny-spk", steps: [Int] = [10, 20], best: Int? = 10,
                 provenance: [String: Any]? = nil, adapt: ((SynthesizerTrn) throws -> [String: Tensor])? = nil) throws -> FakeRun {
        let root = scratch.appendingPathComponent("run-\(name)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let configData = try Data(contentsOf: Self.configURL(name))
        try configData.write(to: root.appendingPathComponent("config.json"))
        let config = try VITSConfig.parse(configData)
        let inventory: [String: Any] = ["version": PhonemeInventory.v1.version, "symbols": PhonemeInventory.v1.symbols,
                                        "non_speech": ["<pad>", "sil", "sp"]]
        try JSONSerialization.data(withJSONObject: inventory).write(to: root.appendingPathComponent("inventory.json"))
        let speakerCount = max(1, config.data.nSpeakers)
        let speakers = (0..<speakerCount).map { ["id": $0, "name": Self.speakerNames[$0], "source": "biaobei:/corpus/\($0)"] as [String: Any] }
        try JSONSerialization.data(withJSONObject: ["speakers": speakers]).write(to: root.appendingPathComponent("speakers.json"))
        let prov = provenance ?? ["corpus": "/data/synthetic", "parent": NSNull(), "kind": "pretrain", "freeze": [String](), "lora": NSNull()]
        try JSONSerialization.data(withJSONObject: prov).write(to: root.appendingPathComponent("provenance.json"))
        let store = try CheckpointStore(root: root.appendingPathComponent("checkpoints"))
        var models: [Int: SynthesizerTrn] = [:]
        for step in steps {
            let model = SynthesizerTrn(config: config, vocabularySize: Self.vocabulary, generator: RandomGenerator(seed: UInt64(step)))
            let lora = try adapt?(model)
            models[step] = model
            try store.write(step: step) { folder in
                let base = model.stateDict().filter { !$0.key.contains(".lora.") }
                try TensorFile.save(base.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                    to: folder.appendingPathComponent("generator.safetensors"))
                if let lora {
                    try TensorFile.save(lora.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                        to: folder.appendingPathComponent("lora.safetensors"))
                }
                try TensorFile.save([("dummy", Tensor(zeros: [4]))], to: folder.appendingPathComponent("discriminator.safetensors"))
                var trainer: [String: Any] = ["step": step]
                if let best { trainer["bestStep"] = best }
                return try JSONSerialization.data(withJSONObject: trainer)
            }
        }
        return FakeRun(root: root, config: config, models: models)
    }

    func synthesizer(_ voice: Voice) throws -> VoiceSynthesizer {
        try VoiceSynthesizer(voice: voice, frontend: Self.mandarinFrontend())
    }

    // MARK: export and load

    func testExportF32WritesInferenceWeightsAndLoadsBack() throws {
        let run = try makeRun()
        let out = scratch.appendingPathComponent("voices/tiny")
        let report = try VoiceExporter.export(run: run.root, choice: .latest, to: out)
        XCTAssertEqual(report.step, 20)

        let manifest = try VoiceBundle.readManifest(out)
        XCTAssertEqual(manifest.name, "tiny")
        XCTAssertEqual(manifest.sampleRate, 22050)
        XCTAssertEqual(manifest.weightsDType, "F32")
        XCTAssertEqual(manifest.inventory.name, "zh-v1")
        XCTAssertEqual(manifest.inventory.symbols, PhonemeInventory.v1.symbols)
        XCTAssertEqual(manifest.speakers.map(\.name), Self.speakerNames)
        XCTAssertEqual(manifest.frontend, "mandarin")
        XCTAssertEqual(manifest.provenance.step, 20)
        XCTAssertEqual(manifest.provenance.corpus, "/data/synthetic")
        XCTAssertEqual(try VITSConfig.parse(Data(manifest.config.utf8)), run.config)

        // Exactly the generator's inference tensors, bit for bit.
        let stored = try TensorFile.load(out.appendingPathComponent("model.safetensors"))
        let source = try XCTUnwrap(run.models[20]).stateDict()
        XCTAssertEqual(Set(stored.keys), Set(source.keys.filter { !$0.hasPrefix("enc_q.") }))
        XCTAssertFalse(stored.keys.contains { $0.hasPrefix("enc_q.") })
        for (key, t) in stored { XCTAssertEqual(t.scalars, source[key]?.scalars, key) }

        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("| checkpoint step | 20 |"), card)
        XCTAssertTrue(card.contains("/data/synthetic"))
        XCTAssertTrue(card.contains("female_high"))

        // The bundle and the run give the same voice: same samples for the same seed.
        let fromBundle = try synthesizer(VoiceLoader.load(out))
        let fromRun = try synthesizer(VoiceLoader.load(run.root))
        let options = SynthesisOptions(speaker: "male_low", seed: 3)
        let a = try fromBundle.synthesize("你好，世界。", options: options)
        let b = try fromRun.synthesize("你好，世界。", options: options)
        XCTAssertFalse(a.samples.isEmpty)
        XCTAssertEqual(a.samples, b.samples)
    }

    func testExportF16RoundsWeightsToHalfPrecision() throws {
        let run = try makeRun(config: "tiny-dp", steps: [5], best: nil)
        let out32 = scratch.appendingPathComponent("v32"), out16 = scratch.appendingPathComponent("v16")
        try VoiceExporter.export(run: run.root, choice: .latest, to: out32)
        try VoiceExporter.export(run: run.root, choice: .latest, to: out16, name: "half", fp16: true)
        let manifest = try VoiceBundle.readManifest(out16)
        XCTAssertEqual(manifest.weightsDType, "F16")
        XCTAssertEqual(manifest.name, "half")
        XCTAssertTrue(manifest.speakers.count <= 1)
        let w32 = try TensorFile.load(out32.appendingPathComponent("model.safetensors"))
        let w16 = try TensorFile.load(out16.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(w32.keys), Set(w16.keys))
        var maxRelative: Float = 0
        for (key, full) in w32 {
            let half = try XCTUnwrap(w16[key])
            for (x, h) in zip(full.scalars, half.scalars) {
                // Round to nearest half: error ≤ 2^-11 relative (normal range), ≤ 2^-25 absolute (subnormals).
                XCTAssertLessThanOrEqual(abs(x - h), abs(x) * 0x1p-11 + 0x1p-25, key)
                if abs(x) > 1e-3 { maxRelative = max(maxRelative, abs(x - h) / abs(x)) }
            }
        }
        XCTAssertGreaterThan(maxRelative, 0, "F16 weights should differ from F32 somewhere")
        func size(_ u: URL) throws -> Int { try XCTUnwrap((FileManager.default.attributesOfItem(atPath: u.appendingPathComponent("model.safetensors").path)[.size] as? NSNumber)?.intValue) }
        XCTAssertLessThan(Double(try size(out16)), 0.55 * Double(try size(out32)))
        let result = try synthesizer(VoiceLoader.load(out16)).synthesize("我们走吧。", options: SynthesisOptions(seed: 1))
        XCTAssertFalse(result.samples.isEmpty)
        XCTAssertTrue(result.samples.allSatisfy { $0.isFinite && abs($0) <= 1 })
    }

    func testCheckpointChoice() throws {
        let run = try makeRun(steps: [10, 20, 30], best: 20)
        func step(_ choice: CheckpointChoice) throws -> Int? {
            let voice = try VoiceLoader.load(run.root, choice: choice)
            guard case let .checkpoint(_, _, s) = voice.source else { return nil }
            return s
        }
        XCTAssertEqual(try step(.latest), 30)
        XCTAssertEqual(try step(.best), 20)
        XCTAssertEqual(try step(.step(10)), 10)
        XCTAssertThrowsError(try step(.step(15))) { XCTAssertTrue("\($0)".contains("no checkpoint at step 15"), "\($0)") }
        // A checkpoint folder on its own, with its run two levels up.
        let single = try VoiceLoader.load(run.root.appendingPathComponent("checkpoints/step-00000010"))
        XCTAssertEqual(single.manifest.provenance.step, 10)
        XCTAssertEqual(single.manifest.speakers.count, 4)
        XCTAssertEqual(CheckpointChoice(argument: "best"), .best)
        XCTAssertEqual(CheckpointChoice(argument: "120"), .step(120))
        XCTAssertNil(CheckpointChoice(argument: "newest"))
        // No best step recorded: best means latest, with a warning.
        let plain = try makeRun(config: "tiny-dp", steps: [1, 2], best: nil)
        var warnings: [String] = []
        let voice = try VoiceLoader.load(plain.root, choice: .best, warn: { warnings.append($0) })
        XCTAssertEqual(voice.manifest.provenance.step, 2)
        XCTAssertEqual(warnings.count, 1)
    }

    // MARK: synthesis

    func testSentenceSplitting() {
        XCTAssertEqual(VoiceSynthesizer.sentences("第一句。第二句！第三句？\n第四句；fifth! sixth?  \n\n 最后"),
                       ["第一句。", "第二句！", "第三句？", "第四句；", "fifth!", "sixth?", "最后"])
        XCTAssertEqual(VoiceSynthesizer.sentences("你好，世界"), ["你好，世界"])
        XCTAssertEqual(VoiceSynthesizer.sentences(" \n\n "), [])
    }

    func testSynthesisWritesAValidWAVWithSilenceBetweenSentences() throws {
        let run = try makeRun(steps: [10])
        let synth = try synthesizer(VoiceLoader.load(run.root))
        let hop = run.config.data.hopLength
        var options = SynthesisOptions(speaker: "2", seed: 11, sentenceSilence: 0.25)
        let one = try synth.synthesize("今天天气很好。", options: options)
        let two = try synth.synthesize("今天天气很好。今天天气很好。", options: options)
        XCTAssertEqual(one.sentences, ["今天天气很好。"])
        XCTAssertEqual(two.sentences.count, 2)
        XCTAssertEqual(one.samples.count % hop, 0)
        let silence = Int((0.25 * 22050).rounded())   // 5513
        // The first sentence is the same call with the same first draws; then the silence, then the second.
        XCTAssertEqual(Array(two.samples.prefix(one.samples.count)), one.samples)
        XCTAssertTrue(two.samples[one.samples.count..<(one.samples.count + silence)].allSatisfy { $0 == 0 })
        XCTAssertEqual((two.samples.count - silence) % hop, 0)

        let wav = scratch.appendingPathComponent("out.wav")
        try AudioFile.write(one.samples, sampleRate: one.sampleRate, to: wav, format: .pcm16)
        let back = try AudioFile.read(wav)
        XCTAssertEqual(back.sampleRate, 22050)
        XCTAssertEqual(back.samples.count, one.samples.count)
        for (x, y) in zip(one.samples, back.samples) { XCTAssertLessThanOrEqual(abs(x - y), 1.0 / 32768 + 1e-6) }
        options.sentenceSilence = 0
        let joined = try synth.synthesize("今天天气很好。今天天气很好。", options: options)
        XCTAssertEqual(joined.samples.count, two.samples.count - silence)
    }

    /// Frames per token are ⌈s·w⌉ with the same w for the same seed, so with n model tokens:
    /// F(1) ∈ [W, W+n) and F(2) ∈ [2W, 2W+n) ⇒ 2·F(1) − 2n < F(2) < 2·F(1) + n.
    func testLengthScaleScalesDuration() throws {
        for config in ["tiny-spk", "tiny-dp"] {
            let run = try makeRun(config: config, steps: [7])
            let synth = try synthesizer(VoiceLoader.load(run.root))
            let text = "我们明天早上八点在学校门口见面。"
            let n = synth.modelTokens(try Self.mandarinFrontend().tokenize(text)).count
            let hop = run.config.data.hopLength
            func frames(_ scale: Float) throws -> Int {
                try synth.synthesize(text, options: SynthesisOptions(lengthScale: scale, seed: 5)).samples.count / hop
            }
            let f1 = try frames(1), f2 = try frames(2), fHalf = try frames(0.5)
            XCTAssertGreaterThan(f2, 2 * f1 - 2 * n, config)
            XCTAssertLessThan(f2, 2 * f1 + n, config)
            XCTAssertGreaterThan(f2, f1, config)
            XCTAssertLessThan(fHalf, f1, config)
        }
    }

    func testSameSeedSameSamples() throws {
        let run = try makeRun(steps: [3])
        let synth = try synthesizer(VoiceLoader.load(run.root))
        let text = "春天来了，花都开了。"
        let a = try synth.synthesize(text, options: SynthesisOptions(seed: 42))
        let b = try synth.synthesize(text, options: SynthesisOptions(seed: 42))
        let c = try synth.synthesize(text, options: SynthesisOptions(seed: 43))
        XCTAssertEqual(a.samples, b.samples)
        XCTAssertNotEqual(a.samples, c.samples)
        // Speakers change the output (emb_g conditions every module).
        let d = try synth.synthesize(text, options: SynthesisOptions(speaker: "child", seed: 42))
        XCTAssertNotEqual(a.samples, d.samples)
    }

    // MARK: errors

    func testUnknownSpeakerAndEmptyText() throws {
        let run = try makeRun(steps: [3])
        let synth = try synthesizer(VoiceLoader.load(run.root))
        for bad in ["nobody", "4", "-1"] {
            XCTAssertThrowsError(try synth.synthesize("你好。", options: SynthesisOptions(speaker: bad))) { error in
                guard case VoiceError.unknownSpeaker(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("target_male"), m)
            }
        }
        for empty in ["", "   ", "。！？", "\n\n", "😀"] {
            XCTAssertThrowsError(try synth.synthesize(empty, options: SynthesisOptions())) { error in
                guard case SynthesisError.emptyText = error else { return XCTFail("\(empty): \(error)") }
            }
        }
        XCTAssertThrowsError(try synth.synthesize("你好。", options: SynthesisOptions(lengthScale: 0))) { error in
            guard case SynthesisError.invalidOption = error else { return XCTFail("\(error)") }
        }
    }

    func testCorruptWeightsAreTypedErrors() throws {
        let run = try makeRun(config: "tiny-dp", steps: [10, 20], best: nil)
        let out = scratch.appendingPathComponent("v")
        try VoiceExporter.export(run: run.root, choice: .latest, to: out)
        let weights = out.appendingPathComponent("model.safetensors")
        let good = try Data(contentsOf: weights)

        func expectCorrupt(_ body: () throws -> Void, _ label: String) {
            XCTAssertThrowsError(try body(), label) { error in
                guard case VoiceError.corrupt = error else { return XCTFail("\(label): \(error)") }
            }
        }
        try good.prefix(good.count / 2).write(to: weights)                        // truncated
        expectCorrupt({ _ = try VoiceLoader.load(out) }, "truncated")
        try Data(repeating: 0xAB, count: 4096).write(to: weights)                   // garbage
        expectCorrupt({ _ = try VoiceLoader.load(out) }, "garbage")
        try FileManager.default.removeItem(at: weights)                             // missing
        expectCorrupt({ _ = try VoiceLoader.load(out) }, "missing")
        let nan = try TensorFile.load(run.root.appendingPathComponent("checkpoints/step-00000020/generator.safetensors"))
            .filter { SynthesizerTrn.isInferenceKey($0.key) }
        nan["dec.conv_pre.weight"]!.pointer[3] = .nan                                // non-finite value
        let manifest = try VoiceBundle.readManifest(out)
        try VoiceBundle.write(to: out, manifest: manifest, weights: nan, storage: .f32, card: "")
        expectCorrupt({ _ = try VoiceLoader.load(out) }, "NaN")
        var partial = nan
        partial["dec.conv_pre.weight"] = nil                                         // a key missing
        try VoiceBundle.write(to: out, manifest: manifest, weights: partial, storage: .f32, card: "")
        expectCorrupt({ _ = try VoiceLoader.load(out) }, "missing key")

        // A damaged newest checkpoint (same size, different bytes): the checksum catches it; `latest`
        // falls back to the previous checkpoint with a warning, an explicit step refuses.
        let newest = run.root.appendingPathComponent("checkpoints/step-00000020/generator.safetensors")
        var bytes = try Data(contentsOf: newest)
        bytes[bytes.count - 10] ^= 0xFF
        try bytes.write(to: newest)
        var warnings: [String] = []
        let voice = try VoiceLoader.load(run.root, warn: { warnings.append($0) })
        XCTAssertEqual(voice.manifest.provenance.step, 10)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("step 20"), warnings[0])
        expectCorrupt({ _ = try VoiceLoader.load(run.root, choice: .step(20)) }, "explicit step")
        // Truncation is caught too (the recorded size).
        try bytes.prefix(100).write(to: newest)
        expectCorrupt({ _ = try VoiceLoader.load(run.root, choice: .step(20)) }, "truncated checkpoint")
    }

    func testInventoryMismatchIsRefused() throws {
        let run = try makeRun(config: "tiny-dp", steps: [1], best: nil)
        let out = scratch.appendingPathComponent("v")
        try VoiceExporter.export(run: run.root, choice: .latest, to: out)
        let url = out.appendingPathComponent("voice.json")
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var inventory = try XCTUnwrap(object["inventory"] as? [String: Any])
        var symbols = try XCTUnwrap(inventory["symbols"] as? [String])
        symbols.swapAt(8, 9)                                                         // b ↔ p
        inventory["symbols"] = symbols
        inventory["name"] = "zh-custom"
        object["inventory"] = inventory
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        let voice = try VoiceLoader.load(out)
        XCTAssertThrowsError(try synthesizer(voice)) { error in
            guard case VoiceError.inventoryMismatch(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("id 8"), m)
        }
        // Fewer symbols than the weights' embedding rows: refused at load.
        symbols.removeLast()
        inventory["symbols"] = symbols
        object["inventory"] = inventory
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        XCTAssertThrowsError(try VoiceLoader.load(out)) { error in
            guard case VoiceError.inventoryMismatch = error else { return XCTFail("\(error)") }
        }
    }

    // MARK: LoRA

    /// Adapters on the text encoder, the flow and the whole decoder (plain and weight-normed layers,
    /// the resblocks' fused inference path included), with non-zero B: the exported weights equal W + (α/r)·B·A computed
    /// here directly, other tensors are untouched, and synthesis matches the adapted model.
    func testLoRAAdaptersAreMergedOnExport() throws {
        let rank = 2, alpha: Float = 4
        let run = try makeRun(config: "tiny-dp", steps: [50], best: nil,
                              provenance: ["corpus": "/data/target", "parent": "voices/base", "kind": "finetune", "freeze": [String](),
                                           "lora": ["rank": rank, "alpha": alpha, "targets": ["enc_p", "flow", "dec"], "dropout": 0]]) { model in
            let rng = RandomGenerator(seed: 77)
            let adapted = model.attachLoRA(toPrefixes: ["enc_p", "flow", "dec"], rank: rank, alpha: alpha, generator: rng)
            XCTAssertFalse(adapted.isEmpty)
            for (key, t) in model.loraStateDict() where key.hasSuffix("lora_B") {
                let noise = rng.randn(t.shape)
                withExtendedLifetime(noise) { t.pointer.update(from: noise.pointer, count: t.count) }
            }
            return model.loraStateDict()
        }
        let model = try XCTUnwrap(run.models[50])
        model.eval()
        let out = scratch.appendingPathComponent("lora-voice")
        try VoiceExporter.export(run: run.root, choice: .latest, to: out)
        let merged = try TensorFile.load(out.appendingPathComponent("model.safetensors"))
        let manifest = try VoiceBundle.readManifest(out)
        XCTAssertEqual(manifest.provenance.parentVoice, "voices/base")
        XCTAssertTrue(manifest.provenance.notes?.contains("LoRA rank 2") == true, manifest.provenance.notes ?? "")
        XCTAssertFalse(merged.keys.contains { $0.contains("lora") })
        let state = model.stateDict()

        /// W + (α/r)·B·A with plain loops, in the weight's [rows, rest] view.
        func expected(_ path: String, base: [Float]) throws -> [Float] {
            let a = try XCTUnwrap(state[path + ".lora.lora_A"]), b = try XCTUnwrap(state[path + ".lora.lora_B"])
            let r = a.shape[0], cols = a.shape[1], rows = b.shape[0]
            let av = a.scalars, bv = b.scalars
            var w = base
            for i in 0..<rows { for j in 0..<cols {
                var s: Float = 0
                for k in 0..<r { s += bv[i * r + k] * av[k * cols + j] }
                w[i * cols + j] += alpha / Float(r) * s
            } }
            return w
        }
        func weightNormed(g: [Float], v: [Float], rows: Int) -> [Float] {
            let n = v.count / rows
            var w = v
            for i in 0..<rows {
                let norm = (0..<n).reduce(Float(0)) { $0 + v[i * n + $1] * v[i * n + $1] }.squareRoot()
                for j in 0..<n { w[i * n + j] = g[i] * v[i * n + j] / norm }
            }
            return w
        }
        func assertClose(_ x: [Float], _ y: [Float], _ label: String) {
            XCTAssertEqual(x.count, y.count, label)
            let scale = y.map(abs).max() ?? 1
            let err = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, 1e-5 * max(scale, 1), label)
        }
        // A plain conv (attention projection) and a weight-normed transposed conv (upsampling).
        let q = "enc_p.encoder.attn_layers.0.conv_q"
        assertClose(try XCTUnwrap(merged[q + ".weight"]).scalars, try expected(q, base: try XCTUnwrap(state[q + ".weight"]).scalars), q)
        for layer in ["dec.ups.0", "dec.resblocks.1.convs1.2"] {
            let g = try XCTUnwrap(state[layer + ".weight_g"]), v = try XCTUnwrap(state[layer + ".weight_v"])
            let baseW = weightNormed(g: g.scalars, v: v.scalars, rows: v.shape[0])
            let mergedW = weightNormed(g: try XCTUnwrap(merged[layer + ".weight_g"]).scalars,
                                       v: try XCTUnwrap(merged[layer + ".weight_v"]).scalars, rows: v.shape[0])
            assertClose(mergedW, try expected(layer, base: baseW), layer)
        }
        // Layers without adapters are copied unchanged.
        for key in ["dp.proj.weight", "dp.conv_1.weight", "enc_p.emb.weight"] {
            XCTAssertEqual(merged[key]?.scalars, state[key]?.scalars, key)
        }
        // Synthesis with merged weights equals the adapted model's (the adapted layers run W + ΔW).
        let voice = try VoiceLoader.load(out)
        let synth = try synthesizer(voice)
        let text = "你们好。"
        let ours = try synth.synthesize(text, options: SynthesisOptions(seed: 9))
        let tokens = synth.modelTokens(try Self.mandarinFrontend().tokenize(text))
        let direct = try model.infer(tokens: IntTensor(shape: [1, tokens.count], values: tokens), tokenLengths: [tokens.count],
                                     noise: GeneratorNoise(RandomGenerator(seed: 9)))
        let reference = Array(direct.audio.scalars.prefix(direct.frameLengths[0] * run.config.data.hopLength))
        assertClose(ours.samples, reference, "merged vs adapted synthesis")

        // Without alpha anywhere the adapters cannot be merged: a clear error, no bundle.
        try JSONSerialization.data(withJSONObject: ["kind": "finetune", "lora": ["rank": rank]])
            .write(to: run.root.appendingPathComponent("provenance.json"))
        let noAlpha = scratch.appendingPathComponent("no-alpha")
        XCTAssertThrowsError(try VoiceExporter.export(run: run.root, choice: .latest, to: noAlpha)) { error in
            XCTAssertTrue("\(error)".contains("alpha"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: noAlpha.path))
    }
}
