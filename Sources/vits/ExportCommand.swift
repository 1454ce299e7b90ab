import ArgumentParser
import Engine
import Foundation
import VITS
import Voice

/// `vits export`: a training run's checkpoint → a voice bundle.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a run's checkpoint as a voice bundle, or a voice as a Piper voice (NAME.onnx + NAME.onnx.json).",
        discussion: """
            The bundle holds the generator's inference weights only (no posterior encoder, no \
            discriminator, LoRA adapters merged), the full config, the token inventory, the speakers, \
            the frontend and the run's provenance, and a voice card. Checkpoint files are verified \
            against their state.json checksums; --step latest skips a damaged newest checkpoint with a warning.

            --format piper writes NAME.onnx and NAME.onnx.json into --out for Piper 1.x (piper-tts): \
            the inference graph (opset 15; inputs input, input_lengths, scales[, sid]; output output) with \
            weight norm folded, and Piper's voice config. The source is a run (--run) or a voice bundle \
            (--voice). Models with model.decoder other than hifigan or with model.pitch_excitation are \
            refused. See docs/piper.md.

            Examples:
              vits export --run runs/quickstart-finetune --step best --out voices/demo --fp16
              vits export --format piper --voice voices/demo --out piper/
              vits export --format piper --run runs/quickstart-finetune --step best --out piper/ --name zh_CN-demo
            """)

    @Option(help: "voice: a SwiftVITS voice bundle (default); piper: NAME.onnx + NAME.onnx.json for Piper 1.x.")
    var format = "voice"

    @Option(name: .customLong("run"), help: "Run folder (config.json + checkpoints/), or one checkpoint folder.")
    var runFolder: String?

    @Option(help: "A voice bundle to export (--format piper only).")
    var voice: String?

    @Option(help: "Checkpoint: a step number, 'best' (trainer.bestStep of the newest state.json) or 'latest'.")
    var step = "latest"

    @Option(help: "Output folder (voice: replaced atomically if it exists; piper: created if needed, the two files written into it).")
    var out: String

    @Flag(help: "Store the weights as float16 (half the size).")
    var fp16 = false

    @Option(help: "Voice name (default: the output folder's name; piper: the source's name).")
    var name: String?

    func run() throws {
        Engine.configure()
        guard let choice = CheckpointChoice(argument: step) else {
            throw ValidationError("--step must be a step number, 'best' or 'latest' (got '\(step)')")
        }
        let start = VoiceSupport.now()
        switch format {
        case "voice":
            guard voice == nil else { throw ValidationError("--voice is for --format piper; a voice bundle is exported from a run (--run)") }
        case "piper":
            return try exportPiper(choice: choice, start: start)
        default:
            throw ValidationError("--format must be 'voice' or 'piper' (got '\(format)')")
        }
        guard let runFolder else { throw ValidationError("give --run RUN_FOLDER") }
        let report = try VoiceExporter.export(run: URL(fileURLWithPath: runFolder), choice: choice, to: URL(fileURLWithPath: out),
                                              name: name, fp16: fp16, warn: VoiceSupport.warn)
        let megabytes = Double(report.weightsBytes) / 1_048_576
        print(String(format: "exported step %d of %@ → %@ (%@, %d tensors, %d parameters, %.1f MB) in %.1f s",
                     report.step, report.checkpoint.path, out, report.manifest.weightsDType, report.tensors, report.parameters,
                     megabytes, VoiceSupport.now() - start))
    }

    func exportPiper(choice: CheckpointChoice, start: Double) throws {
        guard !fp16 else { throw ValidationError("--fp16 is for voice bundles; a Piper export stores float32 weights") }
        guard (runFolder == nil) != (voice == nil), let path = runFolder ?? voice else { throw ValidationError("give one of --run and --voice") }
        let source = URL(fileURLWithPath: path)
        if voice != nil, !VoiceBundle.isVoice(source.standardizedFileURL) {
            throw ValidationError("\(source.path) is not a voice bundle (no voice.json); a run folder is given with --run")
        }
        let loaded = try VoiceLoader.load(source, choice: choice, warn: VoiceSupport.warn)
        let voiceName = name ?? loaded.manifest.name
        let report = try PiperVoiceExporter.export(loaded, to: URL(fileURLWithPath: out), name: voiceName)
        print(String(format: "exported %@ → %@ and %@ (%d nodes, %d tensors, %d parameters, %.1f MB, phoneme_type %@) in %.1f s",
                     source.path, report.onnx.path, report.config.lastPathComponent, report.nodes, report.initializers,
                     report.parameters, Double(report.bytes) / 1_048_576, report.phonemeType, VoiceSupport.now() - start))
    }
}
