/// What the frontend made of one line of text.
public struct G2PResult: Sendable, Equatable {
    /// One character of the normalized text and its reading (nil for punctuation): the character's
    /// own syllable after polyphone and neutral-tone rules, before tone sandhi (so 可以 gives 可 ke3
    /// while `pinyin` says ke2). A Latin letter carries its spelled name (`"F" → "ai2 fu5"`); a 儿
    /// merged by erhua carries the merged syllable (`一会儿 → 会 hui4, 儿 huir4`).
    public struct CharReading: Sendable, Equatable {
        public let char: Character
        public let pinyin: String?
    }

    public let text: String
    public let normalized: String
    /// Surface syllables, Biaobei style: `["qing2", "deng3", "yi2", "huir4"]`.
    public let pinyin: [String]
    /// Phoneme tokens: `sil`, initials/finals (+`rr`), `sp` at pause punctuation, `sil`.
    public let tokens: [String]
    /// Every character of `normalized` with its reading (built on request: most callers only
    /// need `pinyin` and `tokens`).
    public var chars: [CharReading] {
        zip(normalizedScalars, charPinyin).map { CharReading(char: Character($0.0), pinyin: $0.1) }
    }

    /// Characters of the input that give no sound and were left out: symbols, emoji and other
    /// scripts (dropped by normalization), hanzi the lexicon has no reading for. The caller decides
    /// whether to tell the user (`DroppedCharacter.summary`).
    public let dropped: [DroppedCharacter]

    let normalizedScalars: [Unicode.Scalar]
    let charPinyin: [String?]
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
        let (scalars, dropped) = normalizer.normalizeReportingDrops(text)
        let normalized = TextNormalizer.string(scalars)
        var analysis = Analysis(scalars: scalars, lexicon: lexicon)
        analysis.run()
        return analysis.result(text: text, normalized: normalized, dropped: dropped)
    }

    /// Surface syllables only.
    public func pinyin(_ text: String) -> [String] { process(text).pinyin }

    /// Token ids in `inventory` for a line (sil … sil).
    public func tokenIDs(_ text: String, inventory: PhonemeInventory = .v1) throws(MandarinError) -> [Int] {
        try inventory.ids(of: process(text).tokens)
    }
}

/// What a non-letter character of the normalized text does: `pause` gives `sp` and ends a sandhi
/// phrase (，。！？；：、…—～() and their ASCII/full-width forms, any other punctuation mark);
/// `silent` gives nothing (quotes, brackets, separators, spaces).
enum PunctuationClass {
    case pause, silent

    static func of(_ c: Unicode.Scalar) -> PunctuationClass {
        let folded = (0xFF01...0xFF5E).contains(c.value) ? Unicode.Scalar(c.value - 0xFEE0) ?? c : c
        if TextNormalizer.silentPunctuation.contains(folded) || folded.properties.isWhitespace { return .silent }
        return TextNormalizer.isPunctuation(folded) ? .pause : .silent
    }
}

/// Working state of one line.
struct Analysis {
    enum Kind { case han, letter, pause, silent }

    struct Word {
        var start: Int      // scalar offsets in the normalized text
        var end: Int
        var kind: Kind
        var firstSyllable: Int
        var syllableCount: Int
        var length: Int { end - start }
    }

    struct Slot {
        var code: SylCode
        /// Tone before neutral-tone and sandhi rules (what 一/不 sandhi looks at).
        var lexicalTone: UInt8
        /// Reading reported in `chars`: after polyphone and neutral-tone rules, before sandhi.
        var charCode: SylCode
        var charIndex: Int
        var word: Int
        /// 儿 merged into the previous syllable: emits nothing of its own.
        var mergedAway = false
        /// The reading is the character's default, not part of a phrase reading.
        var fromCharTable = false
    }

    let scalars: [Unicode.Scalar]
    let lexicon: Lexicon
    var words: [Word] = []
    var slots: [Slot] = []
    /// Hanzi without any reading in the lexicon (they get no syllable).
    var unreadHanzi: [Unicode.Scalar] = []

    init(scalars: [Unicode.Scalar], lexicon: Lexicon) {
        self.scalars = scalars
        self.lexicon = lexicon
        words.reserveCapacity(scalars.count)
        slots.reserveCapacity(scalars.count + 4)
    }

    mutating func run() {
        buildWords()
        for k in slots.indices where slots[k].fromCharTable && words[slots[k].word].kind == .han {
            G2PRules.applyContextRules(&self, slot: k)
        }
        G2PRules.neutralTones(&self)
        G2PRules.resetYiBu(&self)
        for k in slots.indices { slots[k].charCode = slots[k].code }
        G2PRules.thirdToneSandhi(&self)
        G2PRules.yiBuSandhi(&self)
        G2PRules.erhua(&self)
    }

    // MARK: words and readings

    mutating func buildWords() {
        var i = 0
        let n = scalars.count
        var ends: [Int] = [], best: [Float] = [], next: [Int] = []
        while i < n {
            let c = scalars[i]
            if TextNormalizer.Scanner.isHan(c) {
                var j = i
                while j < n, TextNormalizer.Scanner.isHan(scalars[j]) { j += 1 }
                lexicon.segment(scalars[i..<j], into: &ends, scratch: &best, &next)
                var start = i
                for end in ends {
                    addHanWord(start: start, end: i + end)
                    start = i + end
                }
                i = j
            } else if TextNormalizer.Scanner.isLatin(c) {
                let v = c.value >= 97 ? c.value - 97 : c.value - 65
                let names = lexicon.letterCodes[Int(v)]
                let first = slots.count
                for code in names {
                    slots.append(Slot(code: code, lexicalTone: code.tone, charCode: code, charIndex: i, word: words.count))
                }
                words.append(Word(start: i, end: i + 1, kind: .letter, firstSyllable: first, syllableCount: names.count))
                i += 1
            } else {
                let kind: Kind = PunctuationClass.of(c) == .silent ? .silent : .pause
                words.append(Word(start: i, end: i + 1, kind: kind, firstSyllable: slots.count, syllableCount: 0))
                i += 1
            }
        }
    }

    func key(_ range: Range<Int>) -> WordKey? {
        var key = WordKey()
        for k in range where !key.append(scalars[k].value) { return nil }
        return key
    }

    /// Phrase reading of scalars[range] as a pool range, if the lexicon has one.
    func phraseReading(_ range: Range<Int>) -> Range<Int>? {
        guard let key = key(range) else { return nil }
        let e = lexicon.find(key)
        guard e >= 0, lexicon.isWord(e), lexicon.readingCount[e] > 0 else { return nil }
        let s = Int(lexicon.readingStart[e])
        return s..<(s + Int(lexicon.readingCount[e]))
    }

    mutating func appendSlots(_ reading: Range<Int>, at charIndex: Int, word: Int) {
        var c = charIndex
        for p in reading {
            let code = lexicon.pool[p]
            slots.append(Slot(code: code, lexicalTone: code.tone, charCode: code, charIndex: c, word: word))
            c += 1
        }
    }

    mutating func addHanWord(start: Int, end: Int) {
        let index = words.count
        let first = slots.count
        if end - start > 1, let reading = phraseReading(start..<end) {
            appendSlots(reading, at: start, word: index)
        } else {
            // Sub-words of the phrase table, longest first from the left; then character defaults.
            var k = start
            while k < end {
                var matched = false
                var length = min(end - k, WordKey.capacity)
                while length >= 2 {
                    if let reading = phraseReading(k..<(k + length)) {
                        appendSlots(reading, at: k, word: index)
                        k += length
                        matched = true
                        break
                    }
                    length -= 1
                }
                if !matched {
                    if let r = lexicon.charReading(scalars[k].value) {
                        appendSlots(r.lowerBound..<(r.lowerBound + 1), at: k, word: index)
                        slots[slots.count - 1].fromCharTable = true
                    } else {
                        unreadHanzi.append(scalars[k])
                    }
                    k += 1
                }
            }
        }
        words.append(Word(start: start, end: end, kind: .han, firstSyllable: first, syllableCount: slots.count - first))
    }

    // MARK: helpers for rules

    /// Index of the neighbouring word inside the same pause phrase (nil at punctuation or the ends).
    func neighbour(of w: Int, offset: Int) -> Int? {
        var k = w + offset
        while k >= 0, k < words.count {
            switch words[k].kind {
            case .han, .letter: return k
            case .pause: return nil
            case .silent: k += offset
            }
        }
        return nil
    }

    func charAt(_ i: Int) -> Unicode.Scalar? { i >= 0 && i < scalars.count ? scalars[i] : nil }

    // MARK: output

    func result(text: String, normalized: String, dropped: [Unicode.Scalar]) -> G2PResult {
        var pinyin: [String] = []
        pinyin.reserveCapacity(slots.count)
        var charPinyin = [String?](repeating: nil, count: scalars.count)
        var tokens: [String] = [PhonemeInventory.silence]
        tokens.reserveCapacity(slots.count * 2 + 8)
        var atBoundary = true  // last token is sil or sp
        for w in words {
            switch w.kind {
            case .pause:
                if !atBoundary {
                    tokens.append(PhonemeInventory.pause)
                    atBoundary = true
                }
                continue
            case .silent:
                continue
            case .han, .letter:
                break
            }
            var letterNames: [String] = []
            for k in w.firstSyllable..<(w.firstSyllable + w.syllableCount) where !slots[k].mergedAway {
                let slot = slots[k]
                let spelled = lexicon.spelling(slot.code)
                // Every lexicon and letter-table spelling is in the inventory (checked by a test);
                // one that is not gets no tokens rather than a wrong sound.
                let base = Int(slot.code.base)
                guard !lexicon.baseInitial[base].isEmpty else { continue }
                pinyin.append(spelled)
                atBoundary = false
                tokens.append(lexicon.baseInitial[base])
                tokens.append(lexicon.baseFinal[base * 5 + Int(slot.code.tone) - 1])
                if slot.code.erhua { tokens.append(PhonemeInventory.erhua) }
                if w.kind == .letter {
                    letterNames.append(spelled)
                } else {
                    var own = slot.charCode
                    own.erhua = false
                    charPinyin[slot.charIndex] = lexicon.spelling(own)
                    if slot.code.erhua, k + 1 < slots.count, slots[k + 1].mergedAway {
                        charPinyin[slots[k + 1].charIndex] = spelled
                    }
                }
            }
            if w.kind == .letter { charPinyin[w.start] = letterNames.joined(separator: " ") }
        }
        if atBoundary && tokens.count > 1 { tokens.removeLast() }  // a trailing sp
        tokens.append(PhonemeInventory.silence)
        let droppedCharacters = dropped.map { DroppedCharacter(scalar: $0, reason: $0 == "\u{FFFD}" ? .undecodable : .unsupported) }
            + unreadHanzi.map { DroppedCharacter(scalar: $0, reason: .noReading) }
        return G2PResult(text: text, normalized: normalized, pinyin: pinyin, tokens: tokens, dropped: droppedCharacters,
                         normalizedScalars: scalars, charPinyin: charPinyin)
    }
}

/// Latin letter names (house convention, research notes §7), straight to pinyin so that no hanzi
/// polyphone gets in the way.
enum LetterNames {
    static let letters = (65...90).map { String(Character(Unicode.Scalar(UInt8($0)))) }
    static let spellings: [String: [String]] = [
        "A": ["ei1"], "B": ["bi4"], "C": ["xi1"], "D": ["di4"], "E": ["yi4"], "F": ["ai2", "fu5"], "G": ["ji4"],
        "H": ["ei2", "qi1"], "I": ["ai4"], "J": ["jie4"], "K": ["kai4"], "L": ["ai2", "le5"], "M": ["ai2", "mu5"],
        "N": ["en1"], "O": ["ou1"], "P": ["pi4"], "Q": ["qiu1"], "R": ["a4", "er5"], "S": ["ai2", "si5"], "T": ["ti4"],
        "U": ["you1"], "V": ["wei1"], "W": ["da2", "bu5", "liu5"], "X": ["ai2", "ke4", "si5"], "Y": ["wai4"], "Z": ["zei4"],
    ]
}
