import ArgumentParser

/// `vits audio …`: audio file utilities.
struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Audio file utilities (convert, measure, generate test signals).",
        discussion: """
            Example:
              vits audio convert input.flac -o output.wav --sample-rate 22050
              vits audio stats --require-sound samples/*.wav
            """,
        subcommands: [
            AudioConvert.self,
            AudioChirp.self,
            AudioStatsCommand.self,
        ])
}
