import Foundation
import Formats
import Mandarin
import PiperPhonemes
import VITS
import Voice

/// Text frontends for imported Piper voices: espeak-ng phonemes → the voice's own phoneme ids.
enum PiperSupport {
    /// The phonemizer of an imported Piper voice bundle (from its `piper.json`).
    static func phonemizer(bundle: URL) throws -> PiperPhonemizer {
        let url = bundle.appendingPathComponent(PiperVoiceImporter.sidecarName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw VoiceError.notAVoice("\(bundle.path) is not an imported Piper voice (no readable \(PiperVoiceImporter.sidecarName)); import one with `vits import piper VOICE.onnx --out DIR`")
        }
        let root: JSONSection
        do { root = try JSONFile.object(data, file: url.path) } catch { throw VoiceError.corrupt(error.description) }
        guard let config = root.section("piper_config") else {
            throw VoiceError.notAVoice("\(url.path): no piper_config object: not the sidecar `vits import piper` writes")
        }
        let phonemeType = config.optionalString("phoneme_type") ?? "?"
        guard let espeak = config.section("espeak", required: false), let voice = espeak.optionalString("voice") else {
            throw VoiceError.unsupported("\(url.path): the voice has no espeak.voice (phoneme_type '\(phonemeType)' is not read by this vits)")
        }
        var map: [String: [Int]] = [:]
        if let ids = config.section("phoneme_id_map") {
            for (phoneme, _) in ids.members { map[phoneme] = ids.ints(phoneme) }
        }
        do { try JSONFile.check(root.log, file: url.path) } catch { throw VoiceError.corrupt(error.description) }
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
