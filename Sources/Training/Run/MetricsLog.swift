import Foundation
import Formats

/// `logs/metrics.jsonl`: one JSON object per logged step (`{"step": N, "kind": "train", …}`),
/// appended and flushed as it goes. On resume from step N every line with step > N is dropped first,
/// so the file reads as one uninterrupted run.
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    public init(url: URL, resumeFromStep: Int?) throws {
        self.url = url
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let step = resumeFromStep, let existing = try? String(contentsOf: url, encoding: .utf8) {
            let kept = existing.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
                guard let node = try? JSONParser.parse(Data(line.utf8)),
                      let s = JSONValue(node)["step"]?.intValue else { return false }  // drops a torn last line too
                return s <= step
            }
            let text = kept.map { $0 + "\n" }.joined()
            try Data(text.utf8).write(to: url, options: .atomic)
        } else if resumeFromStep == nil {
            try? fm.removeItem(at: url)
        }
        if !fm.fileExists(atPath: url.path) { _ = fm.createFile(atPath: url.path, contents: nil) }
        guard let h = try? FileHandle(forWritingTo: url) else { throw TrainingError.io("cannot open \(url.path) for writing") }
        handle = h
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// One compact, key-sorted line. JSON has no NaN or infinity: such values are written as the
    /// strings "nan", "inf", "-inf" (which Python's `float()` reads).
    public func append(step: Int, kind: String, values: [String: Double]) throws {
        var object: JSONValue = ["step": .int(Int64(step)), "kind": .string(kind), "time": .double(Date().timeIntervalSince1970)]
        for (k, v) in values { object.set(k, v.isFinite ? .double(v) : .string(v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf"))) }
        var line = try JSONWriter(style: .compact, sortedKeys: true).data(object)
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }

    /// Reads every line back (tests, `vits` tooling). A torn final line (a crash mid-write) is
    /// skipped; any other bad line is an error naming its line.
    public static func read(_ url: URL) throws -> [JSONValue] {
        let data = try Data(contentsOf: url)
        let lines = JSONFile.lines(of: data)
        var out: [JSONValue] = []
        for (i, (number, line)) in lines.enumerated() {
            do { out.append(JSONValue(try JSONFile.parse(Data(line), file: url.path, firstLine: number))) } catch {
                if i == lines.count - 1 && data.last != 0x0A { break }
                throw error
            }
        }
        return out
    }
}
