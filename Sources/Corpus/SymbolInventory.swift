import Mandarin

/// The token inventory of a data folder (`inventory.json`): symbol i has id i. A data folder holds
/// exactly one inventory; every voice trained on it records the version.
///
/// Two built-in versions:
/// - `zh-v1`: the Mandarin phoneme inventory of the frontend (`PhonemeInventory.v1`, 220 symbols).
///   Biaobei labels and filelists (through the G2P) produce it.
/// - `en-chars-v1`: characters of normalized English text, for LJSpeech. Mandarin phonemes do not
///   apply to English and this project has no English G2P, so English is modelled as letters, the
///   way the reference VITS's character models read text (no phonemizer). Symbols: `<pad>` 0,
///   space 1, the punctuation `! ' ( ) , - . : ; ? "` 2–12, `a`–`z` 13–38.
public struct SymbolInventory: Sendable, Equatable, Codable {
    public let version: String
    /// All symbols; the index is the id.
    public let symbols: [String]
    /// Symbols that carry no phone of their own (padding, silences, pauses, spaces, punctuation):
    /// not counted when `vits doctor` measures speaking rate.
    public let nonSpeech: [String]

    enum CodingKeys: String, CodingKey {
        case version, symbols
        case nonSpeech = "non_speech"
    }

    public init(version: String, symbols: [String], nonSpeech: [String]) {
        self.version = version
        self.symbols = symbols
        self.nonSpeech = nonSpeech
    }

    public var count: Int { symbols.count }

    public static let mandarinV1 = SymbolInventory(
        version: PhonemeInventory.v1.version, symbols: PhonemeInventory.v1.symbols,
        nonSpeech: [PhonemeInventory.pad, PhonemeInventory.silence, PhonemeInventory.pause] + PhonemeInventory.prosodyMarks)

    public static let latinPunctuation = ["!", "'", "(", ")", ",", "-", ".", ":", ";", "?", "\""]
    public static let latinCharactersV1 = SymbolInventory(
        version: "en-chars-v1",
        symbols: ["<pad>", " "] + latinPunctuation + (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) },
        nonSpeech: ["<pad>", " "] + latinPunctuation)

    public static let builtIn: [SymbolInventory] = [.mandarinV1, .latinCharactersV1]

    public static func builtIn(version: String) -> SymbolInventory? {
        builtIn.first { $0.version == version }
    }

    /// Ids of `nonSpeech` symbols, as a lookup table over all ids.
    public var isNonSpeech: [Bool] {
        let set = Set(nonSpeech)
        return symbols.map { set.contains($0) }
    }

    public func id(of symbol: String) -> Int? { symbols.firstIndex(of: symbol) }
}
