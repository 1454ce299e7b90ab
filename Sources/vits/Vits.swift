import ArgumentParser

/// The `vits` command: every user-facing capability of SwiftVITS is a subcommand here.
@main
struct Vits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vits",
        abstract: "Train, fine-tune and run VITS text-to-speech voices — natively, no Python.",
        discussion: """
            Run `vits help <command>` for a command's options and an example.
            """,
        version: "0.1.0",
        subcommands: [
            FeaturesCommand.self,
            AudioCommand.self,
            BenchCommand.self,
            InspectCommand.self,
            CheckReferenceCommand.self,
            TrainCommand.self,
            FinetuneCommand.self,
            G2PCommand.self,
            PrepareCommand.self,
            DoctorCommand.self,
            ExportCommand.self,
            SynthesizeCommand.self,
            EvaluateCommand.self,
            ImportCommand.self,
            PhonemizeCommand.self,
        ])
}
