import ArgumentParser

/// `vits bench …`: benchmarks. Each area adds its own subcommand to the list below
/// (`bench ops`, `bench model`, `bench synthesize`, …); `--json` prints one JSON object per line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (seconds and throughput; --json for machine-readable lines).",
        discussion: """
            Example:
              vits bench features --json
            """,
        subcommands: [
            BenchFeatures.self,
            BenchOps.self,
            BenchCheckpoint.self,
            BenchG2PCommand.self,
            BenchGenerator.self,
            BenchSynthesize.self,
            BenchModel.self,
        ])
}
