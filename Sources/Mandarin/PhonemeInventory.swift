/// The phoneme tokens our voices are trained on, with ids that never change within a version.
///
/// Every syllable is two tokens — an initial (or the zero initial `^`) and a toned final — plus
/// `rr` when erhua is merged in: `hang2 → h ang2`, `yi1 → ^ i1`, `huir4 → h uei4 rr`.
/// Id order of version `zh-v1` (documented in docs/frontend.md, recorded in every voice):
///   0 `<pad>`, 1 `sil`, 2 `sp`, 3–6 `#1`–`#4` (reserved), 7 `^`, 8–28 the 21 initials,
///   29–218 the 38 finals × tones 1–5 (final-major), 219 `rr`.
public struct PhonemeInventory: Sendable {
    public static let initials = ["b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
                                  "j", "q", "x", "zh", "ch", "sh", "r", "z", "c", "s"]
    public static let finals = ["a", "ai", "an", "ang", "ao", "e", "ei", "en", "eng", "er",
                                "i", "ia", "ian", "iang", "iao", "ie", "ii", "iii", "in", "ing",
                                "iong", "iou", "o", "ong", "ou", "u", "ua", "uai", "uan", "uang",
                                "uei", "uen", "ueng", "uo", "v", "van", "ve", "vn"]
    public static let pad = "<pad>"
    public static let silence = "sil"
    public static let pause = "sp"
    public static let zeroInitial = "^"
    public static let erhua = "rr"
    public static let prosodyMarks = ["#1", "#2", "#3", "#4"]

    /// The version every voice records next to its token ids.
    public static let v1 = PhonemeInventory()

    public let version = "zh-v1"
    /// All symbols, index = id.
    public let symbols: [String]
    private let idBySymbol: [String: Int]

    private init() {
        var symbols = [Self.pad, Self.silence, Self.pause] + Self.prosodyMarks + [Self.zeroInitial] + Self.initials
        for final in Self.finals {
            for tone in 1...5 { symbols.append(final + String(tone)) }
        }
        symbols.append(Self.erhua)
        self.symbols = symbols
        var ids: [String: Int] = [:]
        for (i, s) in symbols.enumerated() { ids[s] = i }
        self.idBySymbol = ids
    }

    public var count: Int { symbols.count }

    public func id(of token: String) throws(MandarinError) -> Int {
        guard let id = idBySymbol[token] else { throw .unknownToken(token) }
        return id
    }

    public func ids(of tokens: [String]) throws(MandarinError) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(tokens.count)
        for t in tokens { out.append(try id(of: t)) }
        return out
    }

    public func symbol(of id: Int) throws(MandarinError) -> String {
        guard id >= 0, id < symbols.count else { throw .unknownToken("#id \(id)") }
        return symbols[id]
    }

    // MARK: pinyin → tokens

    /// `huir4 → ["h", "uei4", "rr"]`.
    public static func tokens(for syllable: Syllable) throws(MandarinError) -> [String] {
        guard (1...5).contains(syllable.tone), let (initial, final) = split(base: syllable.base) else {
            throw .unknownSyllable(syllable.description)
        }
        var out = [initial, final + String(syllable.tone)]
        if syllable.erhua { out.append(erhua) }
        return out
    }

    /// Parses and converts a syllable string: `"hang2" → ["h", "ang2"]`.
    public static func tokens(forSyllable text: String) throws(MandarinError) -> [String] {
        guard let syllable = Syllable.parseShape(text) else { throw .unknownSyllable(text) }
        return try tokens(for: syllable)
    }

    /// Token stream of a pinyin sequence without `sil`/`sp` (those come from the text, see `MandarinFrontend`).
    public static func tokens(forPinyin syllables: [String]) throws(MandarinError) -> [String] {
        var out: [String] = []
        out.reserveCapacity(syllables.count * 2)
        for s in syllables { out += try tokens(forSyllable: s) }
        return out
    }

    // MARK: tokens → pinyin

    /// Inverse of `tokens(forPinyin:)`: skips `<pad>`, `sil`, `sp` and `#1`–`#4`, groups
    /// initial + toned final (+ `rr`) into syllables. Rare spellings come back canonical
    /// (`yo → you`, `n/ng → en`, `m → mu`, see docs/frontend.md).
    public static func pinyin(fromTokens tokens: [String]) throws(MandarinError) -> [String] {
        var out: [String] = []
        var i = 0
        while i < tokens.count {
            let t = tokens[i]
            if t == pad || t == silence || t == pause || prosodyMarks.contains(t) { i += 1; continue }
            guard t == zeroInitial || initials.contains(t) else {
                if PhonemeInventory.v1.idBySymbol[t] == nil { throw .unknownToken(t) }
                throw .malformedTokens(Array(tokens[i..<min(i + 2, tokens.count)]), reason: "expected an initial or ^ before '\(t)'")
            }
            guard i + 1 < tokens.count else { throw .malformedTokens([t], reason: "initial without a final") }
            let tonedFinal = tokens[i + 1]
            guard let toneChar = tonedFinal.last, let tone = toneChar.wholeNumberValue, (1...5).contains(tone),
                  finals.contains(String(tonedFinal.dropLast())) else {
                if PhonemeInventory.v1.idBySymbol[tonedFinal] == nil { throw .unknownToken(tonedFinal) }
                throw .malformedTokens([t, tonedFinal], reason: "'\(tonedFinal)' is not a toned final")
            }
            let final = String(tonedFinal.dropLast())
            guard let base = spell(initial: t, final: final), let back = split(base: base), back == (t, final) else {
                throw .malformedTokens([t, tonedFinal], reason: "no pinyin syllable has initial '\(t)' and final '\(final)'")
            }
            var syllable = Syllable(base: base, tone: tone)
            i += 2
            if i < tokens.count, tokens[i] == erhua { syllable.erhua = true; i += 1 }
            out.append(syllable.description)
        }
        return out
    }

    // MARK: spelling rules

    private static let zeroInitialFinals: [String: String] = [
        "yi": "i", "ya": "ia", "ye": "ie", "yao": "iao", "you": "iou", "yan": "ian", "yin": "in",
        "yang": "iang", "ying": "ing", "yong": "iong", "yu": "v", "yue": "ve", "yuan": "van", "yun": "vn",
        "wu": "u", "wa": "ua", "wo": "uo", "wai": "uai", "wei": "uei", "wan": "uan", "wen": "uen",
        "wang": "uang", "weng": "ueng",
        // rare spellings without an initial+final of their own (interjections)
        "yo": "iou", "n": "en", "ng": "en", "m": "u", "e": "e",
    ]
    private static let bareFinals: Set<String> = ["a", "ai", "an", "ang", "ao", "e", "ei", "en", "eng", "er", "o", "ou"]
    private static let finalSet = Set(finals)
    private static let initialsLongestFirst = ["zh", "ch", "sh"] + initials.filter { $0.count == 1 }
    private static let rareWithInitial: [String: (String, String)] = ["hm": ("h", "en"), "hng": ("h", "eng")]

    /// Spelling → (initial or `^`, final), or nil when the spelling is not pinyin.
    static func split(base: String) -> (String, String)? {
        if let final = zeroInitialFinals[base] { return (zeroInitial, final) }
        if bareFinals.contains(base) { return (zeroInitial, base) }
        if let pair = rareWithInitial[base] { return pair }
        for initial in initialsLongestFirst where base.hasPrefix(initial) && base.count > initial.count {
            var rest = String(base.dropFirst(initial.count))
            switch initial {
            case "j", "q", "x":
                if rest.hasPrefix("u") { rest = "v" + rest.dropFirst() }
                if rest == "i" { return (initial, "i") }
            case "z", "c", "s":
                if rest == "i" { return (initial, "ii") }
            case "zh", "ch", "sh", "r":
                if rest == "i" { return (initial, "iii") }
            default:
                break
            }
            switch rest {
            case "iu": rest = "iou"
            case "ui": rest = "uei"
            case "un": rest = "uen"
            case "ue" where initial == "l" || initial == "n": rest = "ve"
            default: break
            }
            // Finals that never follow a consonant initial; ü only after n, l (and j q x, spelled u).
            if rest == "er" || rest == "ii" || rest == "iii" { return nil }
            if rest.hasPrefix("v"), !["n", "l", "j", "q", "x"].contains(initial) { return nil }
            return finalSet.contains(rest) ? (initial, rest) : nil
        }
        return nil
    }

    /// (initial, final) → canonical spelling; the caller checks it splits back to the same pair.
    static func spell(initial: String, final: String) -> String? {
        if initial == zeroInitial {
            if bareFinals.contains(final) { return final }
            let canonical: [String: String] = [
                "i": "yi", "ia": "ya", "ie": "ye", "iao": "yao", "iou": "you", "ian": "yan", "in": "yin",
                "iang": "yang", "ing": "ying", "iong": "yong", "v": "yu", "ve": "yue", "van": "yuan",
                "vn": "yun", "u": "wu", "ua": "wa", "uo": "wo", "uai": "wai", "uei": "wei", "uan": "wan",
                "uen": "wen", "uang": "wang", "ueng": "weng",
            ]
            return canonical[final]
        }
        switch final {
        case "ii", "iii": return initial + "i"
        case "iou": return initial + "iu"
        case "uei": return initial + "ui"
        case "uen": return initial + "un"
        default: break
        }
        if (initial == "j" || initial == "q" || initial == "x") && final.hasPrefix("v") {
            return initial + "u" + final.dropFirst()
        }
        return initial + final
    }
}
