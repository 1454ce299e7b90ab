import ArgumentParser

/// `vits bench …`: speed measurements. Each subcommand times one area and can print JSON.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of SwiftVITS components.",
        subcommands: [BenchOps.self])
}
