import Foundation

/// Word frequencies (jieba), phrase readings (pypinyin), character readings (pypinyin) and the
/// project's overrides, loaded once from the bundled resources. Immutable after loading, so one
/// instance is shared by all threads.
public final class Lexicon: Sendable {
    struct Entry {
        /// ln(frequency); words only in the phrase table count as `phraseOnlyFrequency`.
        var logFrequency: Float
        /// False for entries that exist only as a prefix of a longer word (early exit in the DAG scan).
        var isWord: Bool
        /// Reading in `pool` (count 0 = no phrase reading).
        var pinyinStart: Int32
        var pinyinCount: Int16
    }

    /// Frequency given to phrase-table words that jieba does not list (as the research prototype did).
    static let phraseOnlyFrequency: Float = 3

    let entries: [String: Entry]
    /// Character → its readings in `pool`, most common first.
    let charReadings: [UInt32: (start: Int32, count: Int16)]
    let pool: [Syllable]
    let logTotal: Float
    let maxWordLength: Int

    /// Counts for `vits g2p --stats` and the docs.
    public let wordCount: Int
    public let phraseCount: Int
    public let charCount: Int
    public let overrideCount: Int

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
        var pool: [Syllable] = []
        pool.reserveCapacity(200_000)

        // Appends a space- or comma-separated reading to the pool; nil when a syllable is malformed.
        func appendReading(_ field: Substring, separator: Character) -> (Int32, Int16)? {
            let start = pool.count
            for part in field.split(separator: separator) {
                guard let s = Syllable.parseShape(part) else {
                    pool.removeSubrange(start...)
                    return nil
                }
                pool.append(s)
            }
            return (Int32(start), Int16(pool.count - start))
        }

        var charReadings: [UInt32: (start: Int32, count: Int16)] = [:]
        charReadings.reserveCapacity(27_000)
        try Lexicon.forEachLine(chars, name: "zh_chars.txt") { (line, number) throws(MandarinError) in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2, fields[0].unicodeScalars.count == 1, let scalar = fields[0].unicodeScalars.first,
                  let reading = appendReading(fields[1], separator: ","), reading.1 > 0 else {
                throw .resource(name: "zh_chars.txt", line: number, reason: "expected 'char<TAB>reading,reading…'")
            }
            charReadings[scalar.value] = (reading.0, reading.1)
        }

        var entries: [String: Entry] = [:]
        entries.reserveCapacity(300_000)
        var total: Double = 0
        var maxLength = 1
        var wordCount = 0, phraseCount = 0

        func addPrefixes(_ word: Substring) {
            var prefix = ""
            for scalar in word.unicodeScalars.dropLast() {
                prefix.unicodeScalars.append(scalar)
                if entries[prefix] == nil {
                    entries[prefix] = Entry(logFrequency: -.infinity, isWord: false, pinyinStart: 0, pinyinCount: 0)
                }
            }
        }

        try Lexicon.forEachLine(words, name: "zh_words.txt") { (line, number) throws(MandarinError) in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].isEmpty else {
                throw .resource(name: "zh_words.txt", line: number, reason: "expected 'word<TAB>freq<TAB>pinyin'")
            }
            let length = fields[0].unicodeScalars.count
            var frequency = Lexicon.phraseOnlyFrequency
            if !fields[1].isEmpty {
                guard let f = Float(fields[1]), f > 0 else {
                    throw .resource(name: "zh_words.txt", line: number, reason: "frequency '\(fields[1])' is not a positive number")
                }
                frequency = f
            }
            var reading: (Int32, Int16) = (0, 0)
            if !fields[2].isEmpty {
                guard let r = appendReading(fields[2], separator: " "), Int(r.1) == length else {
                    throw .resource(name: "zh_words.txt", line: number, reason: "reading '\(fields[2])' does not have one syllable per character")
                }
                reading = r
                phraseCount += 1
            }
            total += Double(frequency)
            maxLength = max(maxLength, length)
            wordCount += 1
            entries[String(fields[0])] = Entry(logFrequency: logf(frequency), isWord: true, pinyinStart: reading.0, pinyinCount: reading.1)
            addPrefixes(fields[0])
        }

        var overrideCount = 0
        try Lexicon.forEachLine(overrides, name: "zh_overrides.txt") { (line, number) throws(MandarinError) in
            if line.hasPrefix("#") { return }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let length = fields.first.map { $0.unicodeScalars.count } ?? 0
            guard fields.count == 2 || fields.count == 3, length > 0,
                  let r = appendReading(fields[1], separator: " "), Int(r.1) == length else {
                throw .resource(name: "zh_overrides.txt", line: number, reason: "expected 'word<TAB>pinyin[<TAB>freq]' with one syllable per character")
            }
            let word = String(fields[0])
            var entry = entries[word] ?? Entry(logFrequency: logf(Lexicon.phraseOnlyFrequency), isWord: true, pinyinStart: 0, pinyinCount: 0)
            if !entry.isWord {
                entry.isWord = true
                entry.logFrequency = logf(Lexicon.phraseOnlyFrequency)
            }
            if fields.count == 3 {
                guard let f = Float(fields[2]), f > 0 else {
                    throw .resource(name: "zh_overrides.txt", line: number, reason: "frequency '\(fields[2])' is not a positive number")
                }
                entry.logFrequency = logf(f)
            }
            entry.pinyinStart = r.0
            entry.pinyinCount = r.1
            entries[word] = entry
            addPrefixes(fields[0])
            maxLength = max(maxLength, length)
            overrideCount += 1
        }

        self.entries = entries
        self.charReadings = charReadings
        self.pool = pool
        self.logTotal = Float(log(max(total, 1)))
        self.maxWordLength = maxLength
        self.wordCount = wordCount
        self.phraseCount = phraseCount
        self.charCount = charReadings.count
        self.overrideCount = overrideCount
    }

    /// Calls `body` with every non-empty line (BOM, CR and trailing spaces removed) and its 1-based number.
    static func forEachLine(_ data: Data, name: String,
                            _ body: (Substring, Int) throws(MandarinError) -> Void) throws(MandarinError) {
        guard var text = String(data: data, encoding: .utf8) else {
            throw .resource(name: name, line: 0, reason: "not UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = rawLine
            while let last = line.last, last == "\r" || last == " " { line = line.dropLast() }
            if line.isEmpty { continue }
            try body(line, number)
        }
    }

    // MARK: queries

    /// Phrase reading of a word (overrides first), or nil.
    public func phraseReading(_ word: String) -> [Syllable]? {
        guard let e = entries[word], e.isWord, e.pinyinCount > 0 else { return nil }
        return Array(pool[Int(e.pinyinStart)..<Int(e.pinyinStart) + Int(e.pinyinCount)])
    }

    /// All readings of a character, most common first.
    public func readings(of scalar: Unicode.Scalar) -> [Syllable] {
        guard let r = charReadings[scalar.value] else { return [] }
        return Array(pool[Int(r.start)..<Int(r.start) + Int(r.count)])
    }

    /// Most common reading of a character, or nil when the lexicon does not know it.
    func defaultReading(_ scalar: UInt32) -> Syllable? {
        guard let r = charReadings[scalar] else { return nil }
        return pool[Int(r.start)]
    }

    func hasReading(_ scalar: UInt32, base: String, tone: Int) -> Bool {
        guard let r = charReadings[scalar] else { return false }
        for i in Int(r.start)..<Int(r.start) + Int(r.count) where pool[i].base == base && pool[i].tone == tone { return true }
        return false
    }

    /// True when `word` is a dictionary word (jieba, phrase table or override).
    public func contains(_ word: String) -> Bool { entries[word]?.isWord ?? false }
}

extension Lexicon {
    /// Every word that has a phrase reading, sorted (for benchmark and evaluation sets).
    public func phraseWords() -> [String] {
        entries.compactMap { $0.value.isWord && $0.value.pinyinCount > 0 ? $0.key : nil }.sorted()
    }
}
