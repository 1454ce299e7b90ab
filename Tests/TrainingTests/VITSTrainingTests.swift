import XCTest
import Foundation
import Audio
import Corpus
import Cores
import Engine
import Training
import VITS

/// End-to-end training behaviour on a tiny VITS and a miniature two-speaker corpus built here:
/// exact resume, fine-tuning from a run, freeze presets, LoRA, and crash safety of the real binary.
final class VITSTrainingTests: XCTestCase {
    static let sentences: [(String, String, Double)] = [
        ("今天#1天气#2很好#4。", "jin1 tian1 tian1 qi4 hen2 hao3", 1.6),
        ("请等#1一会儿#4。", "qing2 deng3 yi2 huir4", 1.2),
        ("我们#1去#1公园#4。", "wo3 men5 qu4 gong1 yuan2", 1.4),
        ("明天#1见#4。", "ming2 tian1 jian4", 1.1),
        ("外面#1下着#1小雨#4。", "wai4 mian4 xia4 zhe5 xiao2 yu3", 1.5),
        ("他#1很高兴#4。", "ta1 hen3 gao1 xing4", 1.3),
    ]

    static let base = FileManager.default.temporaryDirectory.appendingPathComponent("vits-training-\(getpid())")

    /// Biaobei-layout speakers (a buzzy tone per syllable with noise), prepared into one data folder.
    static let data: URL = {
        let data = base.appendingPathComponent("data")
        if FileManager.default.fileExists(atPath: data.appendingPathComponent("manifest.jsonl").path) { return data }
        for (s, speaker) in ["spk_a", "spk_b"].enumerated() {
            let root = base.appendingPathComponent("corpus/\(speaker)")
            let wave = root.appendingPathComponent("Wave"), labels = root.appendingPathComponent("ProsodyLabeling")
            try! FileManager.default.createDirectory(at: wave, withIntermediateDirectories: true)
            try! FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
            var text = ""
            var rng = SplitMix64(seed: UInt64(7 + s))
            for (i, (hanzi, pinyin, seconds)) in sentences.enumerated() {
                let id = String(format: "%06d", i + 1)
                text += "\(id)\t\(hanzi)\n\t\(pinyin)\n"
                let n = Int(seconds * 48000), f0 = Double(110 + 60 * s)
                let x = (0..<n).map { t -> Float in
                    let tone = sin(2 * Double.pi * f0 * Double(t) / 48000) + 0.5 * sin(4 * Double.pi * f0 * Double(t) / 48000)
                    let noise = Double(rng.next() >> 40) / Double(1 << 24) - 0.5
                    return Float(0.25 * tone + 0.02 * noise)
                }
                try! AudioFile.write(x, sampleRate: 48000, to: wave.appendingPathComponent("\(id).wav"))
            }
            try! Data(text.utf8).write(to: labels.appendingPathComponent("000001-010000.txt"))
            var options = PrepareOptions()
            options.speaker = speaker
            options.validation = .count(1)
            _ = try! Preparer.prepare(.biaobei(root), into: data, options: options)
        }
        return data
    }()

    /// A tiny config: the fixture-sized generator, a narrowed 3-discriminator MPD, short segments.
    static func config(maxSteps: Int, speakers: Int = 2) -> Data {
        let json: [String: Any] = [
            "train": ["log_interval": 2, "eval_interval": 3, "sample_interval": 100, "checkpoint_interval": 3,
                      "keep_last": 2, "seed": 1234, "epochs": 1, "learning_rate": 2e-4, "betas": [0.8, 0.99], "eps": 1e-9,
                      "batch_size": 2, "fp16_run": false, "lr_decay": 0.999875, "segment_size": 2048, "init_lr_ratio": 1,
                      "warmup_epochs": 0, "c_mel": 45, "c_kl": 1.0, "max_steps": maxSteps, "boundaries": [10, 200, 400],
                      "probe_sentences": ["你好。"]],
            "data": ["text_cleaners": [], "max_wav_value": 32768.0, "sampling_rate": 22050, "filter_length": 1024,
                     "hop_length": 256, "win_length": 1024, "n_mel_channels": 80, "mel_fmin": 0.0, "mel_fmax": NSNull(),
                     "add_blank": false, "n_speakers": speakers, "cleaned_text": true],
            "model": ["inter_channels": 8, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2, "n_layers": 1,
                      "kernel_size": 3, "p_dropout": 0.1, "resblock": "2", "resblock_kernel_sizes": [3],
                      "resblock_dilation_sizes": [[1, 2]], "upsample_rates": [8, 8, 4], "upsample_initial_channel": 32,
                      "upsample_kernel_sizes": [16, 16, 8], "n_layers_q": 2, "use_spectral_norm": false,
                      "gin_channels": speakers > 1 ? 8 : 0, "use_sdp": true,
                      "discriminator_width_multiplier": 0.0625, "discriminator_periods": [2, 3]],
        ]
        return try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    }

    private func makeTrainer(run: String, maxSteps: Int, adapt: ((SynthesizerTrn, MultiPeriodDiscriminator, RandomGenerator) throws -> Void)? = nil,
                             frozenDiscriminator: Bool = false) throws -> (Trainer, VITSTrainingTask) {
        let raw = Self.config(maxSteps: maxSteps)
        let config = try VITSConfig.parse(raw)
        let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
        let console = ConsoleReporter(mode: .quiet)
        let dir = try RunSetup.openRun(Self.base.appendingPathComponent("runs/\(run)"), config: raw, data: Self.data,
                                       provenance: ["kind": "test"], allowConfigChange: false, console: console)
        let task = try VITSTrainingTask(config: config, options: options, data: Self.data,
                                        frozenDiscriminator: frozenDiscriminator, warn: { _ in }, adapt: adapt)
        return (try Trainer(run: dir, settings: options.settings, task: task, console: console), task)
    }

    private func allTensors(_ t: VITSTrainingTask) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (k, v) in t.generator.stateDict() { out["g." + k] = v.scalars }
        for (k, v) in t.discriminator.stateDict() { out["d." + k] = v.scalars }
        for (k, v) in t.optimizerG.stateTensors() { out["og." + k] = v.scalars }
        for (k, v) in t.optimizerD.stateTensors() { out["od." + k] = v.scalars }
        return out
    }

    override class func tearDown() { try? FileManager.default.removeItem(at: base) }

    func testResumeIsBitIdenticalOnEveryTensorOfBothModelsAndOptimizers() throws {
        Engine.configure()
        let (straight, straightTask) = try makeTrainer(run: "straight", maxSteps: 6)
        XCTAssertEqual(try straight.run(), .finished(step: 6))
        let (first, _) = try makeTrainer(run: "resumed", maxSteps: 3)
        XCTAssertEqual(try first.run(), .finished(step: 3))
        let (second, resumedTask) = try makeTrainer(run: "resumed", maxSteps: 6)
        XCTAssertEqual(second.state.step, 3)
        XCTAssertEqual(try second.run(), .finished(step: 6))
        let a = allTensors(straightTask), b = allTensors(resumedTask)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertGreaterThan(a.count, 400)
        for (k, v) in a { XCTAssertEqual(v, b[k], "tensor \(k) differs after resume") }
        XCTAssertEqual(straightTask.rng.state, resumedTask.rng.state)
        // Training changed the weights (the comparison is not vacuous).
        let (fresh, freshTask) = try makeTrainer(run: "fresh", maxSteps: 1)
        _ = fresh
        XCTAssertNotEqual(allTensors(freshTask)["g.dec.conv_pre.weight"], a["g.dec.conv_pre.weight"])
    }

    func testFrozenPresetsStayBitwiseUnchangedAndLoRATrainsOnlyAdapters() throws {
        Engine.configure()
        var frozenBefore: [String: [Float]] = [:]
        let (t1, task1) = try makeTrainer(run: "freeze", maxSteps: 2, adapt: { g, _, _ in
            for prefix in FreezePreset.textEncoder.generatorPrefixes + FreezePreset.flow.generatorPrefixes { g.freeze(prefix) }
            for (k, v) in g.stateDict() where k.hasPrefix("enc_p.") || k.hasPrefix("flow.") { frozenBefore[k] = v.scalars }
        }, frozenDiscriminator: true)
        let dBefore = task1.discriminator.stateDict().mapValues(\.scalars)
        try t1.run()
        let after = task1.generator.stateDict()
        for (k, v) in frozenBefore { XCTAssertEqual(after[k]?.scalars, v, "\(k) changed although frozen") }
        XCTAssertNotEqual(after["dec.conv_pre.weight"]?.scalars, nil)
        for (k, v) in task1.discriminator.stateDict() { XCTAssertEqual(v.scalars, dBefore[k], "discriminator \(k) changed although frozen") }

        var baseBefore: [String: [Float]] = [:]
        let (t2, task2) = try makeTrainer(run: "lora", maxSteps: 2, adapt: { g, _, rng in
            g.freeze()
            XCTAssertFalse(g.attachLoRA(toPrefixes: ["dec", "flow"], rank: 2, alpha: 4, generator: rng).isEmpty)
            for (k, v) in g.stateDict() where !k.contains(".lora.") { baseBefore[k] = v.scalars }
        })
        let loraBefore = task2.generator.loraStateDict().mapValues(\.scalars)
        try t2.run()
        for (k, v) in task2.generator.stateDict() where !k.contains(".lora.") { XCTAssertEqual(v.scalars, baseBefore[k], "base \(k) changed under LoRA") }
        let changed = task2.generator.loraStateDict().filter { loraBefore[$0.key] != $0.value.scalars }
        XCTAssertFalse(changed.isEmpty, "no adapter tensor changed")
        // Merged weights reproduce the adapted model's synthesis within 1e-5.
        let tokens = IntTensor(shape: [1, 6], values: [1, 9, 40, 12, 60, 1])
        let adapted = try task2.generator.infer(tokens: tokens, tokenLengths: [6], speakers: [0], noise: GeneratorNoise(RandomGenerator(seed: 5)))
        let plain = SynthesizerTrn(config: task2.config, vocabularySize: task2.generator.vocabularySize, generator: RandomGenerator(seed: 9))
        plain.eval(); task2.generator.eval()
        try plain.load(task2.generator.mergedStateDict(), strict: true)
        let a = try task2.generator.infer(tokens: tokens, tokenLengths: [6], speakers: [0], noise: GeneratorNoise(RandomGenerator(seed: 5)))
        let m = try plain.infer(tokens: tokens, tokenLengths: [6], speakers: [0], noise: GeneratorNoise(RandomGenerator(seed: 5)))
        _ = adapted
        XCTAssertEqual(a.audio.shape, m.audio.shape)
        for (x, y) in zip(a.audio.scalars, m.audio.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        // The checkpoint stores the adapters separately.
        let newest = try XCTUnwrap(CheckpointStore(root: Self.base.appendingPathComponent("runs/lora/checkpoints")).steps().last)
        let folder = Self.base.appendingPathComponent("runs/lora/checkpoints/" + CheckpointStore.folderName(step: newest))
        let loraFile = try TensorFile.load(folder.appendingPathComponent("lora.safetensors"))
        XCTAssertTrue(loraFile.keys.allSatisfy { $0.contains(".lora.") })
        XCTAssertFalse(try TensorFile.load(folder.appendingPathComponent("generator.safetensors")).keys.contains { $0.contains(".lora.") })
    }

    func testFineTuneStartsAtStepZeroWithLoadReport() throws {
        Engine.configure()
        let (parent, _) = try makeTrainer(run: "parent", maxSteps: 3)
        try parent.run()
        let weights = try RunSetup.parentWeights(Self.base.appendingPathComponent("runs/parent"), console: ConsoleReporter(mode: .quiet))
        XCTAssertEqual(weights.description, "parent step 3")
        var report = TransferReport()
        let (child, _) = try makeTrainer(run: "child", maxSteps: 1, adapt: { g, _, _ in
            report = WeightTransfer.transfer(weights.generator, into: g, reshapable: ["emb_g.weight"])
        })
        XCTAssertEqual(child.state.step, 0)
        XCTAssertTrue(report.missing.isEmpty && report.skipped.isEmpty && report.incompatible.isEmpty, "\(report)")
        XCTAssertGreaterThan(report.loaded.count, 300)
    }

    /// The real binary, killed with SIGKILL at random moments (also while writing checkpoints), always
    /// leaves a run that the same command resumes and finishes; SIGINT saves and exits 0.
    func testKilledRunResumesAndSIGINTSaves() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vits")
        // `swift test` builds every product of the package, the CLI included, next to the test bundle.
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            return XCTFail("the vits binary should sit next to the test bundle: \(binary.path)")
        }
        let data = Self.data   // builds the corpus (and the base folder) when this test runs alone
        let configURL = Self.base.appendingPathComponent("kill.json")
        var raw = try JSONSerialization.jsonObject(with: Self.config(maxSteps: 40)) as! [String: Any]
        var train = raw["train"] as! [String: Any]
        train["checkpoint_interval"] = 1        // a checkpoint every step: kills land inside writes
        raw["train"] = train
        try JSONSerialization.data(withJSONObject: raw).write(to: configURL)
        let run = Self.base.appendingPathComponent("runs/killed")
        func launch() throws -> Process {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["train", "--config", configURL.path, "--data", data.path, "--run", run.path, "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let store = try CheckpointStore(root: run.appendingPathComponent("checkpoints"))
        /// Waits (up to 2 minutes) until the run has published a checkpoint newer than `step`.
        func waitForCheckpoint(after step: Int) -> Int? {
            for _ in 0..<1200 {
                if let s = store.steps().last, s > step { return s }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return nil
        }
        var last = 0
        for delay in [0.0, 0.07, 0.15, 0.31] {   // a checkpoint is written every step: kills land in writes too
            let p = try launch()
            guard let s = waitForCheckpoint(after: last) else { p.terminate(); return XCTFail("no checkpoint appeared") }
            last = s
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertNotNil(try store.loadNewest(warn: { _ in }), "killed after \(delay) s: no loadable checkpoint")
            last = store.steps().last ?? last
        }
        let interrupted = try launch()
        guard waitForCheckpoint(after: last) != nil else { interrupted.terminate(); return XCTFail("no checkpoint appeared") }
        kill(interrupted.processIdentifier, SIGINT)
        interrupted.waitUntilExit()
        XCTAssertEqual(interrupted.terminationReason, .exit)
        XCTAssertEqual(interrupted.terminationStatus, 0, "SIGINT must save and exit cleanly")
        XCTAssertNotNil(try store.loadNewest(warn: { _ in }))
        let final = try launch()
        final.waitUntilExit()
        XCTAssertEqual(final.terminationStatus, 0)
        XCTAssertEqual(try store.loadNewest(warn: { _ in })?.step, 40)
    }
}
