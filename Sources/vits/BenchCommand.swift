import ArgumentParser

/// `vits bench …`: speed measurements, JSON on request. Each area adds its own subcommand.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of a part of SwiftVITS.",
        subcommands: [
            BenchG2PCommand.self,
        ])
}
