import ArgumentParser
import Engine
import Foundation
import VITS
import Voice

/// `vits export`: a training run's checkpoint → a voice bundle.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a run's checkpoint as a voice bundle (voice.json, model.safetensors, README.md).",
        discussion: """
            The bundle holds the generator's inference weights only (no posterior encoder, no \
            discriminator, LoRA adapters merged), the full config, the token inventory, the speakers, \
            the frontend and the run's provenance, and a voice card. Checkpoint files are verified \
            against their state.json checksums; --step latest skips a damaged newest checkpoint with a warning.

            Example:
              vits export --run runs/quickstart-finetune --step best --out voices/demo --fp16
            """)

    @Option(name: .customLong("run"), help: "Run folder (config.json + checkpoints/), or one checkpoint folder.")
    var runFolder: String

    @Option(help: "Checkpoint: a step number, 'best' (trainer.bestStep of the newest state.json) or 'latest'.")
    var step = "latest"

    @Option(help: "Output folder (replaced atomically if it exists).")
    var out: String

    @Flag(help: "Store the weights as float16 (half the size).")
    var fp16 = false

    @Option(help: "Voice name (default: the output folder's name).")
    var name: String?

    func run() throws {
        Engine.configure()
        guard let choice = CheckpointChoice(argument: step) else {
            throw ValidationError("--step must be a step number, 'best' or 'latest' (got '\(step)')")
        }
        let start = VoiceSupport.now()
        let report = try VoiceExporter.export(run: URL(fileURLWithPath: runFolder), choice: choice, to: URL(fileURLWithPath: out),
                                              name: name, fp16: fp16, warn: VoiceSupport.warn)
        let megabytes = Double(report.weightsBytes) / 1_048_576
        print(String(format: "exported step %d of %@ → %@ (%@, %d tensors, %d parameters, %.1f MB) in %.1f s",
                     report.step, report.checkpoint.path, out, report.manifest.weightsDType, report.tensors, report.parameters,
                     megabytes, VoiceSupport.now() - start))
    }
}
