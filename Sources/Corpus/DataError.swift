/// Errors of the corpus layer; messages name the file (and line) at fault and what was expected.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    case malformed(String)
    case missing(String)
    case io(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m), .malformed(let m), .missing(let m), .io(let m): return m
        }
    }
}
