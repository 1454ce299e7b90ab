import ArgumentParser
import Foundation
import Formats
import Corpus

/// `vits doctor`: checks a prepared data folder (or a raw corpus) before a long run.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a data folder (or a raw corpus) for problems before training.",
        discussion: """
            TARGET is a data folder written by `vits prepare`, or a raw corpus (biaobei:PATH,
            ljspeech:PATH, filelist:FILE; frames for the sampler check are estimated at --sample-rate).
            Prints each check with its count and first offenders; exits 1 when a fatal check fails.

            Checks (fatal ones make the exit status 1):
            \(Doctor.catalogue.map { "  \($0.name) [\($0.severity.rawValue)]: \($0.description)" }.joined(separator: "\n"))

            Example:
              vits doctor data/biaobei
              vits doctor data/biaobei --json --boundaries 32,300,400,500,600,700,800,900,1000
              vits doctor biaobei:/data/BZNSYP
            """)

    @Argument(help: "A data folder, or biaobei:PATH / ljspeech:PATH / filelist:FILE.")
    var target: String

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Option(help: "Bucket sampler boundaries in frames, comma-separated.")
    var boundaries = BucketSampler.referenceBoundaries.map(String.init).joined(separator: ",")

    @Option(help: "Offenders listed per check.")
    var maxOffenders = 5

    @Option(help: "RMS level (dBFS) below which audio counts as silent.")
    var silenceDb = -60.0

    @Option(help: "Speaking-rate outliers: tokens/s more than this factor from the speaker's median.")
    var rateTolerance = 2.0

    @Option(help: "Raw corpus only: speaker name (Biaobei/LJSpeech).")
    var speaker: String?

    @Option(help: "Raw corpus only: the rate frames are estimated at.")
    var sampleRate = 22050

    @Option(help: "Raw corpus only: hop length for the frame estimate.")
    var hopLength = 256

    @Option(help: "Raw corpus only: FFT size for the frame estimate.")
    var nFft = 1024

    func run() throws {
        var options = DoctorOptions()
        let parts = boundaries.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count >= 2, let bounds = parts as? [Int], zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ValidationError("--boundaries must be at least two increasing integers separated by commas (got '\(boundaries)')")
        }
        guard maxOffenders >= 0 else { throw ValidationError("--max-offenders must be ≥ 0") }
        guard rateTolerance > 1 else { throw ValidationError("--rate-tolerance must be > 1 (got \(rateTolerance))") }
        options.boundaries = bounds
        options.maxOffenders = maxOffenders
        options.silenceDBFS = silenceDb
        options.rateTolerance = rateTolerance
        options.sampleRate = sampleRate
        options.hopLength = hopLength
        options.nFFT = nFft

        let report: DoctorReport
        var isDirectory: ObjCBool = false
        if let kind = target.split(separator: ":").first, ["biaobei", "ljspeech", "filelist"].contains(String(kind)),
           !FileManager.default.fileExists(atPath: target) {
            report = try Doctor.examine(source: try CorpusSource(parsing: target), speaker: speaker, options: options)
        } else {
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CorpusError.missing("\(target): no such data folder (or give a raw corpus as biaobei:PATH, ljspeech:PATH, filelist:FILE)")
            }
            report = Doctor.examine(dataFolder: URL(fileURLWithPath: target), options: options)
        }

        if json {
            var object = try JSONValueEncoder.encode(report)
            object.set("fatal", .bool(report.fatal))
            print(try JSONWriter(style: .compact, sortedKeys: true).string(object))
        } else {
            var lines = ["\(report.target): \(report.utterances) utterances, \(report.speakers) speaker(s), "
                         + String(format: "%.1f min of audio", report.audioSeconds / 60)]
            for c in report.checks {
                let mark = c.count == 0 ? "ok  " : (c.severity == .fatal ? "FAIL" : "warn")
                lines.append("\(mark) \(c.name): \(c.count)\(c.count > 0 ? " — \(c.description)" : "")")
                for o in c.offenders { lines.append("       \(o)") }
                if c.count > c.offenders.count { lines.append("       … \(c.count - c.offenders.count) more") }
            }
            lines.append(report.fatal ? "fatal problems found" : "no fatal problems")
            print(lines.joined(separator: "\n"))
        }
        if report.fatal { throw ExitCode.failure }
    }
}
