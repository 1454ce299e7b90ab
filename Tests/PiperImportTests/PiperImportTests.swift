import XCTest
import Foundation
@testable import Formats
import Engine
@testable import VITS
import Training
@testable import Voice
import PiperPhonemes

/// Fixtures: scripts/fixtures/make_piper_fixtures.py (Piper's own model code, random weights;
/// onnxruntime's output saved beside the ONNX file).
final class PiperImportTests: XCTestCase {
    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/\(name)")
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("piper-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: Piper ONNX → bundle → synthesis equals onnxruntime

    func testImportedPiperVoiceEqualsOnnxRuntime() throws {
        Engine.configure()
        let out = try temporaryFolder().appendingPathComponent("tiny")
        let report = try PiperVoiceImporter.importVoice(onnx: try fixture("tiny.onnx"), to: out)
        // The exporter renamed the flow's weight-normed convolutions, the embedding (to `sid`) and dp.flows.0.logs.
        XCTAssertTrue(report.recovered.contains { $0.initializer == "sid" && $0.key == "enc_p.emb.weight" })
        XCTAssertTrue(report.recovered.contains { $0.initializer.hasPrefix("onnx::Exp") && $0.key == "dp.flows.0.logs" })
        XCTAssertTrue(report.initialized.allSatisfy { $0.hasPrefix("dp.post_") || $0.hasPrefix("dp.flows.1.") })
        XCTAssertEqual(report.manifest.sampleRate, 16000)
        XCTAssertEqual(report.manifest.inventory.symbols.count, 24)
        XCTAssertEqual(report.manifest.inventory.symbols[22], "ə")

        let voice = try VoiceLoader.load(out)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("tiny.expected.json"))) as! [String: Any]
        let cases = try XCTUnwrap(expected["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 2)
        for c in cases {
            let ids = try XCTUnwrap(c["phoneme_ids"] as? [Int]).map(Int32.init)
            let (shape, want) = try Npy.read(contentsOf: try fixture(try XCTUnwrap(c["audio"] as? String)))
            let out = try voice.model.infer(tokens: IntTensor(shape: [1, ids.count], values: ids), tokenLengths: [ids.count],
                                            noiseScale: 0, lengthScale: 1, noiseScaleW: 0,
                                            noise: GeneratorNoise(RandomGenerator(seed: 1)))
            let n = out.frameLengths[0] * voice.config.data.hopLength
            XCTAssertEqual(n, shape.reduce(1, *), "length (frames × hop) differs from onnxruntime's")
            var worst: Float = 0
            for i in 0..<min(n, want.count) { worst = max(worst, abs(out.audio.pointer[i] - want[i])) }
            XCTAssertLessThan(worst, 1e-3, "max |ours − onnxruntime| over \(n) samples")
            print("piper equality: \(ids.count) ids, \(n) samples, max abs diff \(worst)")
        }
    }

    // MARK: a multi-speaker Piper voice

    /// `multi.onnx.gz` holds the exporter's exact bytes, gzip-compressed (size budget): inflated
    /// here with gzip(1) into a scratch folder, with its voice config beside it.
    func multiSpeakerVoice(config edit: ((inout String) -> Void)? = nil) throws -> (onnx: URL, expected: [String: Any]) {
        let folder = try temporaryFolder()
        let onnx = folder.appendingPathComponent("multi.onnx")
        FileManager.default.createFile(atPath: onnx.path, contents: nil)
        let sink = try FileHandle(forWritingTo: onnx)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-dc", try fixture("multi.onnx.gz").path]
        gzip.standardOutput = sink
        try gzip.run()
        gzip.waitUntilExit()
        try sink.close()
        XCTAssertEqual(gzip.terminationStatus, 0, "gzip -dc multi.onnx.gz")
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("multi.expected.json"))) as? [String: Any])
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: onnx.path)[.size] as? Int)
        XCTAssertEqual(size, expected["onnx_bytes"] as? Int, "inflated multi.onnx has the exporter's size")
        var json = try String(contentsOf: try fixture("multi.onnx.json"), encoding: .utf8)
        edit?(&json)
        try Data(json.utf8).write(to: URL(fileURLWithPath: onnx.path + ".json"))
        return (onnx, expected)
    }

    /// Each speaker id of an imported multi-speaker Piper voice, spoken through the path
    /// `vits synthesize --ids --speaker` takes, equals onnxruntime's waveform for that `sid`.
    func testImportedMultiSpeakerPiperVoiceEqualsOnnxRuntime() throws {
        Engine.configure()
        let (onnx, expected) = try multiSpeakerVoice()
        let out = try temporaryFolder().appendingPathComponent("multi")
        let report = try PiperVoiceImporter.importVoice(onnx: onnx, to: out)
        XCTAssertEqual(report.manifest.speakers, [.init(id: 0, name: "p239"), .init(id: 1, name: "p240"), .init(id: 2, name: "3922")])
        XCTAssertTrue(report.initialized.allSatisfy { $0.hasPrefix("dp.post_") || $0.hasPrefix("dp.flows.1.") }, "\(report.initialized)")
        // The speaker table keeps its name; the cond layers of flow and duration predictor are recovered from their readers.
        XCTAssertFalse(report.recovered.contains { $0.key == "emb_g.weight" })
        XCTAssertTrue(report.recovered.contains { $0.key == "flow.flows.0.enc.cond_layer.weight" })
        let voice = try VoiceLoader.load(out)
        XCTAssertTrue(voice.config.isMultiSpeaker)
        XCTAssertEqual(voice.config.data.nSpeakers, 3)
        XCTAssertEqual(voice.config.model.ginChannels, 4)
        XCTAssertEqual(voice.config.model.resblock, .one)
        XCTAssertEqual(voice.config.model.upsampleRates, [8, 4])
        XCTAssertEqual(voice.config.model.nLayers, 1)

        let cases = try XCTUnwrap(expected["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        var spoken: [Int: [Float]] = [:]
        for c in cases {
            let ids = try XCTUnwrap(c["phoneme_ids"] as? [Int])
            let speaker = try XCTUnwrap(c["speaker_id"] as? Int)
            let (shape, want) = try Npy.read(contentsOf: try fixture(try XCTUnwrap(c["audio"] as? String)))
            var options = SynthesisOptions(noiseScale: 0, lengthScale: 1, noiseScaleW: 0, seed: 1)
            options.speaker = String(speaker)
            let got = try VoiceSynthesizer.synthesize(tokens: ids, voice: voice, options: options)
            XCTAssertEqual(got.count, shape.reduce(1, *), "speaker \(speaker): length (frames × hop) differs from onnxruntime's")
            var worst: Float = 0
            for i in 0..<min(got.count, want.count) { worst = max(worst, abs(got[i] - want[i])) }
            XCTAssertLessThan(worst, 1e-3, "speaker \(speaker): max |ours − onnxruntime| over \(got.count) samples")
            print("piper multi-speaker equality: speaker \(speaker), \(ids.count) ids, \(got.count) samples, max abs diff \(worst)")
            spoken[speaker] = got
        }
        // Different speakers, different audio (lengths, as the duration predictor is conditioned too, or samples).
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let x = try XCTUnwrap(spoken[a]), y = try XCTUnwrap(spoken[b])
            let n = min(x.count, y.count)
            let gap = (0..<n).reduce(Float(0)) { max($0, abs(x[$1] - y[$1])) }
            XCTAssertTrue(x.count != y.count || gap > 0.1, "speakers \(a) and \(b) sound the same (max diff \(gap))")
            print("speakers \(a) vs \(b): \(x.count) / \(y.count) samples, max diff over the common part \(gap)")
        }
    }

    /// Speakers by name (`vits synthesize --speaker p240`) are the same as by id; a name that
    /// looks like a number (LibriTTS-style "3922") is found by name; an unknown speaker is refused.
    func testMultiSpeakerVoiceSelectsSpeakersByNameAndRefusesUnknownOnes() throws {
        Engine.configure()
        let (onnx, expected) = try multiSpeakerVoice()
        let out = try temporaryFolder().appendingPathComponent("multi")
        _ = try PiperVoiceImporter.importVoice(onnx: onnx, to: out)
        let voice = try VoiceLoader.load(out)
        let ids = try XCTUnwrap((expected["cases"] as? [[String: Any]])?.first?["phoneme_ids"] as? [Int])
        func speak(_ speaker: String?) throws -> [Float] {
            var options = SynthesisOptions(noiseScale: 0, lengthScale: 1, noiseScaleW: 0, seed: 1)
            options.speaker = speaker
            return try VoiceSynthesizer.synthesize(tokens: ids, voice: voice, options: options)
        }
        XCTAssertEqual(try voice.manifest.speakerID("p240"), 1)
        XCTAssertEqual(try voice.manifest.speakerID("3922"), 2)
        XCTAssertEqual(try speak("p240"), try speak("1"))
        XCTAssertEqual(try speak("3922"), try speak("2"))
        XCTAssertEqual(try speak(nil), try speak("p239"), "no --speaker: the first speaker")
        for bad in ["3", "-1", "p241"] {
            XCTAssertThrowsError(try voice.manifest.speakerID(bad), bad) { error in
                XCTAssertEqual("\(error)", "unknown speaker '\(bad)'; this voice has: 0 (p239), 1 (p240), 2 (3922)")
            }
            XCTAssertThrowsError(try speak(bad), bad) { error in
                guard case .unknownSpeaker? = error as? VoiceError else { return XCTFail("\(error)") }
            }
        }
    }

    /// A config whose speakers do not fit the graph's speaker embedding is refused, naming both.
    func testMultiSpeakerConfigThatDisagreesWithTheModelIsRefused() throws {
        let cases: [(edit: (inout String) -> Void, message: String)] = [
            ({ $0 = $0.replacingOccurrences(of: "\"3922\": 2", with: "\"3922\": 5") },
             "speaker_id_map.3922 is id 5, but the model has 3 speakers (ids 0…2)"),
            ({ $0 = $0.replacingOccurrences(of: "\"num_speakers\": 3", with: "\"num_speakers\": 2") },
             "num_speakers is 2, but the model's speaker embedding (emb_g) has 3 rows"),
            ({ $0 = $0.replacingOccurrences(of: "\"3922\": 2", with: "\"3922\": 1") },
             "speaker_id_map gives id 1 to both \"3922\" and \"p240\""),
        ]
        for (edit, message) in cases {
            let (onnx, _) = try multiSpeakerVoice(config: edit)
            XCTAssertThrowsError(try PiperVoiceImporter.importVoice(onnx: onnx, to: try temporaryFolder().appendingPathComponent("x"))) { error in
                XCTAssertTrue("\(error)".contains("multi.onnx.json: " + message), "\(error)")
            }
        }
        // Ids the map leaves out are named after their id.
        let (onnx, _) = try multiSpeakerVoice { $0 = $0.replacingOccurrences(of: "\"p240\": 1,", with: "") }
        let report = try PiperVoiceImporter.importVoice(onnx: onnx, to: try temporaryFolder().appendingPathComponent("x"))
        XCTAssertEqual(report.manifest.speakers.map(\.name), ["p239", "speaker1", "3922"])
    }

    /// The Piper config is read through the JSON layer: every problem at once, each with its line.
    func testBadPiperConfigIsReportedByLineAndKey() throws {
        let good = try PiperVoiceConfig(url: try fixture("tiny.onnx.json"))
        XCTAssertGreaterThan(good.sampleRate, 0)
        XCTAssertFalse(good.phonemeIDMap.isEmpty)
        let folder = try temporaryFolder()
        let bad = folder.appendingPathComponent("bad.onnx.json")
        try Data("""
        {
          "audio": {"quality": "low"},
          "phoneme_id_map": {
            "a": [3],
            "b": "4",
            "c": [-1]
          },
          "num_speakers": "one"
        }
        """.utf8).write(to: bad)
        XCTAssertThrowsError(try PiperVoiceConfig(url: bad)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bad.onnx.json:2: audio.sample_rate: missing required key"), text)
            XCTAssertTrue(text.contains("bad.onnx.json:5: phoneme_id_map.b: expected a list, found a string"), text)
            XCTAssertTrue(text.contains("bad.onnx.json:6: phoneme_id_map.c: expected a non-empty list of ids ≥ 0"), text)
            XCTAssertTrue(text.contains("bad.onnx.json:8: num_speakers: expected an integer, found a string"), text)
        }
        let broken = folder.appendingPathComponent("broken.onnx.json")
        try Data("{\"audio\": {\"sample_rate\": 22050,}}".utf8).write(to: broken)
        XCTAssertThrowsError(try PiperVoiceConfig(url: broken)) { error in
            XCTAssertTrue("\(error)".contains("broken.onnx.json: not valid JSON: line 1"), "\(error)")
        }
    }

    func testImportRecordsMissingParts() throws {
        let out = try temporaryFolder().appendingPathComponent("tiny")
        _ = try PiperVoiceImporter.importVoice(onnx: try fixture("tiny.onnx"), to: out)
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("piper.json"))) as! [String: Any]
        // Piper's config is kept as it was (read once, through the JSON layer): equal to Foundation's reading of the file.
        let original = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("tiny.onnx.json"))) as? [String: Any])
        XCTAssertEqual(NSDictionary(dictionary: try XCTUnwrap(sidecar["piper_config"] as? [String: Any])), NSDictionary(dictionary: original))
        let record = try XCTUnwrap(sidecar["import"] as? [String: Any])
        XCTAssertEqual(record["posterior_encoder"] as? Bool, false)
        XCTAssertEqual(record["discriminator"] as? Bool, false)
        let manifest = try VoiceBundle.readManifest(out)
        XCTAssertEqual(manifest.frontend, "piper-espeak")
        XCTAssertTrue(manifest.provenance.notes?.contains("no posterior encoder") ?? false)
        let weights = try VoiceBundle.readWeights(out, manifest: manifest)
        XCTAssertFalse(weights.keys.contains { $0.hasPrefix("enc_q.") })
    }

    // MARK: PyTorch checkpoints

    func testReferencePthImportsToAFinetuneParent() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let config = try temporaryFolder().appendingPathComponent("config.json")
        // The fixture's architecture, as its Lightning twin records it.
        let lightning = try ImportedCheckpoint.read(try fixture("tiny.ckpt"))
        try XCTUnwrap(lightning.hyperParameters).referenceConfig().write(to: config)
        let report = try CheckpointRunImporter.importRun(file: try fixture("G_7.pth"), config: config, to: run)
        XCTAssertEqual(report.step, 7)
        XCTAssertEqual(report.layout, "reference .pth")
        XCTAssertEqual(report.learningRate ?? 0, 1.9e-4, accuracy: 1e-12)
        XCTAssertEqual(report.generatorFit?.missing, [])
        XCTAssertTrue(report.ignored.contains("optimizer"))
        // What `vits finetune --from` reads.
        let parent = try RunSetup.parentWeights(run, console: ConsoleReporter(mode: .quiet))
        // Values equal the Lightning checkpoint's copy of the same generator.
        let g = try XCTUnwrap(lightning.generator)
        XCTAssertEqual(Set(parent.generator.keys), Set(g.keys))
        for (key, t) in parent.generator {
            let u = try XCTUnwrap(g[key])
            XCTAssertEqual(t.shape, u.shape, key)
            XCTAssertTrue((0..<t.count).allSatisfy { t.pointer[$0] == u.pointer[$0] }, key)
        }
        XCTAssertNil(parent.discriminator)
    }

    func testLightningCheckpointImportsWithConfigAndDiscriminator() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let report = try CheckpointRunImporter.importRun(file: try fixture("tiny.ckpt"), to: run)
        XCTAssertEqual(report.step, 42)
        XCTAssertTrue(report.configWritten)
        XCTAssertEqual(report.discriminatorTensors, 111)  // model_d.* keys of the fixture (Piper's MultiPeriodDiscriminator)
        let config = try VITSConfig.load(contentsOf: run.appendingPathComponent("config.json"))
        XCTAssertEqual(config.model.hiddenChannels, 8)
        XCTAssertEqual(config.model.upsampleRates, [8, 8, 4])
        XCTAssertEqual(config.data.samplingRate, 16000)
        XCTAssertFalse(config.data.addBlank)
        let parent = try RunSetup.parentWeights(run, console: ConsoleReporter(mode: .quiet))
        XCTAssertNotNil(parent.discriminator)
        XCTAssertNotNil(parent.generator["enc_q.pre.weight"])
    }

    // MARK: hostile and damaged files

    func testHostileReduceIsRefusedWithoutRunning() throws {
        let marker = "/tmp/swiftvits-pickle-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        XCTAssertThrowsError(try TorchCheckpointFile(url: try fixture("hostile_system.pth"))) { error in
            XCTAssertEqual(error as? TorchFileError, .pickle(.refusedGlobal(source: (try? self.fixture("hostile_system.pth").path) ?? "", name: "posix.system")))
            XCTAssertTrue("\(error)".contains("posix.system"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testUnknownGlobalIsRefusedByName() throws {
        XCTAssertThrowsError(try ImportedCheckpoint.read(try fixture("hostile_global.pth"))) { error in
            XCTAssertTrue("\(error)".contains("'training_code.Custom'"), "\(error)")
        }
    }

    func testTruncatedAndLegacyFilesAreRefused() throws {
        XCTAssertThrowsError(try TorchCheckpointFile(url: try fixture("truncated.pth"))) { error in
            guard case .zip(.notZip)? = error as? TorchFileError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("truncated"))
        }
        XCTAssertThrowsError(try TorchCheckpointFile(url: try fixture("legacy.pth"))) { error in
            guard case .legacyFormat? = error as? TorchFileError else { return XCTFail("\(error)") }
        }
    }

    // MARK: the readers on their own

    func testUnpicklerBuildsPlainValues() throws {
        // protocol 2: {'a': [1, -2, 3.5, True, None], 'b': ('x', 300)} from pickle.dumps(..., protocol=2)
        let bytes: [UInt8] = [0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, 0x5d, 0x71, 0x02,
                              0x28, 0x4b, 0x01, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
                              0x00, 0x88, 0x4e, 0x65, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x71, 0x03, 0x58, 0x01, 0x00, 0x00,
                              0x00, 0x78, 0x71, 0x04, 0x4d, 0x2c, 0x01, 0x86, 0x71, 0x05, 0x75, 0x2e]
        let value = try RestrictedUnpickler.load(bytes, source: "inline")
        let d = try XCTUnwrap(value.dict)
        let a = try XCTUnwrap(d["a"]?.items)
        XCTAssertEqual(a.count, 5)
        XCTAssertEqual(a[0].number, 1)
        XCTAssertEqual(a[1].number, -2)
        XCTAssertEqual(a[2].number, 3.5)
        XCTAssertEqual(a[3].number, 1)
        let b = try XCTUnwrap(d["b"]?.items)
        XCTAssertEqual(b[0].string, "x")
        XCTAssertEqual(b[1].number, 300)
        // Cut anywhere, the pickle is reported damaged, never read past its end.
        for cut in [3, 20, 40, bytes.count - 1] {
            XCTAssertThrowsError(try RestrictedUnpickler.load(Array(bytes[..<cut]), source: "inline"))
        }
    }

    func testCRC32KnownValue() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Data()), 0)
    }

    // MARK: Piper phonemes (espeak-ng)

    /// Expected ids: piper-tts 1.8.0 (`EspeakPhonemizer().phonemize` + `phonemes_to_ids` with its
    /// DEFAULT_PHONEME_ID_MAP, the subset below) on the same texts.
    func testPhonemesAndIdsEqualPiperTTS() throws {
        let map: [String: [Int]] = ["_": [0], "^": [1], "$": [2], " ": [3], "!": [4], ",": [8], ".": [10], ";": [12], "?": [13],
            "a": [14], "d": [17], "e": [18], "f": [19], "h": [20], "i": [21], "j": [22], "k": [23], "l": [24], "n": [26], "o": [27],
            "s": [31], "t": [32], "u": [33], "v": [34], "w": [35], "ɑ": [51], "ə": [59], "ɛ": [61], "ɜ": [62], "ɡ": [66], "ɪ": [74],
            "ɹ": [88], "ɾ": [92], "ʊ": [100], "ˈ": [120], "ː": [122]]
        let english = try PiperPhonemizer(espeakVoice: "en-us", phonemeIDMap: map)
        let sentences = try english.phonemes("Hello, world. How are you? Fine!")
        XCTAssertEqual(sentences.map { $0.joined() }, ["həlˈoʊ, wˈɜːld.", "hˈaʊ ɑːɹ juː?", "fˈaɪn!"])
        XCTAssertEqual(sentences.map { english.ids($0).ids }, [
            [1, 0, 20, 0, 59, 0, 24, 0, 120, 0, 27, 0, 100, 0, 8, 0, 3, 0, 35, 0, 120, 0, 62, 0, 122, 0, 24, 0, 17, 0, 10, 0, 2],
            [1, 0, 20, 0, 120, 0, 14, 0, 100, 0, 3, 0, 51, 0, 122, 0, 88, 0, 3, 0, 22, 0, 33, 0, 122, 0, 13, 0, 2],
            [1, 0, 19, 0, 120, 0, 14, 0, 74, 0, 26, 0, 4, 0, 2]])
        let german = try PiperPhonemizer(espeakVoice: "de", phonemeIDMap: map)
        let de = try german.phonemes("Guten Tag; wie geht es dir?")
        XCTAssertEqual(de.count, 1, "a semicolon does not end a sentence")
        XCTAssertEqual(german.ids(de[0]).ids, [1, 0, 66, 0, 120, 0, 33, 0, 122, 0, 32, 0, 59, 0, 26, 0, 3, 0, 32, 0, 120, 0, 51, 0, 122, 0,
            23, 0, 12, 0, 3, 0, 34, 0, 21, 0, 122, 0, 3, 0, 66, 0, 120, 0, 18, 0, 122, 0, 32, 0, 3, 0, 61, 0, 31, 0, 3, 0, 17, 0,
            120, 0, 21, 0, 122, 0, 92, 0, 13, 0, 2])
        XCTAssertThrowsError(try PiperPhonemizer(espeakVoice: "en-us", phonemeIDMap: ["_": [0]]))
        XCTAssertEqual(try english.phonemes("").count, 0)
        XCTAssertThrowsError(try PiperPhonemizer(espeakVoice: "no-such-voice", phonemeIDMap: map).phonemes("a")) { error in
            XCTAssertTrue("\(error)".contains("no-such-voice"))
        }
    }
}
