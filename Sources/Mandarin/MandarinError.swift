/// Everything the Mandarin frontend can reject, each with a message a user can act on.
public enum MandarinError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A pinyin syllable that has no initial + final in the phoneme inventory (e.g. `xyz3`, `hao6`).
    case unknownSyllable(String)
    /// A token that is not in the phoneme inventory.
    case unknownToken(String)
    /// A token sequence that does not spell a syllable (e.g. an initial without a final).
    case malformedTokens([String], reason: String)
    /// A bundled resource is missing or damaged (a packaging error, not a user error).
    case resource(name: String, line: Int, reason: String)
    /// A label file that cannot be read at all.
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownSyllable(let s):
            return "unknown pinyin syllable '\(s)': expected lowercase pinyin with a tone digit 1-5, ü written as v (e.g. hao3, lv4, huir4)"
        case .unknownToken(let t):
            return "unknown phoneme token '\(t)': not in the phoneme inventory (see docs/frontend.md for the list)"
        case .malformedTokens(let ts, let reason):
            return "tokens [\(ts.joined(separator: " "))] do not spell a syllable: \(reason)"
        case .resource(let name, let line, let reason):
            return "frontend resource \(name), line \(line): \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        }
    }
}
