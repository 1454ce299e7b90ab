/// Errors of the training layer. Every message names the file or key at fault and what to do.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case corrupt(String)
    case configMismatch(String)
    case nonFinite(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let m), .corrupt(let m), .configMismatch(let m), .nonFinite(let m), .invalidArgument(let m): return m
        }
    }
}
