import ArgumentParser
import Audio
import Foundation

/// `vits audio stats`: level and sanity figures of audio files, and a check that they hold sound.
struct AudioStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Duration, RMS, peak, NaN/Inf count and constancy of audio files; optionally require sound.",
        discussion: """
            For each file: duration, sample rate, channels, RMS and RMS without DC (dBFS; a full-scale sine \
            is −3.01 dBFS), peak (dBFS and linear), DC offset, the number of NaN/infinite samples (float \
            files) and whether every sample has the same value. Files are read in blocks, so any length \
            is measured in constant memory.

            With --require-sound the exit status is 1 when any file is empty, holds a NaN or infinite \
            sample, is constant, or has an RMS without DC below --min-rms-db; each such file is named on \
            standard error with the reason. Recipe checks use this to refuse silent or broken output.

            Examples:
              vits audio stats samples/01.wav
              vits audio stats --json --require-sound samples/*.wav
              vits audio stats --require-sound --min-rms-db -40 out/hello.wav
            """)

    @Argument(help: "Audio files (WAV, FLAC, OGG, AIFF, …).")
    var files: [String]

    @Flag(help: "One JSON object per file.")
    var json = false

    @Flag(help: "Exit 1 unless every file holds sound (finite, not constant, RMS without DC ≥ --min-rms-db).")
    var requireSound = false

    @Option(help: "Sound floor for --require-sound, dBFS of the RMS without DC.")
    var minRmsDb: Double = -60

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one audio file") }
        guard minRmsDb.isFinite, minRmsDb < 0 else { throw ValidationError("--min-rms-db must be a negative number of dBFS (got \(minRmsDb))") }
    }

    func run() throws {
        var output = FileHandleOutput()
        var failures: [String] = []
        for path in files {
            let stats = try AudioStats.measure(URL(fileURLWithPath: path))
            let problem = stats.soundProblem(minimumRMSdB: minRmsDb)
            output.write(json ? Self.json(path: path, stats, problem: problem) : Self.text(path: path, stats, problem: problem))
            output.write("\n")
            if let problem { failures.append("\(path): no sound: \(problem)") }
        }
        output.flush()
        if requireSound, !failures.isEmpty {
            throw CommandFailure(failures.joined(separator: "\n") + "\n(\(failures.count) of \(files.count) files failed --require-sound)")
        }
    }

    static func decibels(_ level: Double) -> String {
        level > 0 ? String(format: "%.2f", AudioStats.dBFS(level)) : "-inf"
    }

    static func text(path: String, _ s: AudioStats, problem: String?) -> String {
        String(format: "%@: %.3f s, %d Hz, %d ch; RMS %@ dBFS (without DC %@), peak %@ dBFS (%.4f), DC %.5f; %d NaN/Inf; %@",
               path, s.duration, s.sampleRate, s.channels, decibels(s.rms), decibels(s.acRMS), decibels(Double(s.peak)),
               s.peak, s.mean, s.nonFinite, problem.map { "NO SOUND: " + $0 } ?? (s.isConstant ? "constant" : "sound"))
    }

    /// Keys in a fixed order; levels of zero are null (JSON has no −∞).
    static func json(path: String, _ s: AudioStats, problem: String?) -> String {
        func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }
        func dB(_ level: Double) -> String { level > 0 ? String(format: "%.4f", AudioStats.dBFS(level)) : "null" }
        return "{\"file\": " + G2PJSON.quote(path)
            + ", \"duration_s\": " + number(s.duration)
            + ", \"sample_rate\": \(s.sampleRate), \"channels\": \(s.channels), \"samples\": \(s.samples)"
            + ", \"rms_dbfs\": " + dB(s.rms) + ", \"ac_rms_dbfs\": " + dB(s.acRMS)
            + ", \"peak_dbfs\": " + dB(Double(s.peak)) + ", \"peak\": " + number(Double(s.peak))
            + ", \"dc\": " + number(s.mean)
            + ", \"non_finite\": \(s.nonFinite), \"constant\": \(s.isConstant)"
            + ", \"sound\": \(problem == nil), \"problem\": " + (problem.map(G2PJSON.quote) ?? "null") + "}"
    }
}
