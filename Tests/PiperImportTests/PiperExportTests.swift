import Engine
import Formats
import Foundation
import Training
import VITS
import Voice
import XCTest

/// `vits export --format piper` without Python: the written ONNX file read back with our own
/// reader (graph well-formed, every inference weight present and bit-equal to the model's folded
/// weight) and imported back with `vits import piper` (same audio as the model it came from).
/// Equality against onnxruntime and piper-tts is scripts/eval/check_piper_export.py (docs/piper.md).
final class PiperExportTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        Engine.configure()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("piper-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    static let symbols = ["<pad>", "^", "$", " ", "a", "b", "c", "d", "e", "f", "g", "h"]

    /// A tiny architecture (hop 16) in the reference config format; `edit` changes its JSON.
    static func config(sdp: Bool, speakers: Int, resblock: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> VITSConfig {
        try VITSConfig.parse(configJSON(sdp: sdp, speakers: speakers, resblock: resblock, edit: edit))
    }

    static func configJSON(sdp: Bool, speakers: Int, resblock: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        var hp = PiperHyperParameters(numSymbols: symbols.count)
        hp.hiddenChannels = 16; hp.interChannels = 8; hp.filterChannels = 32; hp.nLayers = 2; hp.nHeads = 2
        hp.upsampleRates = [4, 4]; hp.upsampleKernelSizes = [8, 8]; hp.upsampleInitialChannel = 16
        hp.resblock = resblock
        hp.resblockKernelSizes = [3, 5]
        hp.resblockDilationSizes = resblock == "1" ? [[1, 3, 5], [1, 3, 5]] : [[1, 2], [2, 6]]
        hp.hopLength = 16; hp.filterLength = 64; hp.winLength = 64; hp.melChannels = 16; hp.sampleRate = 16000
        hp.segmentSize = 256
        hp.numSpeakers = speakers; hp.ginChannels = speakers > 1 ? 8 : 0; hp.useSDP = sdp
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: hp.referenceConfig()) as? [String: Any])
        edit(&root)
        return try JSONSerialization.data(withJSONObject: root)
    }

    /// A model with every parameter perturbed (the zero-initialised flow outputs too, so no flow is the identity).
    static func model(_ config: VITSConfig, seed: UInt64) -> SynthesizerTrn {
        let model = SynthesizerTrn(config: config, vocabularySize: symbols.count, generator: RandomGenerator(seed: seed))
        let noise = RandomGenerator(seed: seed + 100)
        for (key, t) in model.stateDict().sorted(by: { $0.key < $1.key }) {
            let std: Float = key.hasPrefix("dp.") && key.contains("proj") ? 0.02 : 0.1
            let n = noise.normal(t.shape, std: std)
            for i in 0..<t.count { t.pointer[i] += n.pointer[i] }
        }
        model.eval()
        return model
    }

    static let variants: [(name: String, sdp: Bool, speakers: Int, resblock: String)] = [
        ("sdp-1spk-rb2", true, 1, "2"), ("dp-1spk-rb1", false, 1, "1"), ("sdp-3spk-rb1", true, 3, "1"), ("dp-3spk-rb2", false, 3, "2"),
    ]

    func testExportedGraphReadsBackWellFormedWithEveryInferenceWeight() throws {
        for (i, v) in Self.variants.enumerated() {
            let model = Self.model(try Self.config(sdp: v.sdp, speakers: v.speakers, resblock: v.resblock), seed: UInt64(i + 1))
            let graph = try OnnxInferenceGraph.build(model, name: v.name)
            let url = scratch.appendingPathComponent(v.name + ".onnx")
            try graph.write(to: url)
            let read = try OnnxModel(url: url)

            XCTAssertEqual(read.opset, 15, v.name)
            XCTAssertEqual(read.producer, "swiftvits", v.name)
            XCTAssertEqual(read.inputs, v.speakers > 1 ? ["input", "input_lengths", "scales", "sid"] : ["input", "input_lengths", "scales"], v.name)
            XCTAssertEqual(read.outputs, ["output"], v.name)
            XCTAssertEqual(read.nodes.count, graph.nodes.count, v.name)

            // Well-formed: nodes in topological order, each value defined once, every initializer read.
            var defined = Set(read.inputs).union(read.initializers.map(\.name))
            var consumed = Set<String>()
            for node in read.nodes {
                for input in node.inputs where !input.isEmpty {
                    XCTAssertTrue(defined.contains(input), "\(v.name): \(node.name) reads \(input) before it is defined")
                    consumed.insert(input)
                }
                for output in node.outputs {
                    XCTAssertFalse(defined.contains(output), "\(v.name): \(output) defined twice")
                    defined.insert(output)
                }
            }
            XCTAssertTrue(defined.contains("output"), v.name)
            XCTAssertEqual(Set(read.initializers.map(\.name)).subtracting(consumed), [], "\(v.name): initializers no node reads")

            // Weights: every inference key the graph runs, under its folded name, bit-equal.
            let state = model.stateDict()
            var expected: [String: Tensor] = [:]
            for (key, t) in state where SynthesizerTrn.isInferenceKey(key) && !ImportedWeights.isAbsentFromInferenceGraph(key) {
                let name = ImportedWeights.foldedKey(key)
                if name == key {
                    expected[name] = t
                } else if key.hasSuffix("_g"), let v = state[name + "_v"] {
                    expected[name] = noGrad { Tensor.weightNorm(v: v, g: t) }
                }
            }
            XCTAssertEqual(Set(read.initializers.map(\.name)), Set(expected.keys), v.name)
            for initializer in read.initializers {
                let t = try XCTUnwrap(expected[initializer.name], initializer.name)
                XCTAssertEqual(initializer.shape, t.shape, "\(v.name): \(initializer.name)")
                XCTAssertEqual(initializer.dataType, 1, initializer.name)
                let values = Array(UnsafeBufferPointer(start: t.pointer, count: t.count))
                XCTAssertTrue(initializer.values.elementsEqual(values) { $0.bitPattern == $1.bitPattern }, "\(v.name): \(initializer.name) differs")
            }
            // The decoder's strides and dilations sit on torch-named nodes (what the import reads).
            XCTAssertEqual(read.nodes.first { $0.name == "/dec/ups.1/ConvTranspose" }?.ints["strides"], [4], v.name)
        }
    }

    func testImportingTheExportGivesTheSameAudio() throws {
        try assertExportImportKeepsTheAudio(Self.variants, seedBase: 10)
    }

    /// `model.upsample_mode` "nearest" is exported as the plain transposed convolution it computes (the
    /// box-summed kernel, k + rate − 1 taps); the import reads it back as a reference-layout model.
    func testNearestUpsamplingExportsAsThePlainTransposedConvolutionItComputes() throws {
        let nearest: (inout [String: Any]) -> Void = { root in
            var m = root["model"] as? [String: Any] ?? [:]
            m["upsample_mode"] = "nearest"
            m["upsample_kernel_sizes"] = [7, 5]
            root["model"] = m
        }
        try assertExportImportKeepsTheAudio([("nearest-sdp-1spk-rb2", true, 1, "2"), ("nearest-dp-3spk-rb1", false, 3, "1")],
                                            seedBase: 20, edit: nearest) { imported in
            XCTAssertEqual(imported.config.model.decoder.upsampling, .transposed)
            XCTAssertEqual(imported.config.model.upsampleKernelSizes, [10, 8])
        }
    }

    func assertExportImportKeepsTheAudio(_ variants: [(name: String, sdp: Bool, speakers: Int, resblock: String)], seedBase: Int,
                                         edit: (inout [String: Any]) -> Void = { _ in },
                                         checkImported: (Voice) -> Void = { _ in }) throws {
        for (i, v) in variants.enumerated() {
            let json = try Self.configJSON(sdp: v.sdp, speakers: v.speakers, resblock: v.resblock, edit: edit)
            let config = try VITSConfig.parse(json)
            let model = Self.model(config, seed: UInt64(seedBase + i))
            let configText = String(decoding: json, as: UTF8.self)
            let speakers = v.speakers > 1 ? (0..<v.speakers).map { VoiceManifest.Speaker(id: $0, name: "s\($0)") } : []
            let manifest = VoiceManifest(
                name: v.name, sampleRate: config.data.samplingRate, config: configText,
                inventory: .init(name: "test", symbols: Self.symbols), speakers: speakers, frontend: "test", weightsDType: "F32",
                provenance: .init(corpus: nil, run: nil, step: nil, parentVoice: nil, created: "", tool: "test"))
            let voice = Voice(model: model, manifest: manifest, config: config, source: .bundle(scratch.appendingPathComponent("none")))
            let folder = scratch.appendingPathComponent("piper-" + v.name)
            let report = try PiperVoiceExporter.export(voice, to: folder, name: v.name)
            let piperJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: report.config)) as? [String: Any])
            XCTAssertEqual(piperJSON["num_symbols"] as? Int, Self.symbols.count)
            XCTAssertEqual(piperJSON["num_speakers"] as? Int, v.speakers)
            XCTAssertEqual((piperJSON["phoneme_id_map"] as? [String: [Int]])?["c"], [6])
            XCTAssertEqual((piperJSON["audio"] as? [String: Any])?["sample_rate"] as? Int, 16000)
            XCTAssertEqual((piperJSON["inference"] as? [String: Any])?["noise_scale"] as? Double, 0.667)

            let bundle = scratch.appendingPathComponent("imported-" + v.name)
            _ = try PiperVoiceImporter.importVoice(onnx: report.onnx, to: bundle)
            let imported = try VoiceLoader.load(bundle)
            checkImported(imported)
            let ids: [Int32] = [1, 0, 4, 0, 7, 0, 5, 0, 3, 0, 9, 0, 2]
            for speaker in v.speakers > 1 ? [0, 2] : [0] {
                func speak(_ m: SynthesizerTrn) throws -> InferenceOutputs {
                    try m.infer(tokens: IntTensor(shape: [1, ids.count], values: ids), tokenLengths: [ids.count],
                                speakers: v.speakers > 1 ? [speaker] : nil, noiseScale: 0, lengthScale: 1, noiseScaleW: 0,
                                noise: GeneratorNoise(RandomGenerator(seed: 0)))
                }
                let a = try speak(model), b = try speak(imported.model)
                XCTAssertEqual(a.frameLengths, b.frameLengths, v.name)
                XCTAssertEqual(a.audio.shape, b.audio.shape, v.name)
                let worst = zip(a.audio.scalars, b.audio.scalars).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(worst, 1e-4, "\(v.name) speaker \(speaker): export → import changed the audio by \(worst)")
            }
        }
    }

    func testModelsTheGraphCannotExpressAreRefusedNamingTheKey() throws {
        let pitch = try Self.config(sdp: true, speakers: 1, resblock: "2") { root in
            var m = root["model"] as? [String: Any] ?? [:]
            m["pitch_excitation"] = true
            root["model"] = m
        }
        XCTAssertThrowsError(try OnnxInferenceGraph.build(Self.model(pitch, seed: 1), name: "x")) { error in
            XCTAssertTrue("\(error)".contains("model.pitch_excitation"), "\(error)")
        }
        let istft = try Self.config(sdp: true, speakers: 1, resblock: "2") { root in
            var m = root["model"] as? [String: Any] ?? [:]
            m["decoder"] = "istft"
            m["gen_istft_n_fft"] = 16
            m["gen_istft_hop_size"] = 4
            m["upsample_rates"] = [2, 2]
            m["upsample_kernel_sizes"] = [4, 4]
            root["model"] = m
        }
        XCTAssertThrowsError(try OnnxInferenceGraph.build(Self.model(istft, seed: 1), name: "x")) { error in
            XCTAssertTrue("\(error)".contains("model.decoder"), "\(error)")
            XCTAssertTrue("\(error)".contains("\"istft\""), "\(error)")
        }
    }
}
