import Foundation
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// Audio and feature parameters of a data folder (`data.json`), fixed by its first `vits prepare`.
public struct DataInfo: Sendable, Equatable, Codable {
    public static let currentFormat = "swiftvits-data-v1"
    public var format: String
    public var sampleRate: Int
    public var nFFT: Int
    public var hopLength: Int
    public var winLength: Int
    /// Inventory version (`inventory.json` holds the symbols).
    public var inventory: String
    /// WAVs are 16-bit PCM; samples are k / maxWavValue, as the reference loader reads them.
    public var maxWavValue: Int

    enum CodingKeys: String, CodingKey {
        case format, inventory
        case sampleRate = "sample_rate", nFFT = "n_fft", hopLength = "hop_length", winLength = "win_length"
        case maxWavValue = "max_wav_value"
    }

    public init(sampleRate: Int, nFFT: Int, hopLength: Int, winLength: Int, inventory: String) {
        format = Self.currentFormat
        self.sampleRate = sampleRate; self.nFFT = nFFT; self.hopLength = hopLength; self.winLength = winLength
        self.inventory = inventory
        maxWavValue = 32768
    }

    /// Spectrogram channels, n_fft/2 + 1.
    public var channels: Int { nFFT / 2 + 1 }
}

/// One speaker of a data folder; ids are assigned in order of first appearance and never change.
public struct SpeakerRecord: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    /// The corpus it was last prepared from (`biaobei:/abs/path`).
    public var source: String

    public init(id: Int, name: String, source: String) { self.id = id; self.name = name; self.source = source }
}

struct SpeakerFile: Codable { var speakers: [SpeakerRecord] }

public enum Split: String, Sendable, Codable, CaseIterable {
    case train
    case validation
}

/// One line of `manifest.jsonl`. Paths are relative to the data folder.
public struct ManifestEntry: Sendable, Equatable, Codable {
    /// `speaker/utterance`, unique in the folder.
    public var id: String
    /// The corpus's own id (`000001`).
    public var utterance: String
    public var speaker: String
    public var speakerID: Int
    public var text: String
    /// Surface pinyin (Mandarin inventories only).
    public var pinyin: [String]?
    /// Token symbols.
    public var phones: [String]
    /// Token ids in the folder's inventory (no blanks interspersed).
    public var tokens: [Int]
    /// Spectrogram frames = T of `spec` [n_fft/2+1, T].
    public var frames: Int
    /// Samples of the WAV at the folder's rate.
    public var samples: Int
    public var wav: String
    public var spec: String
    public var split: Split
    /// Source audio (absolute path), its rate, and the label entry it came from (`file:line`).
    public var source: String
    public var sourceRate: Int
    public var sourceLine: String
    /// Samples of the source audio inside runs of ≥ 3 at full scale (clipping), counted before resampling.
    public var sourceClipped: Int

    enum CodingKeys: String, CodingKey {
        case id, utterance, speaker, text, pinyin, phones, tokens, frames, samples, wav, spec, split, source
        case speakerID = "speaker_id", sourceRate = "source_rate", sourceLine = "source_line", sourceClipped = "source_clipped"
    }
}

/// An import issue as recorded in `issues.jsonl`, tagged with the corpus it came from.
public struct RecordedIssue: Sendable, Equatable, Codable {
    public var source: String
    public var file: String
    public var line: Int
    public var id: String?
    public var message: String
    public var skipped: Bool

    init(source: String, issue: ImportIssue) {
        self.source = source; file = issue.file; line = issue.line; id = issue.id; message = issue.message; skipped = issue.skipped
    }

    public var issue: ImportIssue { ImportIssue(file: file, line: line, id: id, message: message, skipped: skipped) }
}

/// The files of a data folder:
///
///     data.json          audio/feature parameters, inventory version
///     inventory.json     the token inventory (version, symbols, non-speech symbols)
///     speakers.json      stable speaker ids
///     manifest.jsonl     one ManifestEntry per line, sorted by speaker id then utterance id
///     train.txt          ids of the training split, one per line
///     validation.txt     ids of the validation split
///     issues.jsonl       entries skipped (or warned about) at import, per corpus
///     wavs/<speaker>/<utterance>.wav               16-bit PCM at data.json's rate
///     specs/<speaker>/<utterance>.safetensors      `spec` F32 [n_fft/2+1, frames]
///     cache/<kind>/<speaker>/<utterance>.<ext>     derived per-utterance data later stages keep
///                                                  (the trainer's F0 targets); safe to delete
public struct DataFolder: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url.standardizedFileURL }

    public var infoURL: URL { url.appendingPathComponent("data.json") }
    public var inventoryURL: URL { url.appendingPathComponent("inventory.json") }
    public var speakersURL: URL { url.appendingPathComponent("speakers.json") }
    public var manifestURL: URL { url.appendingPathComponent("manifest.jsonl") }
    public var issuesURL: URL { url.appendingPathComponent("issues.jsonl") }
    public func splitURL(_ split: Split) -> URL { url.appendingPathComponent(split.rawValue + ".txt") }
    public func file(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    static func wavPath(speaker: String, utterance: String) -> String { "wavs/\(speaker)/\(utterance).wav" }
    static func specPath(speaker: String, utterance: String) -> String { "specs/\(speaker)/\(utterance).safetensors" }

    /// Where a later stage keeps data it derived from utterance `id` ("speaker/utterance"):
    /// `cache/<kind>/<id>.<ext>`. `kind` names the producer and its version, so a changed producer
    /// never reads an old file.
    public func derivedCacheURL(kind: String, utterance id: String, ext: String) -> URL {
        url.appendingPathComponent("cache").appendingPathComponent(kind).appendingPathComponent("\(id).\(ext)")
    }

    // MARK: reading

    public func readInfo() throws(CorpusError) -> DataInfo {
        let info: DataInfo = try readJSON(infoURL)
        guard info.format == DataInfo.currentFormat else {
            throw .malformed("\(infoURL.path): format '\(info.format)' is not '\(DataInfo.currentFormat)' (prepared by another version?)")
        }
        return info
    }

    public func readInventory() throws(CorpusError) -> SymbolInventory { try readJSON(inventoryURL) }

    public func readSpeakers() throws(CorpusError) -> [SpeakerRecord] {
        let file: SpeakerFile = try readJSON(speakersURL)
        return file.speakers
    }

    /// The manifest; a malformed line is an error naming its line number.
    public func readManifest() throws(CorpusError) -> [ManifestEntry] {
        try readJSONLines(manifestURL)
    }

    public func readIssues() throws(CorpusError) -> [RecordedIssue] {
        guard FileManager.default.fileExists(atPath: issuesURL.path) else { return [] }
        return try readJSONLines(issuesURL)
    }

    public func readSplit(_ split: Split) throws(CorpusError) -> [String] {
        try CorpusImporter.readLines(splitURL(split)).map { $0.1.trimmingCharacters(in: .whitespaces) }
    }

    func readJSON<T: Decodable>(_ url: URL) throws(CorpusError) -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .missing("\(url.path): no such file (is \(self.url.path) a folder written by `vits prepare`?)")
        }
        do { return try JSONFile.decode(T.self, from: data, file: url.path) } catch { throw .malformed(error.description) }
    }

    /// One `T` per non-blank line; a bad line is an error naming the file, its line and the key.
    func readJSONLines<T: Decodable>(_ url: URL) throws(CorpusError) -> [T] {
        var out: [T] = []
        for (number, line) in try CorpusImporter.readLines(url) {
            do {
                let node = try JSONFile.parse(Data(line.utf8), file: url.path, firstLine: number)
                out.append(try JSONFile.decode(T.self, from: node, file: url.path, firstLine: number))
            } catch { throw .malformed(error.description) }
        }
        return out
    }

    // MARK: writing (each file atomically: temporary file in the folder, then rename)

    /// Pretty-printed, keys sorted, newline-terminated (`JSONWriter`).
    func write<T: Encodable>(json value: T, to url: URL) throws(CorpusError) {
        let data: Data
        do { data = try JSONFile.encode(value) } catch { throw .io("\(url.path): cannot encode: \(error)") }
        try writeAtomically(data, to: url)
    }

    /// One compact, key-sorted object per line.
    func write<T: Encodable>(jsonLines values: [T], to url: URL) throws(CorpusError) {
        let writer = JSONWriter(style: .compact, sortedKeys: true)
        var data = Data()
        do {
            for v in values { data += try JSONFile.encode(v, writer: writer) }
        } catch { throw .io("\(url.path): cannot encode: \(error)") }
        try writeAtomically(data, to: url)
    }

    func write(lines: [String], to url: URL) throws(CorpusError) {
        try writeAtomically(Data(lines.map { $0 + "\n" }.joined().utf8), to: url)
    }
}

/// Writes `data` to a temporary file next to `url`, then renames it over `url`: readers see the old
/// file or the new one, never a part. No fsync: every file here can be recomputed, and a re-run
/// re-validates what it finds.
func writeAtomically(_ data: Data, to url: URL) throws(CorpusError) {
    let temporary = temporaryName(for: url)
    do { try data.write(to: temporary) } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw .io("\(url.path): cannot write: \(error.localizedDescription)")
    }
    guard rename(temporary.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary.path)
        throw .io("\(url.path): cannot write: \(reason)")
    }
}

/// `.NAME.tmp-PID-RANDOM` in the same folder; `vits prepare` removes leftovers of this pattern.
func temporaryName(for url: URL) -> URL {
    url.deletingLastPathComponent()
        .appendingPathComponent("." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
}

func isTemporaryName(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

/// An exclusive lock on the data folder (`.lock`, flock), so two `vits prepare` never interleave.
final class FolderLock {
    private let descriptor: Int32

    init(_ folder: URL) throws(CorpusError) {
        let path = folder.appendingPathComponent(".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("\(path): cannot open lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .io("\(folder.path) is in use by another `vits prepare` (lock \(path)); wait for it to finish")
        }
        descriptor = fd
    }

    deinit { flock(descriptor, LOCK_UN); close(descriptor) }
}

/// Size and modification time (ns) of a file, for the incremental check.
struct FileStamp: Equatable {
    let bytes: Int
    let mtimeNanoseconds: Int

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        bytes = Int(st.st_size)
        mtimeNanoseconds = Int(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(st.st_mtim.tv_nsec)
    }
}
