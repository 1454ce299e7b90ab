import ArgumentParser
import Foundation
import Formats
import Engine
import VITS
import ReferenceCheck

/// `vits check-reference DIR`: recompute a reference parity fixture and compare every tensor.
struct CheckReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-reference",
        abstract: "Check our VITS against a reference PyTorch fixture, tensor by tensor.",
        discussion: """
            DIR holds config.json, generator.safetensors, discriminator.safetensors (+ discriminator_weight_v.json), \
            case.safetensors and infer.safetensors, as produced by running the reference implementation with \
            recorded noise. The whole training step (forward, losses, every G and D gradient, one AdamW step of \
            each) and inference are recomputed with the recorded noise and compared.

            The decoder comes from the config: HiFi-GAN (reference VITS) or one of the MB-iSTFT-VITS variants \
            (istft, mb_istft, ms_istft, also given by the authors' booleans). For mb_istft the generator loss adds the \
            sub-band STFT loss (weight 1, as the authors' train_latest.py), and y_mb, loss_subband and the bands o_mb \
            are compared.

            The discriminator weight_v tensors the fixture does not ship are regenerated and checked against the \
            bits discriminator_weight_v.json records (bound and scale bit patterns, first values, Σx, Σx²); a \
            mismatch stops the check.

            Tolerances (relative to max|ref| per tensor): \(Tolerance.summary).

            Every fixture tensor is accounted for: each one not compared is printed with the reason, and one the \
            model did not produce fails the check. The recorded noise must be consumed exactly (noise.* lines). \
            Exits 1 if anything fails.

            Example:
              vits check-reference Tests/VITSTests/Fixtures/reference/tiny-sdp
              vits check-reference Tests/VITSTests/Fixtures/reference/tiny-mb-istft
              vits check-reference fixtures/tiny-spk --all --json > report.json
            """)

    @Argument(help: "The fixture folder.") var directory: String
    @Flag(name: .long, help: "Print every compared tensor, not only failures and outliers.") var all = false
    @Flag(name: .long, help: "Print one JSON object with every line instead of the table.") var json = false
    @Option(name: .long, help: ArgumentHelp(
        "Write the discriminator gradients the D AdamW step uses (after both backward passes) to this safetensors file.",
        discussion: "Keys are dgrad.<reference key>, comparable with the fixture's dgrad.* tensors (debugging).",
        valueName: "file"))
    var dumpDiscriminatorGradients: String?

    func run() throws {
        Engine.configure()
        let check: ReferenceCheck
        do {
            check = try ReferenceCheck(folder: URL(fileURLWithPath: directory))
            check.discriminatorGradientDump = dumpDiscriminatorGradients.map { URL(fileURLWithPath: $0) }
            try check.run()
        } catch {
            throw CommandFailure("\(directory): \(error)")
        }
        if json {
            struct Report: Encodable { let passed: Bool; let lines: [CheckLine]; let skipped: [SkipLine] }
            let data = try JSONFile.encode(Report(passed: check.passed, lines: check.lines.map {
                var l = $0
                if !l.maxAbsError.isFinite { l.maxAbsError = -1; l.relativeError = -1 }
                return l
            }, skipped: check.skipped), trailingNewline: false)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(check.report(verbose: all))
        }
        if !check.passed { throw ExitCode(1) }
    }
}
