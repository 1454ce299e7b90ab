import Foundation

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
                guard let data = line.data(using: .utf8),
                      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let s = (obj["step"] as? NSNumber)?.intValue else { return false }  // drops a torn last line too
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

    public func append(step: Int, kind: String, values: [String: Double]) throws {
        var object: [String: Any] = ["step": step, "kind": kind, "time": Date().timeIntervalSince1970]
        for (k, v) in values { object[k] = v.isFinite ? v : (v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf")) }
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }

    /// Reads every line back (tests, `vits` tooling).
    public static func read(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
