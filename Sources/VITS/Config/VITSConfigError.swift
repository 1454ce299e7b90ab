import Foundation

/// Why a config could not be used. Every issue names the file, the line when known, and the key
/// path (`model.upsample_rates`), then says what was expected.
public struct VITSConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Issue: Equatable, Sendable, CustomStringConvertible {
        /// Dotted path of the offending key (`model.resblock_dilation_sizes`), or "" for the whole file.
        public let keyPath: String
        /// 1-based line of the value in the file, when the problem is tied to one.
        public let line: Int?
        public let message: String

        public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
    }

    /// The file (or source name) the config came from.
    public let source: String
    public let issues: [Issue]

    public init(source: String, issues: [Issue]) {
        self.source = source
        self.issues = issues
    }

    /// True when some issue concerns `keyPath`.
    public func mentions(_ keyPath: String) -> Bool { issues.contains { $0.keyPath == keyPath } }

    public var description: String {
        issues.map { issue in
            let location = issue.line.map { "\(source):\($0)" } ?? source
            return "\(location): \(issue)"
        }.joined(separator: "\n")
    }
}
