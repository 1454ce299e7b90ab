import Foundation
import Mandarin
import Training
import VITS
import Voice

/// What `export`, `synthesize` and `bench synthesize` share: warnings and frontends.
enum VoiceSupport {
    /// Prints a warning on stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// The frontend a voice asks for (only `mandarin` exists in this build).
    static func frontend(named name: String, maxChunkLength: Int = TextChunker.defaultMaxLength) throws -> TextFrontend {
        switch name {
        case "mandarin": return try mandarin(maxChunkLength: maxChunkLength)
        default:
            throw VoiceError.unsupported("this voice needs the '\(name)' text frontend, which vits synthesize does not have (it has: mandarin)")
        }
    }

    /// The Mandarin frontend (normalization, G2P, sandhi) → `zh-v1` token ids; sentences without a
    /// syllable (only punctuation, emoji) give no tokens. Text is spoken in `TextChunker` chunks of
    /// at most `maxChunkLength` characters.
    static func mandarin(maxChunkLength: Int = TextChunker.defaultMaxLength) throws -> TextFrontend {
        let frontend: MandarinFrontend
        do { frontend = try MandarinFrontend.bundled() } catch { throw VoiceError.unsupported("cannot load the Mandarin lexicon: \(error)") }
        let inventory = PhonemeInventory.v1
        let chunker = TextChunker(maxLength: maxChunkLength, lexicon: frontend.lexicon)
        return TextFrontend(name: "mandarin", inventoryName: inventory.version, symbols: inventory.symbols,
                            split: chunker.chunks) { sentence in
            let result = frontend.process(sentence)
            if result.pinyin.isEmpty { return [] }
            return try inventory.ids(of: result.tokens)
        }
    }

    /// Monotonic seconds.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
