import Foundation
import XCTest
import VITS

final class VITSConfigTests: XCTestCase {
    func testReferenceConfigsLoadWithReferenceValues() throws {
        let ljs = try Fixtures.config("ljs_base")
        XCTAssertEqual(ljs.model.hiddenChannels, 192)
        XCTAssertEqual(ljs.model.filterChannels, 768)
        XCTAssertEqual(ljs.model.resblock, .one)
        XCTAssertEqual(ljs.model.resblockDilationSizes, [[1, 3, 5], [1, 3, 5], [1, 3, 5]])
        XCTAssertEqual(ljs.model.upsampleRates, [8, 8, 2, 2])
        XCTAssertTrue(ljs.model.useSDP, "use_sdp defaults to true as in SynthesizerTrn")
        XCTAssertEqual(ljs.model.ginChannels, 0)
        XCTAssertEqual(ljs.model.discriminatorWidthMultiplier, 1)
        XCTAssertEqual(ljs.model.discriminatorPeriods, [2, 3, 5, 7, 11])
        XCTAssertEqual(ljs.train.learningRate, 2e-4)
        XCTAssertEqual(ljs.train.betas, [0.8, 0.99])
        XCTAssertEqual(ljs.data.melFmax, nil)
        XCTAssertEqual(ljs.data.resolvedMelFmax, 11025)
        XCTAssertEqual(ljs.segmentFrames, 32)
        XCTAssertEqual(ljs.spectrogramChannels, 513)
        XCTAssertFalse(ljs.isMultiSpeaker)
        XCTAssertEqual(ljs.warnings, [])
        XCTAssertNil(ljs.fixture)

        XCTAssertFalse(try Fixtures.config("ljs_nosdp").model.useSDP)

        let vctk = try Fixtures.config("vctk_base")
        XCTAssertEqual(vctk.data.nSpeakers, 109)
        XCTAssertEqual(vctk.model.ginChannels, 256)
        XCTAssertEqual(vctk.train.epochs, 10000)
        XCTAssertTrue(vctk.isMultiSpeaker)
        XCTAssertEqual(vctk.warnings, [])
    }

    func testFixtureConfigsLoadWithTheirFixtureSection() throws {
        for name in Fixtures.fixtureNames {
            let config = try Fixtures.config(name)
            XCTAssertEqual(config.fixture?.name, name)
            XCTAssertEqual(config.fixture?.nVocab, 40)
            XCTAssertEqual(config.fixture?.symbols?.count, 40)
            XCTAssertEqual(config.fixture?.noiseScale, 0.667)
            XCTAssertEqual(config.fixture?.noiseScaleW, 0.8)
            XCTAssertEqual(config.model.hiddenChannels, 32)
            XCTAssertEqual(config.warnings, [], "\(name)")
        }
        XCTAssertEqual(try Fixtures.config("tiny-spk").fixture?.sids, [2, 0])
        XCTAssertNil(try Fixtures.config("tiny-sdp").fixture?.sids)
        XCTAssertFalse(try Fixtures.config("tiny-dp").model.useSDP)
    }

    /// The reference JSON as a mutable dictionary, for building broken variants.
    private func ljsObject() throws -> [String: Any] {
        let data = try Data(contentsOf: Fixtures.url("configs/ljs_base.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func parse(_ object: [String: Any]) throws -> VITSConfig {
        try VITSConfig.parse(JSONSerialization.data(withJSONObject: object), source: "variant.json")
    }

    /// Applies `edit` to section `section` of ljs_base and expects an error naming `keyPath`.
    private func assertRejected(_ section: String, _ keyPath: String, file: StaticString = #filePath, line: UInt = #line,
                                _ edit: (inout [String: Any]) -> Void) throws {
        var root = try ljsObject()
        var s = try XCTUnwrap(root[section] as? [String: Any])
        edit(&s)
        root[section] = s
        do {
            _ = try parse(root)
            XCTFail("expected an error naming \(keyPath)", file: file, line: line)
        } catch let error as VITSConfigError {
            XCTAssertTrue(error.mentions(keyPath), "error does not name \(keyPath): \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains("variant.json"), file: file, line: line)
        }
    }

    func testValidationErrorsNameTheBadKey() throws {
        try assertRejected("model", "model.resblock_dilation_sizes") { $0["resblock_dilation_sizes"] = [[1, 3, 5], [1, 3, 5]] }
        try assertRejected("model", "model.resblock_dilation_sizes") { $0["resblock_dilation_sizes"] = [[1, 3], [1, 3], [1, 3]] }
        try assertRejected("model", "model.resblock_kernel_sizes") { $0["resblock_kernel_sizes"] = [3, 6, 11] }
        try assertRejected("model", "model.upsample_kernel_sizes") { $0["upsample_kernel_sizes"] = [16, 16, 4] }
        try assertRejected("model", "model.upsample_kernel_sizes") { $0["upsample_kernel_sizes"] = [16, 15, 4, 4] }
        try assertRejected("model", "model.upsample_rates") { $0["upsample_rates"] = [8, 8, 2, 4]; $0["upsample_kernel_sizes"] = [16, 16, 4, 8] }
        try assertRejected("model", "model.upsample_initial_channel") { $0["upsample_initial_channel"] = 100 }
        try assertRejected("model", "model.upsample_mode") { $0["upsample_mode"] = "linear" }
        try assertRejected("model", "model.upsample_mode") { $0["upsample_mode"] = 3 }
        // "nearest" convolves with "same" padding: odd kernels only (the reference's 16, 16, 4, 4 are even).
        try assertRejected("model", "model.upsample_kernel_sizes") { $0["upsample_mode"] = "nearest" }
        try assertRejected("model", "model.n_heads") { $0["n_heads"] = 5 }
        try assertRejected("model", "model.inter_channels") { $0["inter_channels"] = 191 }
        try assertRejected("model", "model.resblock") { $0["resblock"] = "3" }
        try assertRejected("model", "model.p_dropout") { $0["p_dropout"] = 1.5 }
        try assertRejected("model", "model.hidden_channels") { $0["hidden_channels"] = nil }
        try assertRejected("model", "model.hidden_channels") { $0["hidden_channels"] = "192" }
        try assertRejected("model", "model.kernel_size") { $0["kernel_size"] = 2.5 }
        try assertRejected("model", "model.use_sdp") { $0["use_sdp"] = "yes" }
        try assertRejected("model", "model.discriminator_width_multiplier") { $0["discriminator_width_multiplier"] = 0.3 }
        try assertRejected("model", "model.discriminator_width_multiplier") { $0["discriminator_width_multiplier"] = 0 }
        try assertRejected("model", "model.discriminator_periods") { $0["discriminator_periods"] = [2, 0] }
        try assertRejected("model", "model.discriminator_periods") { $0["discriminator_periods"] = [2, 2] }
        try assertRejected("data", "model.gin_channels") { $0["n_speakers"] = 4 }
        try assertRejected("data", "data.win_length") { $0["win_length"] = 2048 }
        try assertRejected("data", "data.mel_fmax") { $0["mel_fmax"] = 20000 }
        try assertRejected("data", "data.hop_length") { $0["hop_length"] = 0 }
        try assertRejected("train", "train.segment_size") { $0["segment_size"] = 8000 }
        try assertRejected("train", "train.betas") { $0["betas"] = [0.8] }
        try assertRejected("train", "train.learning_rate") { $0["learning_rate"] = nil }
        // The trainer's own train.* keys are read here too (once), with the same keyed errors.
        try assertRejected("train", "train.lr_decay_unit") { $0["lr_decay_unit"] = "weekly" }
        try assertRejected("train", "train.keep_last") { $0["keep_last"] = "3" }
        try assertRejected("train", "train.boundaries") { $0["boundaries"] = [32, "300"] }
        try assertRejected("train", "train.probe_sentences") { $0["probe_sentences"] = "一句话" }
        try assertRejected("train", "train.max_steps") { $0["max_steps"] = 10.5 }
    }

    /// The trainer keys: absent ones take the documented defaults, present ones their values.
    func testTrainerKeysAreReadOnce() throws {
        let plain = try parse(try ljsObject()).train
        XCTAssertNil(plain.maxSteps)
        XCTAssertNil(plain.boundaries)
        XCTAssertNil(plain.probeSentences)
        XCTAssertNil(plain.gradClipNorm)
        XCTAssertEqual([plain.sampleInterval, plain.checkpointInterval, plain.keepLast, plain.maxConsecutiveNonFinite,
                        plain.lrDecayEpochSteps, plain.validationItems], [5000, 1000, 3, 20, 100, 8])
        XCTAssertEqual(plain.lrDecayUnit, .step)
        var root = try ljsObject()
        var train = try XCTUnwrap(root["train"] as? [String: Any])
        train["max_steps"] = 700
        train["keep_last"] = 2
        train["boundaries"] = [32, 300, 400]
        train["probe_sentences"] = ["你好。"]
        train["lr_decay_unit"] = "epoch"
        train["grad_clip_norm"] = 5.5
        root["train"] = train
        let config = try parse(root)
        XCTAssertEqual(config.train.maxSteps, 700)
        XCTAssertEqual(config.train.keepLast, 2)
        XCTAssertEqual(config.train.boundaries, [32, 300, 400])
        XCTAssertEqual(config.train.probeSentences, ["你好。"])
        XCTAssertEqual(config.train.lrDecayUnit, .epoch)
        XCTAssertEqual(config.train.gradClipNorm, 5.5)
        XCTAssertEqual(config.warnings.filter { $0.contains("train.") }, [], "trainer keys are known keys")
    }

    func testAbsurdSizesAreRejectedNotTrapped() throws {
        try assertRejected("model", "model.hidden_channels") { $0["hidden_channels"] = 1_000_000_000_000 }
        try assertRejected("model", "model.n_layers") { $0["n_layers"] = 100_000 }
        try assertRejected("model", "model.discriminator_width_multiplier") { $0["discriminator_width_multiplier"] = 1_000_000 }
        try assertRejected("data", "data.n_speakers") { $0["n_speakers"] = 1_000_000_000; }
        try assertRejected("model", "model.kernel_size") { $0["kernel_size"] = 1e300 }
        XCTAssertThrowsError(try VITSParameters.generator(Fixtures.config("ljs_base"), vocabularySize: 1 << 40))
    }

    /// Random edits of a valid file must give a config or a VITSConfigError, never a crash.
    func testCorruptedFilesNeverCrash() throws {
        let original = Array(try Fixtures.text("configs/ljs_base.json").utf8)
        var rng = TestRandom(state: 99)
        let alphabet = Array("{}[]\",:0123456789.eE-+ truefalsnl\\u\n".utf8) + [0x00, 0xC3, 0xFF]
        var failures = 0
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<rng.int(1...4) {
                let at = rng.int(0...(bytes.count - 1))
                switch rng.int(0...2) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet[rng.int(0...(alphabet.count - 1))], at: at)
                default: bytes[at] = alphabet[rng.int(0...(alphabet.count - 1))]
                }
            }
            do {
                _ = try VITSConfig.parse(Data(bytes), source: "fuzz.json")
            } catch {
                failures += 1
                XCTAssertFalse(error.issues.isEmpty)
            }
        }
        XCTAssertGreaterThan(failures, 100)
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertThrowsError(try VITSConfig.parse(Data(deep.utf8)))
    }

    func testEveryProblemIsReportedAtOnce() throws {
        var root = try ljsObject()
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["n_heads"] = "two"
        model["upsample_rates"] = [8, "x"]
        root["model"] = model
        root["data"] = nil
        do {
            _ = try parse(root)
            XCTFail("expected errors")
        } catch let error as VITSConfigError {
            XCTAssertTrue(error.mentions("model.n_heads"))
            XCTAssertTrue(error.mentions("model.upsample_rates"))
            XCTAssertTrue(error.mentions("data"))
            XCTAssertEqual(error.issues.count, 3, "\(error)")
        }
    }

    func testErrorsCarryTheLineOfTheValue() throws {
        var text = try Fixtures.text("configs/ljs_base.json")
        let lines = text.components(separatedBy: "\n")
        let headsLine = try XCTUnwrap(lines.firstIndex { $0.contains("\"n_heads\"") }) + 1
        text = text.replacingOccurrences(of: "\"n_heads\": 2", with: "\"n_heads\": 7")
        do {
            _ = try VITSConfig.parse(Data(text.utf8), source: "edited.json")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.issues.first?.keyPath, "model.n_heads")
            XCTAssertEqual(error.issues.first?.line, headsLine)
            XCTAssertTrue(error.description.hasPrefix("edited.json:\(headsLine): model.n_heads: "), error.description)
        }
    }

    func testUnknownKeysWarnButLoad() throws {
        var root = try ljsObject()
        root["symbols"] = ["_", "a"]
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["use_fancy_thing"] = true
        root["model"] = model
        let config = try parse(root)
        XCTAssertEqual(config.warnings.count, 2, "\(config.warnings)")
        XCTAssertTrue(config.warnings.contains { $0.contains("symbols: unknown key") })
        XCTAssertTrue(config.warnings.contains { $0.contains("model.use_fancy_thing: unknown key") })
    }

    func testExtensionsAreReadWhenPresent() throws {
        var root = try ljsObject()
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["discriminator_width_multiplier"] = 0.25
        model["discriminator_periods"] = [2, 3]
        root["model"] = model
        let config = try parse(root)
        XCTAssertEqual(config.model.discriminatorWidthMultiplier, 0.25)
        XCTAssertEqual(config.model.discriminatorPeriods, [2, 3])
        XCTAssertEqual(config.model.decoder.upsampling, .transposed)
        XCTAssertEqual(config.warnings, [])

        model["upsample_mode"] = "nearest"
        model["upsample_kernel_sizes"] = [15, 15, 3, 3]
        root["model"] = model
        let nearest = try parse(root)
        XCTAssertEqual(nearest.model.decoder.upsampling, .nearest)
        XCTAssertEqual(nearest.warnings, [])
    }

    func testSyntaxErrorsGiveTheLine() {
        let cases: [(String, Int)] = [
            ("{\n  \"train\": {,\n}", 2),
            ("{\n\"a\": 1,\n\"a\": 2\n}", 3),
            ("{\n\"a\": [1, 2\n", 3),
            ("{\"a\": 01}", 1),
            ("{\"a\": \"tab\there\"}", 1),
            ("", 1),
            ("[1, 2]", 1),
        ]
        for (text, line) in cases {
            do {
                _ = try VITSConfig.parse(Data(text.utf8), source: "bad.json")
                XCTFail("accepted \(text.debugDescription)")
            } catch {
                XCTAssertEqual(error.issues.first?.line, line, "\(text.debugDescription): \(error)")
            }
        }
    }

    func testMissingFileIsATypedError() {
        let url = URL(fileURLWithPath: "/nonexistent/dir/config.json")
        XCTAssertThrowsError(try VITSConfig.load(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/dir/config.json"))
            XCTAssertTrue("\(error)".contains("does not exist"))
        }
    }

    func testResBlock2Config() throws {
        var root = try ljsObject()
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["resblock"] = "2"
        model["resblock_dilation_sizes"] = [[1, 2], [2, 6], [3, 12]]
        root["model"] = model
        XCTAssertEqual(try parse(root).model.resblock, .two)
    }
}
