import Foundation
import Engine
import Formats
import VITS

/// `vits export --format piper`: a voice (bundle, run or checkpoint) → `NAME.onnx` + `NAME.onnx.json`
/// that Piper 1.x (piper-tts) loads. The graph is `OnnxInferenceGraph`; the JSON holds the fields
/// piper-tts's `PiperConfig.from_dict` reads (docs/piper.md "Exporting to Piper").
public enum PiperVoiceExporter {
    public struct Report: Sendable {
        public var onnx: URL
        public var config: URL
        public var nodes: Int
        public var initializers: Int
        public var parameters: Int
        public var bytes: Int
        public var phonemeType: String
    }

    /// Exports `voice` into `folder` as `name.onnx` and `name.onnx.json`. The ONNX file is read back
    /// with `OnnxModel` before the call returns.
    @discardableResult
    public static func export(_ voice: Voice, to folder: URL, name: String) throws -> Report {
        let graph: OnnxGraph
        do { graph = try OnnxInferenceGraph.build(voice.model, name: name) } catch { throw VoiceError.unsupported("\(error)") }
        let config = try piperConfig(voice)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let onnxURL = folder.appendingPathComponent(name + ".onnx")
        let configURL = folder.appendingPathComponent(name + ".onnx.json")
        let bytes = graph.serialized()
        try Data(bytes).write(to: onnxURL, options: .atomic)
        try JSONFile.encode(config).write(to: configURL, options: .atomic)
        let reread: OnnxModel
        do { reread = try OnnxModel(url: onnxURL) } catch { throw VoiceError.corrupt("the written \(onnxURL.path) does not read back: \(error)") }
        guard reread.nodes.count == graph.nodes.count, reread.initializers.count == graph.initializers.count else {
            throw VoiceError.corrupt("the written \(onnxURL.path) reads back with \(reread.nodes.count) nodes and \(reread.initializers.count) initializers (\(graph.nodes.count) and \(graph.initializers.count) written)")
        }
        return Report(onnx: onnxURL, config: configURL, nodes: graph.nodes.count, initializers: graph.initializers.count,
                      parameters: graph.initializers.reduce(0) { $0 + $1.shape.reduce(1, *) }, bytes: bytes.count,
                      phonemeType: config["phoneme_type"]?.stringValue ?? "")
    }

    /// The Piper voice config. An imported Piper voice keeps its own phoneme side (`piper.json`:
    /// `espeak.voice`, `phoneme_type`, `phoneme_id_map`, `phoneme_map`); any other voice exports its
    /// token inventory as `phoneme_id_map` (symbol → [id]) with `phoneme_type` "text" — Piper cannot
    /// phonemize for it, so a Piper user feeds ids (`PiperVoice.phoneme_ids_to_audio`, docs/piper.md).
    public static func piperConfig(_ voice: Voice) throws -> JSONValue {
        let m = voice.manifest, c = voice.config
        var speakerIDs: [String: JSONValue] = [:]
        if c.isMultiSpeaker { for s in m.speakers where speakerIDs[s.name] == nil { speakerIDs[s.name] = .int(Int64(s.id)) } }
        var out: JSONValue = [
            "audio": ["sample_rate": .int(Int64(c.data.samplingRate))],
            // Float's own shortest form: 0.667, not 0.6669999957084656.
            "inference": ["noise_scale": .float(m.inference.noiseScale), "length_scale": .float(m.inference.lengthScale),
                          "noise_w": .float(m.inference.noiseScaleW)],
            "num_symbols": .int(Int64(voice.model.vocabularySize)),
            "num_speakers": .int(Int64(max(1, c.isMultiSpeaker ? c.data.nSpeakers : 1))),
            "speaker_id_map": .object(speakerIDs),
            "hop_length": .int(Int64(c.data.hopLength)),
            "dataset": .string(m.name),
        ]
        if let piper = try importedPiperConfig(voice) {
            out.set("espeak", piper["espeak"] ?? ["voice": ""])
            out.set("phoneme_type", piper["phoneme_type"] ?? "espeak")
            out.set("phoneme_id_map", piper["phoneme_id_map"] ?? .object([]))
            if let map = piper["phoneme_map"] { out.set("phoneme_map", map) }
            if let language = piper["language"] { out.set("language", language) }
        } else {
            var ids: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            for (id, symbol) in m.inventory.symbols.enumerated() {
                guard seen.insert(symbol).inserted else {
                    throw VoiceError.inventoryMismatch("the inventory '\(m.inventory.name)' names two ids '\(symbol)'; a phoneme_id_map cannot tell them apart")
                }
                ids.append((key: symbol, value: [.int(Int64(id))]))
            }
            out.set("phoneme_id_map", .object(ids))
            out.set("phoneme_type", "text")
            out.set("espeak", ["voice": ""])
        }
        // Not read by Piper: what a caller feeding ids must know (blanks, inventory, frontend).
        out.set("swiftvits", ["inventory": .string(m.inventory.name), "frontend": .string(m.frontend), "add_blank": .bool(c.data.addBlank),
                              "exported_by": "swiftvits export --format piper"])
        return out
    }

    /// The original Piper config of a voice imported with `vits import piper` (nil for other voices).
    static func importedPiperConfig(_ voice: Voice) throws -> JSONValue? {
        guard case .bundle(let folder) = voice.source else { return nil }
        let url = folder.appendingPathComponent(PiperVoiceImporter.sidecarName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do {
            let root = try JSONFile.object(data, file: url.path)
            let config = root.section("piper_config")
            try JSONFile.check(root.log, file: url.path)
            guard let config else { return nil }
            return JSONValue(JSONNode(value: .object(config.members), line: config.line, column: 1))
        } catch {
            throw VoiceError.corrupt("\(error): not the sidecar `vits import piper` writes (it has a piper_config object)")
        }
    }
}
