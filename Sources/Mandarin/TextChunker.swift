/// Splits text into chunks of at most `maxLength` characters for synthesis, one model call per
/// chunk: the model's attention is quadratic and its decoder linear in the input, so an unbounded
/// input needs unbounded memory, while a bounded chunk keeps synthesis memory flat.
///
/// Rules, each applied only to a piece still longer than `maxLength`:
///  1. sentences: after 。！？；!?; and at line breaks — always, whatever the length (every
///     sentence is spoken on its own, as before chunking existed);
///  2. clauses: after pause punctuation (，、：,: …— and every other mark `PunctuationClass` calls a
///     pause), except an ASCII mark between two ASCII letters or digits (3.5, 1,000, 9:00);
///  3. words: at spaces, where hanzi meet other characters, and between the words of the
///     segmenter (jieba-style, `Lexicon.segment`) inside runs of hanzi; a mark stays with its word
///     (no cut after an opening bracket or quote, none before a closing one or a pause mark);
///  4. a hard cut every `maxLength` characters inside a longer word (a digit or letter run).
/// Rules 2–4 pack consecutive pieces greedily: a chunk takes as many whole clauses (words) as fit.
/// Closing quotes and brackets stay with the text before them. Chunks are trimmed; empty ones are
/// left out. Lengths count `Character`s (grapheme clusters), which are never cut.
public struct TextChunker: Sendable {
    /// The largest chunk, in characters.
    public let maxLength: Int
    /// The default `maxLength` of `vits synthesize`: longer than almost every written sentence
    /// (so ordinary text is spoken sentence by sentence, as it always was), short enough that one
    /// chunk's synthesis needs little memory (docs/synthesis.md, "Long text").
    public static let defaultMaxLength = 100
    /// Word segmentation of hanzi runs; nil: every hanzi is a word of its own.
    public let lexicon: Lexicon?

    /// Sentence ends (rule 1); line breaks end sentences too.
    public static let sentenceEnds: Set<Character> = ["。", "！", "？", "；", "!", "?", ";"]

    public init(maxLength: Int, lexicon: Lexicon?) {
        self.maxLength = max(1, maxLength)
        self.lexicon = lexicon
    }

    /// The chunks of `text`, in order.
    public func chunks(_ text: String) -> [String] {
        var out: [String] = []
        for sentence in Self.sentences(Array(text)) {
            if sentence.count <= maxLength {
                append(sentence, to: &out)
                continue
            }
            pack(sentence, cuts: Self.clauseCuts(sentence), into: &out) { clause, out in
                pack(clause, cuts: wordCuts(clause), into: &out) { word, out in
                    var start = word.startIndex
                    while start < word.endIndex {                       // rule 4
                        let end = min(start + maxLength, word.endIndex)
                        append(word[start..<end], to: &out)
                        start = end
                    }
                }
            }
        }
        return out
    }

    // MARK: rules

    /// Rule 1: sentences with their end mark and any closing quotes/brackets after it.
    static func sentences(_ text: [Character]) -> [ArraySlice<Character>] {
        var out: [ArraySlice<Character>] = []
        var start = 0, i = 0
        while i < text.count {
            let c = text[i]
            if c.isNewline {
                out.append(text[start..<i])
                i += 1
                start = i
            } else if sentenceEnds.contains(c) {
                i = afterClosers(text[...], from: i + 1)
                out.append(text[start..<i])
                start = i
            } else {
                i += 1
            }
        }
        out.append(text[start..<text.count])
        return out
    }

    /// Rule 2: offsets (exclusive ends) after each pause mark that may end a clause.
    static func clauseCuts(_ s: ArraySlice<Character>) -> [Int] {
        var cuts: [Int] = []
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let u = c.unicodeScalars.first, c.unicodeScalars.count == 1, isClauseMark(u) {
                let inNumberOrWord = u.isASCII && i > s.startIndex && i + 1 < s.endIndex
                    && isASCIIAlphanumeric(s[i - 1]) && isASCIIAlphanumeric(s[i + 1])
                if !inNumberOrWord {
                    i = afterClosers(s, from: i + 1)
                    cuts.append(i)
                    continue
                }
            }
            i += 1
        }
        return cuts
    }

    /// Rule 3: offsets where a word ends: after spaces, at hanzi/other transitions, and at the
    /// segmenter's word ends inside hanzi runs.
    func wordCuts(_ s: ArraySlice<Character>) -> [Int] {
        var cuts: [Int] = []
        var ends: [Int] = [], best: [Float] = [], next: [Int] = []
        var i = s.startIndex
        while i < s.endIndex {
            if Self.isHan(s[i]) {
                var j = i
                while j < s.endIndex, Self.isHan(s[j]) { j += 1 }
                if let lexicon {
                    let scalars = s[i..<j].compactMap(\.unicodeScalars.first)   // one scalar each (isHan)
                    lexicon.segment(scalars[...], into: &ends, scratch: &best, &next)
                    cuts.append(contentsOf: ends.map { i + $0 })
                } else {
                    cuts.append(contentsOf: (i + 1)...j)
                }
                i = j
            } else if s[i].isWhitespace {
                while i < s.endIndex, s[i].isWhitespace { i += 1 }
                cuts.append(i)
            } else {
                var j = i + 1
                while j < s.endIndex, !s[j].isWhitespace, !Self.isHan(s[j]) { j += 1 }
                cuts.append(j)
                i = j
            }
        }
        // Marks stay with their word: no cut after an opening bracket or quote, none before a
        // closing one or a pause mark.
        return cuts.filter { c in
            guard c > s.startIndex, c < s.endIndex else { return true }
            return !Self.isOpening(s[c - 1]) && !Self.isClosingOrPause(s[c])
        }
    }

    static func isOpening(_ c: Character) -> Bool {
        guard let u = c.unicodeScalars.first else { return false }
        let category = u.properties.generalCategory
        return category == .openPunctuation || category == .initialPunctuation
    }

    static func isClosingOrPause(_ c: Character) -> Bool {
        guard let u = c.unicodeScalars.first else { return false }
        let category = u.properties.generalCategory
        return category == .closePunctuation || category == .finalPunctuation || isClauseMark(u)
    }

    // MARK: packing

    /// Greedy packing of the pieces between `cuts` into chunks of at most `maxLength`; a piece
    /// longer than that goes to `split` (the next rule).
    private func pack(_ s: ArraySlice<Character>, cuts: [Int], into out: inout [String],
                      split: (ArraySlice<Character>, inout [String]) -> Void) {
        var chunkStart = s.startIndex, pieceStart = s.startIndex
        for cut in cuts + [s.endIndex] where cut > pieceStart {
            if cut - pieceStart > maxLength {             // the piece alone is too long
                append(s[chunkStart..<pieceStart], to: &out)
                split(s[pieceStart..<cut], &out)
                chunkStart = cut
            } else if cut - chunkStart > maxLength {       // the chunk is full: start a new one here
                append(s[chunkStart..<pieceStart], to: &out)
                chunkStart = pieceStart
            }
            pieceStart = cut
        }
        append(s[chunkStart..<s.endIndex], to: &out)
    }

    private func append(_ s: ArraySlice<Character>, to out: inout [String]) {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi, s[lo].isWhitespace { lo += 1 }
        while hi > lo, s[hi - 1].isWhitespace { hi -= 1 }
        if lo < hi { out.append(String(s[lo..<hi])) }
    }

    // MARK: character classes

    /// Past the closing quotes and brackets (and spaces before them) that follow position `i`.
    static func afterClosers(_ s: ArraySlice<Character>, from i: Int) -> Int {
        var j = i, end = i
        while j < s.endIndex, let u = s[j].unicodeScalars.first {
            switch u.properties.generalCategory {
            case .closePunctuation, .finalPunctuation: j += 1; end = j
            case _ where u == "\"" || u == "'": j += 1; end = j
            case _ where s[j].isWhitespace && !s[j].isNewline: j += 1
            default: return end
            }
        }
        return end
    }

    /// A mark the frontend reads as a pause, other than an opening bracket or quote.
    static func isClauseMark(_ u: Unicode.Scalar) -> Bool {
        let category = u.properties.generalCategory
        return PunctuationClass.of(u) == .pause && category != .openPunctuation && category != .initialPunctuation
    }


    static func isASCIIAlphanumeric(_ c: Character) -> Bool {
        guard let v = c.asciiValue else { return false }
        return (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122)
    }

    static func isHan(_ c: Character) -> Bool {
        c.unicodeScalars.count == 1 && TextNormalizer.Scanner.isHan(c.unicodeScalars.first)
    }
}
