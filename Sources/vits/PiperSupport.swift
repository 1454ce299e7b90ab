import Foundation
import Mandarin
import PiperPhonemes
import VITS
import Voice

/// Text frontends for imported Piper voices: espeak-ng phonemes → the voice's own phoneme ids.
enum PiperSupport {
    /// The phonemizer of an imported Piper voice bundle (from its `piper.json`).
    static func phonemizer(bundle: URL) throws -> PiperPhonemizer {
        let url = bundle.appendingPathComponent(PiperVoiceImporter.sidecarName)
        guard let data = FileManager.default.contents(atPath: url.path),
              let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let config = root["piper_config"] as? [String: Any] else {
            throw VoiceError.notAVoice("\(bundle.path) is not an imported Piper voice (no readable \(PiperVoiceImporter.sidecarName)); import one with `vits import piper VOICE.onnx --out DIR`")
        }
        guard let voice = (config["espeak"] as? [String: Any])?["voice"] as? String else {
            throw VoiceError.unsupported("\(url.path): the voice has no espeak.voice (phoneme_type '\(config["phoneme_type"] ?? "?")' is not read by this vits)")
        }
        var map: [String: [Int]] = [:]
        for (phoneme, value) in config["phoneme_id_map"] as? [String: Any] ?? [:] {
            map[phoneme] = (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue }
        }
        return try PiperPhonemizer(espeakVoice: voice, phonemeIDMap: map)
    }

    /// A `TextFrontend` for `vits synthesize`: each chunk the synthesizer hands over is phonemized;
    /// when espeak-ng finds several sentences in it, their id sequences (each `^ … $`) are joined.
    static func frontend(voice: Voice) throws -> TextFrontend {
        guard case .bundle(let folder) = voice.source else {
            throw VoiceError.unsupported("the piper-espeak frontend needs an imported voice bundle")
        }
        let phonemizer = try phonemizer(bundle: folder)
        let m = voice.manifest
        return TextFrontend(name: PiperVoiceImporter.frontendName, inventoryName: m.inventory.name, symbols: m.inventory.symbols) { text in
            var ids: [Int] = []
            for sentence in try phonemizer.phonemes(text) {
                let (sentenceIDs, missing) = phonemizer.ids(sentence)
                if !missing.isEmpty { VoiceSupport.warn("phonemes missing from the voice's map, skipped: \(missing.joined(separator: " "))") }
                ids += sentenceIDs
            }
            return ids
        }
    }
}

extension VoiceSupport {
    /// The frontend of a loaded voice: Piper voices get theirs from the bundle, others by name.
    static func frontend(for voice: Voice, maxChunkLength: Int = TextChunker.defaultMaxLength) throws -> TextFrontend {
        if voice.manifest.frontend == PiperVoiceImporter.frontendName { return try PiperSupport.frontend(voice: voice) }
        return try frontend(named: voice.manifest.frontend, maxChunkLength: maxChunkLength)
    }
}
