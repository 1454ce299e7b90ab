import Foundation
import Mandarin

/// Where a corpus comes from: `biaobei:PATH`, `ljspeech:PATH` or `filelist:FILE`.
public enum CorpusSource: Sendable, Equatable, CustomStringConvertible {
    /// `PATH/ProsodyLabeling/000001-010000.txt` + `PATH/Wave/<id>.wav`; labels used as given.
    case biaobei(URL)
    /// `PATH/metadata.csv` (`id|text|normalized`) + `PATH/wavs/<id>.wav`; English, `en-chars-v1`.
    case ljspeech(URL)
    /// Lines `path|speaker|text` (paths relative to the file's folder); text through the Mandarin G2P.
    case filelist(URL)

    /// Parses `kind:PATH`.
    public init(parsing spec: String) throws(CorpusError) {
        guard let colon = spec.firstIndex(of: ":") else {
            throw .invalidArgument("corpus '\(spec)' must be biaobei:PATH, ljspeech:PATH or filelist:FILE")
        }
        let kind = spec[..<colon], path = String(spec[spec.index(after: colon)...])
        guard !path.isEmpty else { throw .invalidArgument("corpus '\(spec)': the path after '\(kind):' is empty") }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        switch kind {
        case "biaobei": self = .biaobei(url)
        case "ljspeech": self = .ljspeech(url)
        case "filelist": self = .filelist(url)
        default: throw .invalidArgument("corpus kind '\(kind)' is unknown: use biaobei:PATH, ljspeech:PATH or filelist:FILE")
        }
    }

    public var url: URL {
        switch self { case .biaobei(let u), .ljspeech(let u), .filelist(let u): return u }
    }

    public var description: String {
        switch self {
        case .biaobei(let u): return "biaobei:" + u.path
        case .ljspeech(let u): return "ljspeech:" + u.path
        case .filelist(let u): return "filelist:" + u.path
        }
    }

    /// The inventory this kind of corpus produces.
    public var inventory: SymbolInventory {
        if case .ljspeech = self { return .latinCharactersV1 }
        return .mandarinV1
    }

    /// Speaker name when `--speaker` is not given: the corpus folder's name, made a valid name.
    public var defaultSpeaker: String {
        let name = url.lastPathComponent.map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-") ? c : "_"
        }
        let s = String(name).drop { $0 == "." }
        return s.isEmpty ? "speaker" : String(s)
    }
}

/// Speaker names become folder names and ids: ASCII letters, digits, `.`, `_`, `-`, not starting with `.`.
public func validateSpeakerName(_ name: String) throws(CorpusError) {
    guard !name.isEmpty, name.count <= 100, !name.hasPrefix("."),
          name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") })
    else {
        throw .invalidArgument("speaker name '\(name)' must be 1–100 ASCII letters, digits, '.', '_' or '-' (not starting with '.')")
    }
}

/// One utterance as a corpus describes it, before any audio is touched.
public struct SourceUtterance: Sendable, Equatable {
    /// The corpus's own id (Biaobei `000001`, LJSpeech `LJ001-0001`, a filelist file's stem).
    public let id: String
    public let speaker: String
    public let text: String
    /// Surface pinyin syllables (Mandarin inventories), nil for character inventories.
    public let pinyin: [String]?
    /// Token symbols in the inventory.
    public let phones: [String]
    /// Token ids in the inventory.
    public let tokens: [Int]
    public let audio: URL
    /// The label file and 1-based line of the entry.
    public let labelFile: String
    public let labelLine: Int

    /// `file:line` of the entry, for messages.
    public var origin: String { "\(labelFile):\(labelLine)" }

    /// Unique over a data folder: `speaker/id`.
    public var key: String { speaker + "/" + id }
}

/// A problem with one entry of a corpus, with the file and line it comes from.
public struct ImportIssue: Sendable, Equatable, Codable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let id: String?
    public let message: String
    /// False for a warning: the entry was kept.
    public let skipped: Bool

    public init(file: String, line: Int, id: String?, message: String, skipped: Bool) {
        self.file = file; self.line = line; self.id = id; self.message = message; self.skipped = skipped
    }

    public var description: String {
        "\(file):\(line)\(id.map { " (\($0))" } ?? ""): \(message)\(skipped ? " — entry skipped" : " (warning, kept)")"
    }
}

public struct ImportedCorpus: Sendable {
    public let source: CorpusSource
    public let inventory: SymbolInventory
    public let utterances: [SourceUtterance]
    public let issues: [ImportIssue]
}

public enum CorpusImporter {
    /// Reads the labels of `source` (no audio is decoded; missing audio files are issues).
    /// `speaker` names the speaker of a Biaobei or LJSpeech corpus (default: `source.defaultSpeaker`);
    /// filelists name their own speakers, so giving one there is an error.
    public static func load(_ source: CorpusSource, speaker: String? = nil) throws(CorpusError) -> ImportedCorpus {
        let corpus = try loadUnsorted(source, speaker: speaker)
        let issues = corpus.issues.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
        return ImportedCorpus(source: source, inventory: corpus.inventory, utterances: corpus.utterances, issues: issues)
    }

    static func loadUnsorted(_ source: CorpusSource, speaker: String?) throws(CorpusError) -> ImportedCorpus {
        switch source {
        case .biaobei(let root):
            let name = speaker ?? source.defaultSpeaker
            try validateSpeakerName(name)
            return try biaobei(root: root, speaker: name, source: source)
        case .ljspeech(let root):
            let name = speaker ?? source.defaultSpeaker
            try validateSpeakerName(name)
            return try ljspeech(root: root, speaker: name, source: source)
        case .filelist(let file):
            if let speaker {
                throw .invalidArgument("--speaker '\(speaker)' cannot be used with a filelist: each line of \(file.path) names its speaker (path|speaker|text)")
            }
            return try filelist(file: file, source: source)
        }
    }

    // MARK: Biaobei

    public static let biaobeiLabelName = "000001-010000.txt"

    static func biaobei(root: URL, speaker: String, source: CorpusSource) throws(CorpusError) -> ImportedCorpus {
        let labelDir = root.appendingPathComponent("ProsodyLabeling")
        var labels = labelDir.appendingPathComponent(biaobeiLabelName)
        if !FileManager.default.fileExists(atPath: labels.path) {
            // Some copies rename the label file; accept a single .txt in ProsodyLabeling/.
            let txts = ((try? FileManager.default.contentsOfDirectory(atPath: labelDir.path)) ?? [])
                .filter { $0.hasSuffix(".txt") }.sorted()
            guard txts.count == 1 else {
                throw .missing("\(labels.path): no such file (a Biaobei-layout corpus has ProsodyLabeling/\(biaobeiLabelName) and Wave/*.wav)")
            }
            labels = labelDir.appendingPathComponent(txts[0])
        }
        let parsed: BiaobeiLabels.File
        do { parsed = try BiaobeiLabels.parse(contentsOf: labels) } catch { throw .io(error.description) }
        let waveDir = root.appendingPathComponent("Wave")
        var issues = parsed.issues.map {
            ImportIssue(file: labels.path, line: $0.line, id: $0.id, message: $0.message, skipped: $0.skipped)
        }
        var utterances: [SourceUtterance] = []
        for u in parsed.utterances {
            let audio = waveDir.appendingPathComponent(u.id + ".wav")
            guard FileManager.default.fileExists(atPath: audio.path) else {
                issues.append(ImportIssue(file: labels.path, line: u.line, id: u.id,
                                          message: "audio \(audio.path) does not exist", skipped: true))
                continue
            }
            let ids: [Int]
            do { ids = try PhonemeInventory.v1.ids(of: u.tokens) } catch {
                issues.append(ImportIssue(file: labels.path, line: u.line, id: u.id, message: error.description, skipped: true))
                continue
            }
            utterances.append(SourceUtterance(id: u.id, speaker: speaker, text: u.text, pinyin: u.syllables.map(\.description),
                                              phones: u.tokens, tokens: ids, audio: audio, labelFile: labels.path, labelLine: u.line))
        }
        return ImportedCorpus(source: source, inventory: .mandarinV1, utterances: utterances, issues: issues)
    }

    // MARK: LJSpeech

    static func ljspeech(root: URL, speaker: String, source: CorpusSource) throws(CorpusError) -> ImportedCorpus {
        let metadata = root.appendingPathComponent("metadata.csv")
        let lines = try readLines(metadata)
        var issues: [ImportIssue] = []
        var utterances: [SourceUtterance] = []
        var seen = Set<String>()
        for (number, line) in lines {
            func issue(_ id: String?, _ message: String) {
                issues.append(ImportIssue(file: metadata.path, line: number, id: id, message: message, skipped: true))
            }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 2 || fields.count == 3, !fields[0].isEmpty else {
                issue(nil, "expected 'id|text|normalized text' (3 fields separated by '|'), found \(fields.count) field(s)")
                continue
            }
            let id = fields[0]
            guard isSafeFileStem(id) else { issue(id, "id '\(id)' cannot name a file (letters, digits, '.', '_', '-')"); continue }
            guard seen.insert(id).inserted else { issue(id, "duplicate id"); continue }
            // The third column has numbers and abbreviations written out; fall back to the second.
            let raw = fields.count == 3 && !fields[2].trimmingCharacters(in: .whitespaces).isEmpty ? fields[2] : fields[1]
            let phones: [String]
            switch LatinText.characters(raw) {
            case .success(let p): phones = p
            case .failure(let e): issue(id, e.message); continue
            }
            let audio = root.appendingPathComponent("wavs").appendingPathComponent(id + ".wav")
            guard FileManager.default.fileExists(atPath: audio.path) else { issue(id, "audio \(audio.path) does not exist"); continue }
            let table = SymbolInventory.latinCharactersV1
            let ids = phones.compactMap { table.id(of: $0) }   // every character was checked by LatinText
            utterances.append(SourceUtterance(id: id, speaker: speaker, text: phones.joined(), pinyin: nil, phones: phones,
                                              tokens: ids, audio: audio, labelFile: metadata.path, labelLine: number))
        }
        return ImportedCorpus(source: source, inventory: .latinCharactersV1, utterances: utterances, issues: issues)
    }

    // MARK: filelist

    static func filelist(file: URL, source: CorpusSource) throws(CorpusError) -> ImportedCorpus {
        let lines = try readLines(file)
        let frontend: MandarinFrontend
        do { frontend = try MandarinFrontend.bundled() } catch { throw .io(error.description) }
        let base = file.deletingLastPathComponent()
        var issues: [ImportIssue] = []
        var utterances: [SourceUtterance] = []
        var seen = Set<String>()
        for (number, line) in lines {
            if line.hasPrefix("#") { continue }   // comment
            func issue(_ id: String?, _ message: String) {
                issues.append(ImportIssue(file: file.path, line: number, id: id, message: message, skipped: true))
            }
            let fields = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else {
                issue(nil, "expected 'path|speaker|text' (3 fields separated by '|'), found \(fields.count) field(s)")
                continue
            }
            let path = fields[0].trimmingCharacters(in: .whitespaces)
            let speaker = fields[1].trimmingCharacters(in: .whitespaces)
            let text = fields[2].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { issue(nil, "empty audio path"); continue }
            do throws(CorpusError) { try validateSpeakerName(speaker) } catch { issue(nil, error.description); continue }
            let audio = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            let id = audio.deletingPathExtension().lastPathComponent
            guard isSafeFileStem(id) else { issue(id, "file name '\(id)' cannot be an utterance id (letters, digits, '.', '_', '-')"); continue }
            guard seen.insert(speaker + "/" + id).inserted else {
                issue(id, "duplicate utterance '\(id)' for speaker '\(speaker)' (ids are file names without extension)")
                continue
            }
            guard !text.isEmpty else { issue(id, "empty text"); continue }
            let result = frontend.process(text)
            guard !result.pinyin.isEmpty else { issue(id, "the text has no Mandarin syllables after normalization"); continue }
            let ids: [Int]
            do { ids = try PhonemeInventory.v1.ids(of: result.tokens) } catch { issue(id, error.description); continue }
            guard FileManager.default.fileExists(atPath: audio.path) else { issue(id, "audio \(audio.path) does not exist"); continue }
            utterances.append(SourceUtterance(id: id, speaker: speaker, text: text, pinyin: result.pinyin, phones: result.tokens,
                                              tokens: ids, audio: audio, labelFile: file.path, labelLine: number))
        }
        return ImportedCorpus(source: source, inventory: .mandarinV1, utterances: utterances, issues: issues)
    }

    // MARK: helpers

    /// Non-blank lines with 1-based numbers; BOM and CR removed.
    static func readLines(_ url: URL) throws(CorpusError) -> [(Int, String)] {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .missing("\(url.path): no such file") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .io("\(url.path): cannot read: \(error.localizedDescription)") }
        guard var text = String(data: data, encoding: .utf8) else { throw .malformed("\(url.path): not UTF-8 text") }
        if text.unicodeScalars.first == "\u{FEFF}" { text = String(text.unicodeScalars.dropFirst()) }
        var out: [(Int, String)] = []
        var number = 0
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(raw)
            while let last = line.unicodeScalars.last, last == "\r" { line = Substring(line.unicodeScalars.dropLast()) }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            out.append((number, String(line)))
        }
        return out
    }

    static func isSafeFileStem(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && s.count <= 200
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }
}

/// English text → `en-chars-v1` symbols: lower case, accents removed, typographic quotes and dashes
/// folded to ASCII, brackets to parentheses, runs of whitespace to one space. Any other character
/// (digits included: LJSpeech's third column has them written out) is refused, naming it.
public enum LatinText {
    public struct Failure: Error, Equatable { public let message: String }

    public static func characters(_ text: String) -> Result<[String], Failure> {
        let allowed = Set(SymbolInventory.latinCharactersV1.symbols.dropFirst())
        var out: [String] = []
        var pendingSpace = false
        for scalar in text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.generalCategory == .nonspacingMark { continue }   // accents
            var s: String
            switch scalar {
            case "\u{201C}", "\u{201D}", "\u{201E}", "\u{00AB}", "\u{00BB}": s = "\""
            case "\u{2018}", "\u{2019}", "`": s = "'"
            case "\u{2014}", "\u{2013}", "\u{2011}", "\u{2010}": s = "-"
            case "[": s = "("
            case "]": s = ")"
            default: s = String(scalar)
            }
            if scalar.properties.isWhitespace { pendingSpace = true; continue }
            guard allowed.contains(s) else {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                let hint = scalar.properties.numericType != nil ? " (write numbers out in words)" : ""
                return .failure(Failure(message: "character '\(scalar)' (U+\(hex)) is not in the en-chars-v1 inventory\(hint)"))
            }
            if pendingSpace && !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        guard out.contains(where: { $0.count == 1 && $0 >= "a" && $0 <= "z" }) else {
            return .failure(Failure(message: "no letters in the text"))
        }
        return .success(out)
    }
}
