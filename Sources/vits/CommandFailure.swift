/// A runtime failure of a command: ArgumentParser prints `Error: <message>` and exits 1, without the
/// usage text that `ValidationError` adds (the arguments were fine; the input or the run was not).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
