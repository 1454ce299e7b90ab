import ArgumentParser
import Engine
import Foundation
import Training
import VITS
import Voice

/// `vits import`: voices and checkpoints made by other programs → our formats.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a Piper voice (ONNX) or a PyTorch VITS checkpoint (.pth, Lightning .ckpt).",
        discussion: """
            Nothing in an imported file is executed: PyTorch checkpoints are read by a restricted \
            unpickler that understands tensors, dicts, lists and numbers and refuses every other \
            Python global by name. See docs/piper.md.

            Examples:
              vits import piper en_US-lessac-medium.onnx --out voices/lessac
              vits import checkpoint logs/ljs/G_100000.pth --config configs/ljs_base.json --out runs/ljs-imported
              vits import checkpoint lightning_logs/version_0/checkpoints/epoch=2164-step=1355540.ckpt --out runs/piper-parent
            """,
        subcommands: [ImportPiperCommand.self, ImportCheckpointCommand.self])
}

struct ImportPiperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "piper",
        abstract: "A Piper voice (VOICE.onnx + VOICE.onnx.json) → a voice bundle.",
        discussion: """
            Reads the ONNX graph's weights (renamed ones, such as onnx::Conv_123 after the exporter \
            folded weight norm, are named from the node that reads them), infers the architecture \
            from their shapes and the decoder's strides and dilations, and reads Piper's JSON config \
            (sample rate, inference scales, phoneme_id_map, speakers, espeak voice). A Piper ONNX file \
            has no posterior encoder and no discriminator: the bundle records that, and fine-tuning \
            from it initialises them. A multi-speaker voice (a `sid` input and a speaker table \
            emb_g) keeps the names of its speaker_id_map, checked against emb_g; choose one with \
            `vits synthesize --speaker NAME` or an id.

            Example:
              vits import piper en_US-lessac-medium.onnx --out voices/lessac
              vits synthesize --voice voices/lessac --text "Hello there." -o hello.wav
              vits import piper en_GB-vctk-medium.onnx --out voices/vctk
              vits synthesize --voice voices/vctk --speaker p239 --text "Hello there." -o p239.wav
            """)

    @Argument(help: "The Piper voice's .onnx file.") var onnx: String
    @Option(help: "Piper's JSON config (default: VOICE.onnx.json beside the model).") var config: String?
    @Option(help: "Output voice folder (replaced atomically if it exists).") var out: String
    @Option(help: "Voice name (default: the output folder's name).") var name: String?

    func run() throws {
        Engine.configure()
        let report = try PiperVoiceImporter.importVoice(onnx: URL(fileURLWithPath: onnx), config: config.map { URL(fileURLWithPath: $0) },
                                                        to: URL(fileURLWithPath: out), name: name)
        let m = report.manifest
        print("imported \(onnx) → \(out): \(report.parameters) parameters, \(m.inventory.symbols.count) symbols, "
              + "\(max(1, m.speakers.count)) speaker(s), \(m.sampleRate) Hz, frontend \(m.frontend)")
        print("recovered \(report.recovered.count) renamed weights from the graph; split \(report.weightNormSplit) folded weight-norm weights into (g, v)")
        print("no posterior encoder and no discriminator in a Piper file: fine-tuning initialises them")
        print("initialised \(report.initialized.count) duration-predictor tensors the inference graph does not use")
    }
}

struct ImportCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "A PyTorch VITS checkpoint → a run folder that `vits finetune --from` accepts.",
        discussion: """
            Accepts the reference trainer's G_N.pth (a D_N.pth beside it is imported too, or give \
            --discriminator) and Piper's Lightning .ckpt (model_g. / model_d. weights, architecture \
            from hyper_parameters). Legacy pre-1.6 (non-zip) files are refused with how to convert them.

            Example:
              vits import checkpoint G_100000.pth --config config.json --out runs/parent
              vits finetune --from runs/parent --config my.json --data data/mine --run runs/mine
            """)

    @Argument(help: "The checkpoint: G_N.pth, D_N.pth's generator partner, or a Lightning .ckpt.") var file: String
    @Option(help: "The discriminator checkpoint (default: D_N.pth beside G_N.pth, if present).") var discriminator: String?
    @Option(help: "The reference config.json of the model (Lightning checkpoints carry theirs).") var config: String?
    @Option(help: "Output run folder (must be new or empty).") var out: String

    func run() throws {
        Engine.configure()
        let report = try CheckpointRunImporter.importRun(file: URL(fileURLWithPath: file),
                                                         discriminatorFile: discriminator.map { URL(fileURLWithPath: $0) },
                                                         config: config.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out))
        for line in report.lines { print(line) }
        print("run folder: \(out) (vits finetune --from \(out) …)")
    }
}
