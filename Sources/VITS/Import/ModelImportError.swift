/// Why a PyTorch checkpoint or a Piper model could not be mapped onto our VITS (keys, shapes,
/// hyper-parameters). Each message names the file and what was expected.
public enum ModelImportError: Error, CustomStringConvertible, Equatable {
    /// The file is not a VITS checkpoint of a kind we read.
    case notACheckpoint(String)
    /// A setting or layout this toolkit does not implement.
    case unsupported(String)
    /// A damaged or inconsistent file.
    case corrupt(String)

    public var description: String {
        switch self {
        case .notACheckpoint(let m), .unsupported(let m), .corrupt(let m): return m
        }
    }
}
