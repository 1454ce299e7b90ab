import Foundation

/// Reader for Biaobei (CSMSC) prosody label files, `ProsodyLabeling/000001-010000.txt`:
///
///     000001<TAB>卡尔普#2陪外孙#1玩滑梯#4。
///     <TAB>ka2 er2 pu3 pei2 wai4 sun1 wan2 hua2 ti1
///
/// Training uses these labels as given (their pinyin), never re-derived by the G2P.
/// Tolerates a BOM, CRLF, trailing spaces and blank lines; erhua syllables (`huir4`) stand for
/// two characters (会儿). A malformed entry becomes an issue with its line number and the rest
/// of the file is still read.
public enum BiaobeiLabels {
    /// A prosody mark of the text line: `#level` after `offset` characters of the clean text.
    public struct ProsodyMark: Sendable, Equatable {
        public let offset: Int
        public let level: Int
        public init(offset: Int, level: Int) { self.offset = offset; self.level = level }
    }

    public struct Utterance: Sendable, Equatable {
        public let id: String
        /// Text without prosody marks (punctuation kept).
        public let text: String
        public let prosody: [ProsodyMark]
        /// The pinyin line as given: `["ka2", "er2", "pu3", …]`.
        public let syllables: [Syllable]
        /// `sil`, the syllables' tokens with `sp` where the text has pause punctuation between
        /// syllables, `sil` — the same convention as `MandarinFrontend` at inference.
        public let tokens: [String]
        /// 1-based line number of the text line.
        public let line: Int
    }

    public struct Issue: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let id: String?
        public let message: String
        /// False for a warning: the utterance was kept.
        public let skipped: Bool
        public var description: String {
            "line \(line)\(id.map { " (\($0))" } ?? ""): \(message)\(skipped ? " — entry skipped" : "")"
        }
    }

    public struct File: Sendable {
        public let utterances: [Utterance]
        public let issues: [Issue]
    }

    public static func parse(contentsOf url: URL) throws(MandarinError) -> File {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadableFile(path: url.path, reason: "not UTF-8 text")
        }
        return parse(text)
    }

    public static func parse(_ content: String) -> File {
        var utterances: [Utterance] = []
        var issues: [Issue] = []
        var seen: Set<String> = []
        // Lines with their numbers; BOM, CR and trailing spaces removed; blank lines dropped.
        var lines: [(Int, Substring)] = []
        var number = 0
        // split on bytes: "\r\n" is one Character, so a Character split would miss CRLF lines
        for raw in content.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(raw)
            if number == 1, line.unicodeScalars.first == "\u{FEFF}" { line = Substring(line.unicodeScalars.dropFirst()) }
            while let last = line.unicodeScalars.last, last == "\r" || last == " " || last == "\t" {
                line = Substring(line.unicodeScalars.dropLast())
            }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            lines.append((number, line))
        }

        var k = 0
        while k < lines.count {
            let (lineNumber, line) = lines[k]
            guard let (id, body) = idLine(line) else {
                issues.append(Issue(line: lineNumber, id: nil, message: "expected 'ID<TAB>text' (an utterance id of digits, a tab, the text)", skipped: true))
                k += 1
                continue
            }
            guard k + 1 < lines.count, idLine(lines[k + 1].1) == nil else {
                issues.append(Issue(line: lineNumber, id: id, message: "no pinyin line follows the text line", skipped: true))
                k += 1
                continue
            }
            let (pinyinLine, pinyinText) = lines[k + 1]
            k += 2
            switch utterance(id: id, body: body, pinyin: pinyinText, line: lineNumber, pinyinLine: pinyinLine) {
            case .success(let (u, warnings)):
                if seen.contains(id) {
                    issues.append(Issue(line: lineNumber, id: id, message: "duplicate utterance id", skipped: true))
                    continue
                }
                seen.insert(id)
                utterances.append(u)
                issues += warnings
            case .failure(let issue):
                issues.append(issue)
            }
        }
        return File(utterances: utterances, issues: issues)
    }

    static func idLine(_ line: Substring) -> (String, Substring)? {
        guard let first = line.first, first.isASCII, first.isNumber else { return nil }
        let id = line.prefix { $0.isASCII && $0.isNumber }
        let rest = line.dropFirst(id.count)
        guard let sep = rest.first, sep == "\t" || sep == " " else { return nil }
        return (String(id), rest.drop { $0 == "\t" || $0 == " " })
    }

    static func utterance(id: String, body: Substring, pinyin: Substring, line: Int, pinyinLine: Int)
        -> Result<(Utterance, [Issue]), Issue> {
        // text and prosody marks
        var text = ""
        var marks: [ProsodyMark] = []
        var chars: [Character] = []
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if c == "#" {
                let next = body.index(after: i)
                guard next < body.endIndex, let level = body[next].wholeNumberValue, (1...4).contains(level) else {
                    return .failure(Issue(line: line, id: id, message: "prosody mark must be #1–#4", skipped: true))
                }
                marks.append(ProsodyMark(offset: chars.count, level: level))
                i = body.index(after: next)
                continue
            }
            chars.append(c)
            text.append(c)
            i = body.index(after: i)
        }
        if chars.isEmpty { return .failure(Issue(line: line, id: id, message: "empty text", skipped: true)) }

        // syllables
        var syllables: [Syllable] = []
        for part in pinyin.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            do {
                syllables.append(try Syllable(parsing: part))
            } catch {
                return .failure(Issue(line: pinyinLine, id: id, message: "'\(part)' is not a pinyin syllable with tone 1–5", skipped: true))
            }
        }
        if syllables.isEmpty { return .failure(Issue(line: pinyinLine, id: id, message: "empty pinyin line", skipped: true)) }

        // tokens, with sp where pause punctuation separates syllables
        var tokens = [PhonemeInventory.silence]
        var warnings: [Issue] = []
        var s = 0
        var pendingPause = false
        var absorbEr = false
        var aligned = true
        for c in chars {
            let folded = TextNormalizer.fold(String(c)).first ?? " "
            if TextNormalizer.Scanner.isHan(folded) || TextNormalizer.Scanner.isLatin(folded) {
                if c == "儿", absorbEr { absorbEr = false; continue }
                guard s < syllables.count else { aligned = false; break }
                if pendingPause && tokens.count > 1 { tokens.append(PhonemeInventory.pause) }
                pendingPause = false
                // every syllable parsed above is in the inventory, so this cannot throw
                tokens += (try? PhonemeInventory.tokens(for: syllables[s])) ?? []
                absorbEr = syllables[s].erhua
                s += 1
            } else if PunctuationClass.of(folded) == .pause {
                pendingPause = true
            }
        }
        if !aligned || s != syllables.count {
            warnings.append(Issue(line: pinyinLine, id: id,
                                  message: "the text has a different number of characters than the pinyin line has syllables (\(syllables.count)); tokens carry no pauses",
                                  skipped: false))
            tokens = [PhonemeInventory.silence]
            for syl in syllables { tokens += (try? PhonemeInventory.tokens(for: syl)) ?? [] }
        }
        tokens.append(PhonemeInventory.silence)
        return .success((Utterance(id: id, text: text, prosody: marks, syllables: syllables, tokens: tokens, line: line), warnings))
    }
}
