import ArgumentParser
import Foundation
import Engine
import VITS
import ReferenceCheck

/// `vits check-reference DIR`: recompute a reference parity fixture and compare every tensor.
struct CheckReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-reference",
        abstract: "Check our VITS against a reference PyTorch fixture, tensor by tensor.",
        discussion: """
            DIR holds config.json, generator.safetensors, discriminator.safetensors (+ discriminator_weight_v.json),
            case.safetensors and infer.safetensors, as produced by running the reference implementation with
            recorded noise. The whole training step (forward, losses, every G and D gradient, one AdamW step of
            each) and inference are recomputed with the recorded noise and compared with the README's tolerances:
            discrete tensors exact; forward, losses, inference 1e-4·max|ref|; gradients 1e-3·max|ref| with at most
            5 kink-crossing outliers up to 5e-2. Exits 1 if anything fails.

            Example:
              vits check-reference Tests/VITSTests/Fixtures/reference/tiny-sdp
              vits check-reference fixtures/tiny-spk --all --json > report.json
            """)

    @Argument(help: "The fixture folder.") var directory: String
    @Flag(name: .long, help: "Print every compared tensor, not only failures and outliers.") var all = false
    @Flag(name: .long, help: "Print one JSON object with every line instead of the table.") var json = false

    func run() throws {
        Engine.configure()
        let check: ReferenceCheck
        do {
            check = try ReferenceCheck(folder: URL(fileURLWithPath: directory))
            try check.run()
        } catch {
            throw CommandFailure("\(directory): \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Report: Encodable { let passed: Bool; let lines: [CheckLine]; let notes: [String] }
            let data = try encoder.encode(Report(passed: check.passed, lines: check.lines.map {
                var l = $0
                if !l.maxAbsError.isFinite { l.maxAbsError = -1; l.relativeError = -1 }
                return l
            }, notes: check.notes))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(check.report(verbose: all))
        }
        if !check.passed { throw ExitCode(1) }
    }
}
