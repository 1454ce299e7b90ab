import ArgumentParser
import Foundation
import Corpus
#if canImport(Glibc)
import Glibc
#endif

/// `vits prepare`: a corpus → a data folder (resampled WAVs, spectrogram cache, manifest, split).
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Import a corpus into a training data folder: resampled WAVs, cached spectrograms, manifest, split.",
        discussion: """
            Corpora:
              biaobei:PATH    PATH/ProsodyLabeling/000001-010000.txt + PATH/Wave/<id>.wav (labels used as given)
              ljspeech:PATH   PATH/metadata.csv (id|text|normalized) + PATH/wavs/<id>.wav (English, letters)
              filelist:FILE   lines 'path|speaker|text' (paths relative to FILE; text through the Mandarin G2P)

            DATA_DIR gets data.json, inventory.json, speakers.json, manifest.jsonl, train.txt,
            validation.txt, issues.jsonl, wavs/<speaker>/<id>.wav (16-bit PCM) and
            specs/<speaker>/<id>.safetensors (`spec` float32 [n_fft/2+1, frames]). See docs/corpus.md.

            Several runs into one DATA_DIR add speakers (ids are stable); preparing a speaker again
            replaces that speaker's utterances. Re-running is incremental: utterances whose source file
            kept its size and modification time are not recomputed, and an interrupted run continues.
            Malformed entries are reported with file:line and skipped.

            Example:
              vits prepare --corpus biaobei:/data/BZNSYP --out data/biaobei --sample-rate 22050
              vits prepare --corpus biaobei:corpus/male_low --speaker male_low --out data/pretrain
            """)

    @Option(help: "The corpus: biaobei:PATH, ljspeech:PATH or filelist:FILE.")
    var corpus: String

    @Option(help: "The data folder to write (created if missing).")
    var out: String

    @Option(help: "Speaker name for a Biaobei or LJSpeech corpus (default: the corpus folder's name).")
    var speaker: String?

    @Option(help: "Fraction of each speaker's utterances in the validation split (default 0.02).")
    var validationFraction: Double?

    @Option(help: "Utterances per speaker in the validation split (instead of a fraction).")
    var validationCount: Int?

    @Option(help: "Seed of the train/validation split.")
    var seed: UInt64 = 1234

    @OptionGroup var stft: SpectrogramOptions

    @Option(help: "Utterances processed in parallel (default: the number of cores).")
    var jobs: Int?

    func validate() throws {
        if validationFraction != nil && validationCount != nil {
            throw ValidationError("give --validation-fraction or --validation-count, not both")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be ≥ 1 (got \(jobs))") }
    }

    func run() throws {
        let source = try CorpusSource(parsing: corpus)
        var options = PrepareOptions()
        options.sampleRate = stft.sampleRate
        options.nFFT = stft.nFft
        options.hopLength = stft.hopLength
        options.winLength = stft.winLength
        options.speaker = speaker
        options.seed = seed
        if let jobs { options.workers = jobs }
        if let validationCount { options.validation = .count(validationCount) }
        if let validationFraction { options.validation = .fraction(validationFraction) }

        let bar = ProgressBar(label: "prepare")
        let report = try Preparer.prepare(source, into: URL(fileURLWithPath: out), options: options) { done, total in
            bar.update(done: done, total: total)
        }
        bar.finish()

        var lines = ["prepared \(report.source) → \(out)"]
        for s in report.speakers { lines.append("  speaker \(s.name) (id \(s.id))") }
        lines.append("  \(report.imported) utterances: \(report.prepared) processed now, \(report.reused) up to date; "
                     + "\(report.train) train / \(report.validation) validation, \(String(format: "%.1f", report.audioSeconds / 60)) min of audio")
        let skipped = report.issues.filter(\.skipped).count
        if !report.issues.isEmpty {
            lines.append("  \(skipped) entries skipped, \(report.issues.count - skipped) warnings:")
            for issue in report.issues.prefix(10) { lines.append("    " + issue.description) }
            if report.issues.count > 10 { lines.append("    … \(report.issues.count - 10) more in \(out)/issues.jsonl") }
        }
        if report.removedFiles > 0 { lines.append("  removed \(report.removedFiles) stale cache files") }
        lines.append(String(format: "  %.1f s", report.seconds))
        print(lines.joined(separator: "\n"))
    }
}

/// Progress on stderr: a redrawn bar on a terminal; otherwise one line every few seconds.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let lock = NSLock()
    private let start = Date()
    private let terminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = Date.distantPast
    private var last: (done: Int, total: Int) = (0, 0)

    init(label: String) { self.label = label }

    func update(done: Int, total: Int) {
        lock.withLock {
            last = (done, total)
            let now = Date()
            let interval = terminal ? 0.1 : 5.0
            guard now.timeIntervalSince(lastDraw) >= interval || (terminal && done == total) else { return }
            lastDraw = now
            draw(now: now)
        }
    }

    func finish() {
        lock.withLock {
            guard last.total > 0 else { return }
            draw(now: Date())
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }

    private func draw(now: Date) {
        let (done, total) = last
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let text = String(format: "%@ %d/%d %5.1f/s ETA %@", label, done, total, rate, Self.clock(eta))
        if terminal {
            let width = 30, filled = total > 0 ? width * done / total : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K".utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
