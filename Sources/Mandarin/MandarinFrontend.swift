/// What the frontend made of one line of text.
public struct G2PResult: Sendable, Equatable {
    /// One character of the normalized text and its syllable (nil for punctuation). A Latin letter
    /// carries its spelled name (`"F" → "ai2 fu5"`); a 儿 merged by erhua carries the merged syllable
    /// (`一会儿 → 一 yi2, 会 hui4, 儿 huir4`).
    public struct CharReading: Sendable, Equatable {
        public let char: Character
        public let pinyin: String?
    }

    public let text: String
    public let normalized: String
    /// Surface syllables, Biaobei style: `["qing2", "deng3", "yi2", "huir4"]`.
    public let pinyin: [String]
    public let chars: [CharReading]
    /// Phoneme tokens: `sil`, initials/finals (+`rr`), `sp` at pause punctuation, `sil`.
    public let tokens: [String]
}

/// The Mandarin frontend: normalization → segmentation → readings → polyphone rules → neutral
/// tone → 3-3 sandhi → 一/不 sandhi → erhua → tokens. Stateless after construction; share it.
public final class MandarinFrontend: Sendable {
    public let lexicon: Lexicon
    public let normalizer = TextNormalizer()

    public init(lexicon: Lexicon) { self.lexicon = lexicon }

    /// A frontend over the bundled lexicon (loaded once, on first use).
    public static func bundled() throws(MandarinError) -> MandarinFrontend {
        switch shared {
        case .success(let f): return f
        case .failure(let e): throw e
        }
    }

    private static let shared: Result<MandarinFrontend, MandarinError> = {
        do throws(MandarinError) { return .success(MandarinFrontend(lexicon: try Lexicon.bundled())) } catch { return .failure(error) }
    }()

    /// Full analysis of one line.
    public func process(_ text: String) -> G2PResult {
        let normalized = normalizer.normalize(text)
        let scalars = Array(normalized.unicodeScalars)
        var state = Analysis(scalars: scalars, lexicon: lexicon)
        state.run()
        return state.result(text: text, normalized: normalized)
    }

    /// Surface syllables only.
    public func pinyin(_ text: String) -> [String] { process(text).pinyin }

    /// Token ids in `inventory` for a line (sil … sil).
    public func tokenIDs(_ text: String, inventory: PhonemeInventory = .v1) throws(MandarinError) -> [Int] {
        try inventory.ids(of: process(text).tokens)
    }
}

/// Classification of a normalized-text scalar.
enum PunctuationClass {
    case pause, silent, none

    static let pauseSet: Set<Unicode.Scalar> = Set(TextNormalizer.pausePunctuation.values.flatMap { $0.unicodeScalars })
    static let silentSet: Set<Unicode.Scalar> = Set(TextNormalizer.quotePunctuation.values.flatMap { $0.unicodeScalars })

    static func of(_ c: Unicode.Scalar) -> PunctuationClass {
        if pauseSet.contains(c) { return .pause }
        if silentSet.contains(c) { return .silent }
        return TextNormalizer.isPunctuation(c) ? .pause : .none
    }
}

/// Working state of one line.
struct Analysis {
    enum Kind { case han, letter, pause, silent }

    struct Word {
        var start: Int      // scalar offsets in the normalized text
        var end: Int
        var kind: Kind
        var text: String
        var firstSyllable: Int
        var syllableCount: Int
    }

    struct Slot {
        var syllable: Syllable
        /// Tone before neutral-tone and sandhi rules (what 一/不 sandhi looks at).
        var lexicalTone: Int
        var charIndex: Int
        var word: Int
        /// 儿 merged into the previous syllable: emits nothing of its own.
        var mergedAway = false
    }

    let scalars: [Unicode.Scalar]
    let lexicon: Lexicon
    var words: [Word] = []
    var slots: [Slot] = []

    init(scalars: [Unicode.Scalar], lexicon: Lexicon) {
        self.scalars = scalars
        self.lexicon = lexicon
    }

    mutating func run() {
        buildWords()
        for w in words.indices where words[w].kind == .han {
            G2PRules.applyContextRules(&self, word: w)
        }
        G2PRules.neutralTones(&self)
        G2PRules.resetYiBu(&self)
        G2PRules.thirdToneSandhi(&self)
        G2PRules.yiBuSandhi(&self)
        G2PRules.erhua(&self)
    }

    // MARK: words and readings

    mutating func buildWords() {
        var i = 0
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            if TextNormalizer.Scanner.isHan(c) {
                var j = i
                while j < n, TextNormalizer.Scanner.isHan(scalars[j]) { j += 1 }
                var start = i
                for end in lexicon.segment(scalars[i..<j]) {
                    addHanWord(start: start, end: i + end)
                    start = i + end
                }
                i = j
            } else if TextNormalizer.Scanner.isLatin(c) {
                let upper = Character(c).uppercased()
                let names = LetterNames.table[upper] ?? []
                let first = slots.count
                for name in names {
                    slots.append(Slot(syllable: name, lexicalTone: name.tone, charIndex: i, word: words.count))
                }
                words.append(Word(start: i, end: i + 1, kind: .letter, text: String(Character(c)), firstSyllable: first, syllableCount: names.count))
                i += 1
            } else {
                let kind: Kind = PunctuationClass.of(c) == .silent ? .silent : .pause
                words.append(Word(start: i, end: i + 1, kind: kind, text: String(Character(c)), firstSyllable: slots.count, syllableCount: 0))
                i += 1
            }
        }
    }

    mutating func addHanWord(start: Int, end: Int) {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<end])
        let word = String(text)
        let index = words.count
        let first = slots.count
        if end - start > 1, let reading = lexicon.phraseReading(word) {
            for (k, s) in reading.enumerated() {
                slots.append(Slot(syllable: s, lexicalTone: s.tone, charIndex: start + k, word: index))
            }
        } else {
            // Sub-words of the phrase table, longest first from the left; then character defaults.
            var k = start
            while k < end {
                var matched = false
                if end - k > 1 {
                    var length = min(end - k, lexicon.maxWordLength)
                    while length >= 2 {
                        var sub = String.UnicodeScalarView()
                        sub.append(contentsOf: scalars[k..<(k + length)])
                        if let reading = lexicon.phraseReading(String(sub)) {
                            for (m, s) in reading.enumerated() {
                                slots.append(Slot(syllable: s, lexicalTone: s.tone, charIndex: k + m, word: index))
                            }
                            k += length
                            matched = true
                            break
                        }
                        length -= 1
                    }
                }
                if !matched {
                    if let s = lexicon.defaultReading(scalars[k].value) {
                        slots.append(Slot(syllable: s, lexicalTone: s.tone, charIndex: k, word: index))
                    }
                    k += 1
                }
            }
        }
        words.append(Word(start: start, end: end, kind: .han, text: word, firstSyllable: first, syllableCount: slots.count - first))
    }

    // MARK: helpers for rules

    /// The neighbouring word inside the same pause phrase (nil at punctuation or the line's ends).
    func neighbour(of w: Int, offset: Int) -> Word? {
        var k = w + offset
        while k >= 0, k < words.count {
            switch words[k].kind {
            case .han, .letter: return words[k]
            case .pause: return nil
            case .silent: k += offset
            }
        }
        return nil
    }

    func charAt(_ i: Int) -> Unicode.Scalar? { i >= 0 && i < scalars.count ? scalars[i] : nil }

    // MARK: output

    func result(text: String, normalized: String) -> G2PResult {
        var pinyin: [String] = []
        var charPinyin = [String?](repeating: nil, count: scalars.count)
        var tokens: [String] = [PhonemeInventory.silence]
        var wordPinyin: [String] = []
        for w in words {
            switch w.kind {
            case .pause:
                if tokens.last != PhonemeInventory.silence && tokens.last != PhonemeInventory.pause {
                    tokens.append(PhonemeInventory.pause)
                }
                continue
            case .silent:
                continue
            case .han, .letter:
                break
            }
            wordPinyin.removeAll(keepingCapacity: true)
            for k in w.firstSyllable..<(w.firstSyllable + w.syllableCount) where !slots[k].mergedAway {
                let slot = slots[k]
                let spelled = slot.syllable.description
                pinyin.append(spelled)
                // Every syllable in the lexicon and letter table is inventory-valid (checked by tests);
                // a syllable that is not would have no tokens, and is skipped rather than mis-spoken.
                if let t = try? PhonemeInventory.tokens(for: slot.syllable) { tokens += t }
                if w.kind == .letter {
                    wordPinyin.append(spelled)
                } else {
                    var own = slot.syllable
                    own.erhua = false
                    charPinyin[slot.charIndex] = slot.syllable.erhua ? own.description : spelled
                    if slot.syllable.erhua, k + 1 < slots.count, slots[k + 1].mergedAway {
                        charPinyin[slots[k + 1].charIndex] = spelled
                    }
                }
            }
            if w.kind == .letter { charPinyin[w.start] = wordPinyin.joined(separator: " ") }
        }
        if tokens.last == PhonemeInventory.pause { tokens.removeLast() }
        tokens.append(PhonemeInventory.silence)
        let chars = zip(normalized, charPinyin).map { G2PResult.CharReading(char: $0.0, pinyin: $0.1) }
        return G2PResult(text: text, normalized: normalized, pinyin: pinyin, chars: chars, tokens: tokens)
    }
}

/// Latin letter names (house convention, research notes §7), straight to pinyin so that no hanzi
/// polyphone gets in the way.
enum LetterNames {
    static let table: [String: [Syllable]] = {
        let names: [String: String] = [
            "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu5", "G": "ji4",
            "H": "ei2 qi1", "I": "ai4", "J": "jie4", "K": "kai4", "L": "ai2 le5", "M": "ai2 mu5", "N": "en1",
            "O": "ou1", "P": "pi4", "Q": "qiu1", "R": "a4 er5", "S": "ai2 si5", "T": "ti4", "U": "you1",
            "V": "wei1", "W": "da2 bu5 liu5", "X": "ai2 ke4 si5", "Y": "wai4", "Z": "zei4",
        ]
        var table: [String: [Syllable]] = [:]
        for (letter, spelled) in names {
            table[letter] = spelled.split(separator: " ").compactMap { Syllable.parseShape($0) }
        }
        return table
    }()
}
