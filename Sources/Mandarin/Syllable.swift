/// One toned pinyin syllable in Biaobei's surface convention: `hang2`, `lv4`, `huir4` (erhua), `ma5` (neutral).
public struct Syllable: Hashable, Sendable, CustomStringConvertible {
    /// Toneless spelling without the erhua `r`: `hui` for `huir4`, `lv` for `lv4`.
    public var base: String
    /// 1–4, or 5 for the neutral tone.
    public var tone: Int
    /// True when a following 儿 was merged into this syllable (`huir4`).
    public var erhua: Bool

    public init(base: String, tone: Int, erhua: Bool = false) {
        self.base = base
        self.tone = tone
        self.erhua = erhua
    }

    /// Parses `hao3`, `huir4`, `er2`. Checks the shape (letters + one tone digit) and that the
    /// spelling exists in the phoneme inventory; anything else is `MandarinError.unknownSyllable`.
    public init(parsing text: some StringProtocol) throws {
        guard let syllable = Syllable.parseShape(text) else { throw MandarinError.unknownSyllable(String(text)) }
        guard PhonemeInventory.split(base: syllable.base) != nil else {
            throw MandarinError.unknownSyllable(String(text))
        }
        self = syllable
    }

    /// Shape-only parse used when loading the (generator-validated) lexicon: no inventory check.
    static func parseShape(_ text: some StringProtocol) -> Syllable? {
        let whole = String(text)
        guard whole.utf8.count >= 2, let last = whole.utf8.last, last >= UInt8(ascii: "1"), last <= UInt8(ascii: "5") else {
            return nil
        }
        var letters = whole.dropLast()
        for byte in letters.utf8 where !(byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) {
            return nil
        }
        var erhua = false
        // `er` is a syllable of its own; any other spelling ending in r is an erhua syllable.
        if letters.count > 2, letters.hasSuffix("r") {
            letters = letters.dropLast()
            erhua = true
        }
        return Syllable(base: String(letters), tone: Int(last - UInt8(ascii: "0")), erhua: erhua)
    }

    public var description: String {
        erhua ? base + "r" + String(tone) : base + String(tone)
    }
}
