import Foundation
import Formats

/// Why a config could not be used. Every issue names the file, the line when known, and the key
/// path (`model.upsample_rates`), then says what was expected.
public struct VITSConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Dotted key path (`model.resblock_dilation_sizes`, "" for the whole file), 1-based line when
    /// the problem is tied to a value, and the message (Formats' keyed JSON layer).
    public typealias Issue = JSONIssue

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
