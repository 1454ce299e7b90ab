import Foundation

/// A word of up to 8 hanzi packed into two integers: every character the lexicon knows is below
/// U+10000, so 16 bits each. Hashing and comparing it costs a few instructions, where a `String`
/// key would go through Unicode-aware comparison on every probe.
struct WordKey: Hashable {
    static let capacity = 8
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var count = 0

    /// Appends one character; false when it does not fit (too long, or outside the BMP).
    @inline(__always) mutating func append(_ v: UInt32) -> Bool {
        guard count < Self.capacity, v > 0, v <= 0xFFFF else { return false }
        if count < 4 { lo |= UInt64(v) << UInt64(16 * count) } else { hi |= UInt64(v) << UInt64(16 * (count - 4)) }
        count += 1
        return true
    }

    init() {}
    init?(_ text: some StringProtocol) {
        for s in text.unicodeScalars where !append(s.value) { return nil }
        if count == 0 { return nil }
    }
}

/// A syllable in the lexicon's interned form: index of its spelling in `Lexicon.bases` + tone.
struct SylCode: Equatable {
    var base: UInt16
    var tone: UInt8
    var erhua = false
}

/// Word frequencies (jieba), phrase readings (pypinyin), character readings (pypinyin) and the
/// project's overrides (see Resources/README.md), loaded once from the bundled resources.
/// Immutable after loading, so one instance is shared by all threads.
public final class Lexicon: Sendable {
    /// Frequency given to phrase-table words that jieba does not list (as the research prototype did).
    static let phraseOnlyFrequency: Float = 3
    static let charBase: UInt32 = 0x3000
    static let charLimit: UInt32 = 0xFB00

    // Open-addressing hash table: WordKey → entry index (−1 = empty slot).
    /// One slot of the open-addressing table: key, entry index (−1 = empty) and the entry's
    /// ln(frequency), side by side so that a probe touches one cache line.
    struct HashSlot {
        var lo: UInt64
        var hi: UInt64
        var entry: Int32
        var logFrequency: Float
    }
    let table: [HashSlot]
    let slotMask: Int

    // Entries (words and prefixes of words).
    let logFrequency: [Float]          // −infinity: only a prefix of longer words
    let readingStart: [Int32]
    let readingCount: [UInt8]          // 0: no phrase reading

    /// Entry of each single character (−1 = none), indexed by scalar − U+3000: saves one probe per
    /// position in segmentation.
    let singleEntry: [Int32]
    /// Character readings, indexed by scalar − U+3000: start in `pool` and count (0 = unknown).
    let charStart: [Int32]
    let charCount: [UInt8]

    let pool: [SylCode]
    /// Interned spellings; `spelled[base * 10 + (tone − 1) * 2 + erhua]` is the printed syllable.
    let bases: [String]
    let baseIDs: [String: UInt16]
    let spelled: [String]
    /// Phoneme tokens of each base: initial (or ^) and toneless final; nil when not in the inventory.
    /// (empty initial = not in the inventory; cannot happen, the loader rejects such spellings)
    let baseInitial: [String]
    /// `baseFinal[base * 5 + tone − 1]`: the toned final token.
    let baseFinal: [String]

    /// Spelled names of A…Z (LetterNames).
    let letterCodes: [[SylCode]]
    struct KnownBases { let yi, bu, er, liao, zhao: UInt16 }
    let known: KnownBases

    let logTotal: Float
    public let maxWordLength: Int
    public let wordCount: Int
    public let phraseCount: Int
    public let characterCount: Int
    public let overrideCount: Int
    /// Words longer than `WordKey.capacity` characters are left out of segmentation.
    public let skippedLongWords: Int

    /// The bundled lexicon, loaded on first use (Swift initialises `static let` once, thread-safely).
    public static func bundled() throws(MandarinError) -> Lexicon {
        switch bundledResult {
        case .success(let lexicon): return lexicon
        case .failure(let error): throw error
        }
    }

    private static let bundledResult: Result<Lexicon, MandarinError> = {
        do throws(MandarinError) {
            func load(_ name: String) throws(MandarinError) -> Data {
                guard let url = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Resources"),
                      let data = try? Data(contentsOf: url) else {
                    throw .resource(name: name + ".txt", line: 0, reason: "missing from the Mandarin bundle")
                }
                return data
            }
            return .success(try Lexicon(chars: load("zh_chars"), words: load("zh_words"), overrides: load("zh_overrides")))
        } catch {
            return .failure(error)
        }
    }()

    /// Builds a lexicon from the three line formats (see Resources/README.md).
    public init(chars: Data, words: Data, overrides: Data) throws(MandarinError) {
        var b = Builder()
        try b.loadChars(chars)
        try b.loadWords(words)
        try b.loadOverrides(overrides)
        var letters: [[SylCode]] = []
        for letter in LetterNames.letters {
            var codes: [SylCode] = []
            for n in LetterNames.spellings[letter] ?? [] {
                guard let tone = n.last?.wholeNumberValue else { continue }
                codes.append(SylCode(base: b.intern(n.dropLast()), tone: UInt8(tone)))
            }
            letters.append(codes)
        }
        letterCodes = letters
        known = KnownBases(yi: b.intern("yi"), bu: b.intern("bu"), er: b.intern("er"), liao: b.intern("liao"), zhao: b.intern("zhao"))

        var table = [HashSlot](repeating: HashSlot(lo: 0, hi: 0, entry: -1, logFrequency: -.infinity), count: b.slotEntry.count)
        for i in table.indices where b.slotEntry[i] >= 0 {
            table[i] = HashSlot(lo: b.slotLo[i], hi: b.slotHi[i], entry: b.slotEntry[i], logFrequency: b.logFrequency[Int(b.slotEntry[i])])
        }
        self.table = table
        slotMask = b.slotEntry.count - 1
        var singles = [Int32](repeating: -1, count: Int(Lexicon.charLimit - Lexicon.charBase))
        for i in singles.indices {
            var key = WordKey()
            _ = key.append(Lexicon.charBase + UInt32(i))
            var slot = Lexicon.hash(key.lo, key.hi) & (b.slotEntry.count - 1)
            while b.slotEntry[slot] >= 0 {
                if b.slotLo[slot] == key.lo && b.slotHi[slot] == key.hi { singles[i] = b.slotEntry[slot]; break }
                slot = (slot &+ 1) & (b.slotEntry.count - 1)
            }
        }
        singleEntry = singles
        logFrequency = b.logFrequency
        readingStart = b.readingStart
        readingCount = b.readingCount
        charStart = b.charStart
        charCount = b.charCount
        pool = b.pool
        bases = b.bases
        baseIDs = b.baseIDs
        var spelled: [String] = []
        var initials: [String] = []
        var finals: [String] = []
        for base in b.bases {
            for tone in 1...5 {
                spelled.append(base + String(tone))
                spelled.append(base + "r" + String(tone))
            }
            let (initial, final) = PhonemeInventory.split(base: base) ?? ("", "")
            initials.append(initial)
            for tone in 1...5 { finals.append(final.isEmpty ? "" : final + String(tone)) }
        }
        self.spelled = spelled
        self.baseInitial = initials
        self.baseFinal = finals
        logTotal = Float(log(max(b.total, 1)))
        maxWordLength = b.maxLength
        wordCount = b.wordCount
        phraseCount = b.phraseCount
        characterCount = b.charsLoaded
        overrideCount = b.overrideCount
        skippedLongWords = b.skippedLong
    }

    // MARK: lookups used by the analysis

    /// splitmix64's finalizer over both halves: every key bit reaches the low bits used as the slot.
    @inline(__always) static func hash(_ lo: UInt64, _ hi: UInt64) -> Int {
        var z = lo ^ (hi &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: z ^ (z >> 31))
    }

    /// Entry index of a word or word prefix, or −1.
    @inline(__always) func find(_ key: WordKey) -> Int {
        table.withUnsafeBufferPointer { table in
            var i = Lexicon.hash(key.lo, key.hi) & slotMask
            while true {
                let slot = table[i]
                if slot.entry < 0 { return -1 }
                if slot.lo == key.lo && slot.hi == key.hi { return Int(slot.entry) }
                i = (i &+ 1) & slotMask
            }
        }
    }

    @inline(__always) func isWord(_ entry: Int) -> Bool { logFrequency[entry] > -.infinity }

    func charReading(_ scalar: UInt32) -> Range<Int>? {
        guard scalar >= Lexicon.charBase, scalar < Lexicon.charLimit else { return nil }
        let i = Int(scalar - Lexicon.charBase)
        let n = Int(charCount[i])
        if n == 0 { return nil }
        let s = Int(charStart[i])
        return s..<(s + n)
    }

    func spelling(_ c: SylCode) -> String { spelled[Int(c.base) * 10 + (Int(c.tone) - 1) * 2 + (c.erhua ? 1 : 0)] }

    func syllable(_ c: SylCode) -> Syllable { Syllable(base: bases[Int(c.base)], tone: Int(c.tone), erhua: c.erhua) }

    func code(_ base: String, _ tone: Int) -> SylCode? {
        guard let id = baseIDs[base] else { return nil }
        return SylCode(base: id, tone: UInt8(tone))
    }

    // MARK: public queries

    /// Phrase reading of a word (overrides first), or nil.
    public func phraseReading(_ word: String) -> [Syllable]? {
        guard let key = WordKey(word) else { return nil }
        let e = find(key)
        guard e >= 0, isWord(e), readingCount[e] > 0 else { return nil }
        let s = Int(readingStart[e])
        return pool[s..<(s + Int(readingCount[e]))].map(syllable)
    }

    /// All readings of a character, most common first.
    public func readings(of scalar: Unicode.Scalar) -> [Syllable] {
        guard let r = charReading(scalar.value) else { return [] }
        return pool[r].map(syllable)
    }

    /// True when `word` is a dictionary word (jieba, phrase table or override).
    public func contains(_ word: String) -> Bool {
        guard let key = WordKey(word) else { return false }
        let e = find(key)
        return e >= 0 && isWord(e)
    }

    /// Every word that has a phrase reading, sorted (for benchmark and evaluation sets).
    public func phraseWords() -> [String] {
        var out: [String] = []
        for slot in table where slot.entry >= 0 {
            let e = Int(slot.entry)
            guard isWord(e), readingCount[e] > 0 else { continue }
            var s = String.UnicodeScalarView()
            for (word, shift) in [(slot.lo, 0), (slot.lo, 16), (slot.lo, 32), (slot.lo, 48),
                                  (slot.hi, 0), (slot.hi, 16), (slot.hi, 32), (slot.hi, 48)] {
                let v = UInt32((word >> UInt64(shift)) & 0xFFFF)
                if v == 0 { break }
                if let u = Unicode.Scalar(v) { s.append(u) }
            }
            out.append(String(s))
        }
        return out.sorted()
    }

}

/// Byte-level loader for the resource line formats (the lexicon loads on every process start, so
/// it never builds a `String` per line or per word).
private struct Builder {
    var slotLo = [UInt64](repeating: 0, count: 1 << 19)
    var slotHi = [UInt64](repeating: 0, count: 1 << 19)
    var slotEntry = [Int32](repeating: -1, count: 1 << 19)
    var logFrequency: [Float] = []
    var readingStart: [Int32] = []
    var readingCount: [UInt8] = []
    var charStart = [Int32](repeating: 0, count: Int(Lexicon.charLimit - Lexicon.charBase))
    var charCount = [UInt8](repeating: 0, count: Int(Lexicon.charLimit - Lexicon.charBase))
    var pool: [SylCode] = []
    var bases: [String] = []
    var baseIDs: [String: UInt16] = [:]
    /// Spelling packed one letter per byte (≤ 8 letters) → id.
    var packedBaseIDs: [UInt64: UInt16] = [:]
    var total: Double = 0
    var maxLength = 1
    var wordCount = 0, phraseCount = 0, charsLoaded = 0, overrideCount = 0, skippedLong = 0

    init() {
        logFrequency.reserveCapacity(300_000)
        readingStart.reserveCapacity(300_000)
        readingCount.reserveCapacity(300_000)
        pool.reserveCapacity(180_000)
    }

    mutating func intern(_ base: Substring) -> UInt16 {
        if let id = baseIDs[String(base)] { return id }
        let id = UInt16(bases.count)
        bases.append(String(base))
        baseIDs[String(base)] = id
        var packed: UInt64 = 0
        for (k, b) in base.utf8.prefix(8).enumerated() { packed |= UInt64(b) << UInt64(8 * k) }
        if base.utf8.count <= 8 { packedBaseIDs[packed] = id }
        return id
    }

    /// Entry index for `key`, inserting a prefix-only entry when absent.
    mutating func entry(_ key: WordKey) -> Int {
        let mask = slotEntry.count - 1
        var i = Lexicon.hash(key.lo, key.hi) & mask
        while slotEntry[i] >= 0 {
            if slotLo[i] == key.lo && slotHi[i] == key.hi { return Int(slotEntry[i]) }
            i = (i &+ 1) & mask
        }
        let e = logFrequency.count
        slotLo[i] = key.lo
        slotHi[i] = key.hi
        slotEntry[i] = Int32(e)
        logFrequency.append(-.infinity)
        readingStart.append(0)
        readingCount.append(0)
        return e
    }

    /// Parses `yin2 hang2` / `xing2,hang2` (bytes) into the pool; nil when a syllable is malformed.
    mutating func appendReading(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, separator: UInt8) -> (Int32, Int)? {
        let start = pool.count
        var i = range.lowerBound
        while i < range.upperBound {
            var j = i
            while j < range.upperBound, bytes[j] != separator { j += 1 }
            // bytes[i..<j] is one syllable: letters then a tone digit
            let n = j - i
            guard n >= 2, n <= 9, bytes[j - 1] >= UInt8(ascii: "1"), bytes[j - 1] <= UInt8(ascii: "5") else {
                pool.removeSubrange(start...)
                return nil
            }
            var letters = n - 1
            var erhua = false
            if letters > 2, bytes[i + letters - 1] == UInt8(ascii: "r") { letters -= 1; erhua = true }
            var packed: UInt64 = 0
            for k in 0..<letters {
                let b = bytes[i + k]
                guard b >= UInt8(ascii: "a"), b <= UInt8(ascii: "z") else { pool.removeSubrange(start...); return nil }
                packed |= UInt64(b) << UInt64(8 * k)
            }
            let id: UInt16
            if let known = packedBaseIDs[packed] {
                id = known
            } else {
                // a spelling seen for the first time must exist in the phoneme inventory
                let base = Substring(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + letters)]), as: UTF8.self)
                guard PhonemeInventory.split(base: String(base)) != nil else { pool.removeSubrange(start...); return nil }
                id = intern(base)
            }
            pool.append(SylCode(base: id, tone: bytes[j - 1] - UInt8(ascii: "0"), erhua: erhua))
            i = j + 1
        }
        return (Int32(start), pool.count - start)
    }

    /// Decodes UTF-8 bytes into a packed key; nil when longer than the key holds or malformed.
    static func key(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, prefixes: ((WordKey) -> Void)? = nil) -> (WordKey, Int)? {
        var key = WordKey()
        var i = range.lowerBound
        var length = 0
        while i < range.upperBound {
            let b0 = UInt32(bytes[i])
            var v: UInt32
            var n: Int
            if b0 < 0x80 { v = b0; n = 1 } else if b0 >> 5 == 0x6 { v = b0 & 0x1F; n = 2 } else if b0 >> 4 == 0xE { v = b0 & 0x0F; n = 3 } else { return nil }
            guard i + n <= range.upperBound else { return nil }
            for k in 1..<max(n, 1) where n > 1 { v = (v << 6) | (UInt32(bytes[i + k]) & 0x3F) }
            if length > 0 { prefixes?(key) }
            guard key.append(v) else { return nil }
            length += 1
            i += n
        }
        return length > 0 ? (key, length) : nil
    }

    static func number(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Float? {
        guard !range.isEmpty else { return nil }
        var v: Float = 0
        for i in range {
            let b = bytes[i]
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Float(b - UInt8(ascii: "0"))
        }
        return v > 0 ? v : nil
    }

    mutating func loadChars(_ data: Data) throws(MandarinError) {
        try forEachLine(data, name: "zh_chars.txt") { (bytes, fields, number) throws(MandarinError) in
            guard fields.count == 2, let (key, length) = Builder.key(bytes, fields[0]), length == 1,
                  UInt32(key.lo) >= Lexicon.charBase, UInt32(key.lo) < Lexicon.charLimit,
                  let reading = appendReading(bytes, fields[1], separator: UInt8(ascii: ",")), reading.1 > 0, reading.1 < 256 else {
                throw .resource(name: "zh_chars.txt", line: number, reason: "expected 'char<TAB>reading,reading…' for a CJK character")
            }
            let i = Int(UInt32(key.lo) - Lexicon.charBase)
            charStart[i] = reading.0
            charCount[i] = UInt8(reading.1)
            charsLoaded += 1
        }
    }

    /// Adds a word and all its prefixes; false when it is longer than a key holds.
    mutating func addWord(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, logFrequency f: Float, reading: (Int32, Int)?) -> Int? {
        var prefixes: [WordKey] = []
        guard let (key, length) = Builder.key(bytes, range, prefixes: { prefixes.append($0) }) else { return nil }
        for p in prefixes { _ = entry(p) }
        let e = entry(key)
        logFrequency[e] = f
        if let r = reading {
            guard r.1 == length else { return -1 }
            readingStart[e] = r.0
            readingCount[e] = UInt8(r.1)
        }
        maxLength = max(maxLength, length)
        return e
    }

    mutating func loadWords(_ data: Data) throws(MandarinError) {
        try forEachLine(data, name: "zh_words.txt") { (bytes, fields, number) throws(MandarinError) in
            guard fields.count == 3, !fields[0].isEmpty else {
                throw .resource(name: "zh_words.txt", line: number, reason: "expected 'word<TAB>freq<TAB>pinyin'")
            }
            var frequency = Lexicon.phraseOnlyFrequency
            if !fields[1].isEmpty {
                guard let f = Builder.number(bytes, fields[1]) else {
                    throw .resource(name: "zh_words.txt", line: number, reason: "frequency is not a positive integer")
                }
                frequency = f
            }
            var reading: (Int32, Int)?
            if !fields[2].isEmpty {
                guard let r = appendReading(bytes, fields[2], separator: UInt8(ascii: " ")) else {
                    throw .resource(name: "zh_words.txt", line: number, reason: "malformed pinyin reading")
                }
                reading = r
            }
            switch addWord(bytes, fields[0], logFrequency: logf(frequency), reading: reading) {
            case nil:
                skippedLong += 1
            case -1:
                throw .resource(name: "zh_words.txt", line: number, reason: "reading does not have one syllable per character")
            default:
                total += Double(frequency)
                wordCount += 1
                if reading != nil { phraseCount += 1 }
            }
        }
    }

    mutating func loadOverrides(_ data: Data) throws(MandarinError) {
        try forEachLine(data, name: "zh_overrides.txt") { (bytes, fields, number) throws(MandarinError) in
            if bytes[fields[0].lowerBound] == UInt8(ascii: "#") { return }
            guard fields.count == 2 || fields.count == 3, !fields[0].isEmpty,
                  let r = appendReading(bytes, fields[1], separator: UInt8(ascii: " ")) else {
                throw .resource(name: "zh_overrides.txt", line: number, reason: "expected 'word<TAB>pinyin[<TAB>freq]'")
            }
            var f: Float = logf(Lexicon.phraseOnlyFrequency)
            if fields.count == 3 {
                guard let v = Builder.number(bytes, fields[2]) else {
                    throw .resource(name: "zh_overrides.txt", line: number, reason: "frequency is not a positive integer")
                }
                f = logf(v)
            } else if let (key, _) = Builder.key(bytes, fields[0]) {
                // an existing word keeps its own frequency
                let e = entry(key)
                if logFrequency[e] > -.infinity { f = logFrequency[e] }
            }
            switch addWord(bytes, fields[0], logFrequency: f, reading: r) {
            case nil:
                throw .resource(name: "zh_overrides.txt", line: number, reason: "words are limited to \(WordKey.capacity) characters")
            case -1:
                throw .resource(name: "zh_overrides.txt", line: number, reason: "reading does not have one syllable per character")
            default:
                overrideCount += 1
            }
        }
    }
}

/// Calls `body` with the bytes, the tab-separated field ranges and the 1-based number of every
/// non-empty line (a leading BOM, CR and trailing spaces removed).
func forEachLine(_ data: Data, name: String,
                 _ body: (UnsafeRawBufferPointer, [Range<Int>], Int) throws(MandarinError) -> Void) throws(MandarinError) {
    var failure: MandarinError?
    data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
        var i = 0
        let n = bytes.count
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var number = 0
        var fields: [Range<Int>] = []
        while i < n {
            number += 1
            var end = i
            while end < n, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            while last > i, bytes[last - 1] == UInt8(ascii: "\r") || bytes[last - 1] == UInt8(ascii: " ") { last -= 1 }
            if last > i {
                fields.removeAll(keepingCapacity: true)
                var f = i
                for k in i..<last where bytes[k] == UInt8(ascii: "\t") {
                    fields.append(f..<k)
                    f = k + 1
                }
                fields.append(f..<last)
                do throws(MandarinError) { try body(bytes, fields, number) } catch { failure = error; return }
            }
            i = end + 1
        }
    }
    if let failure { throw failure }
}
