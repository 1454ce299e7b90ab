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
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: configURL, options: .atomic)
        let reread: OnnxModel
        do { reread = try OnnxModel(url: onnxURL) } catch { throw VoiceError.corrupt("the written \(onnxURL.path) does not read back: \(error)") }
        guard reread.nodes.count == graph.nodes.count, reread.initializers.count == graph.initializers.count else {
            throw VoiceError.corrupt("the written \(onnxURL.path) reads back with \(reread.nodes.count) nodes and \(reread.initializers.count) initializers (\(graph.nodes.count) and \(graph.initializers.count) written)")
        }
        return Report(onnx: onnxURL, config: configURL, nodes: graph.nodes.count, initializers: graph.initializers.count,
                      parameters: graph.initializers.reduce(0) { $0 + $1.shape.reduce(1, *) }, bytes: bytes.count,
                      phonemeType: config["phoneme_type"] as? String ?? "")
    }

    /// The Piper voice config. An imported Piper voice keeps its own phoneme side (`piper.json`:
    /// `espeak.voice`, `phoneme_type`, `phoneme_id_map`, `phoneme_map`); any other voice exports its
    /// token inventory as `phoneme_id_map` (symbol → [id]) with `phoneme_type` "text" — Piper cannot
    /// phonemize for it, so a Piper user feeds ids (`PiperVoice.phoneme_ids_to_audio`, docs/piper.md).
    public static func piperConfig(_ voice: Voice) throws -> [String: Any] {
        let m = voice.manifest, c = voice.config
        var out: [String: Any] = [
            "audio": ["sample_rate": c.data.samplingRate],
            "inference": ["noise_scale": shortest(m.inference.noiseScale), "length_scale": shortest(m.inference.lengthScale),
                          "noise_w": shortest(m.inference.noiseScaleW)],
            "num_symbols": voice.model.vocabularySize,
            "num_speakers": max(1, c.isMultiSpeaker ? c.data.nSpeakers : 1),
            "speaker_id_map": c.isMultiSpeaker ? Dictionary(m.speakers.map { ($0.name, $0.id) }) { a, _ in a } : [String: Int](),
            "hop_length": c.data.hopLength,
            "dataset": m.name,
        ]
        if let piper = try importedPiperConfig(voice) {
            out["espeak"] = piper["espeak"] ?? ["voice": ""]
            out["phoneme_type"] = piper["phoneme_type"] ?? "espeak"
            out["phoneme_id_map"] = piper["phoneme_id_map"]
            if let map = piper["phoneme_map"] { out["phoneme_map"] = map }
            if let language = piper["language"] { out["language"] = language }
        } else {
            var ids: [String: [Int]] = [:]
            for (id, symbol) in m.inventory.symbols.enumerated() {
                guard ids[symbol] == nil else {
                    throw VoiceError.inventoryMismatch("the inventory '\(m.inventory.name)' names two ids '\(symbol)'; a phoneme_id_map cannot tell them apart")
                }
                ids[symbol] = [id]
            }
            out["phoneme_id_map"] = ids
            out["phoneme_type"] = "text"
            out["espeak"] = ["voice": ""]
        }
        // Not read by Piper: what a caller feeding ids must know (blanks, inventory, frontend).
        out["swiftvits"] = ["inventory": m.inventory.name, "frontend": m.frontend, "add_blank": c.data.addBlank,
                            "exported_by": "swiftvits export --format piper"] as [String: Any]
        return out
    }

    /// The Double whose shortest decimal form is the Float's (0.667, not 0.6669999957084656).
    static func shortest(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }

    /// The original Piper config of a voice imported with `vits import piper` (nil for other voices).
    static func importedPiperConfig(_ voice: Voice) throws -> [String: Any]? {
        guard case .bundle(let folder) = voice.source else { return nil }
        let url = folder.appendingPathComponent(PiperVoiceImporter.sidecarName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let config = root["piper_config"] as? [String: Any] else {
            throw VoiceError.corrupt("\(url.path): not the sidecar `vits import piper` writes (no piper_config object)")
        }
        return config
    }
}
