import ArgumentParser
import Audio
import Corpus
import Engine
import Evaluation
import Foundation
import Formats
import VITS
import Voice

/// `vits evaluate`: objective quality of a voice against the recordings of a prepared data folder,
/// or of existing WAV pairs.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a voice against recordings: MCD-DTW, log-F0 RMSE, V/UV disagreement, duration ratio.",
        discussion: """
            With --voice and --data, speaks the text of each selected utterance of a data folder written by \
            `vits prepare` (its validation split by default) and compares the result with the recording. \
            With --pairs SYNTH_DIR REF_DIR, scores existing WAVs paired by file name (any sample rate; \
            everything is analysed at 22.05 kHz).

            Figures (per utterance and mean; definitions in docs/evaluation.md):
              mcd_db            mel-cepstral distortion after DTW alignment, dB
              logf0_rmse_cents  pitch error on frames voiced in both, cents
              vuv_err           share of aligned frames voiced in only one
              dur_ratio         synthesized seconds / recorded seconds
            MCD: 0 = identical; another voice reading the same text ~5; a buzz ~13.

            Examples:
              vits evaluate --voice voices/demo --data data/target_male
              vits evaluate --voice runs/ft --step best --data data/pretrain \\
                  --speaker target_male --limit 5
              vits evaluate --voice voices/demo --data data/target_male --json
              vits evaluate --voice voices/demo --data data/target_male \\
                  --split train --limit 20 --save-dir out/eval
              vits evaluate --pairs out/synth out/recordings
            """)

    @Option(help: "Voice bundle folder, run folder or checkpoint folder.")
    var voice: String?

    @Option(help: "Checkpoint of a run folder: a step number, 'best' or 'latest'.")
    var step = "latest"

    @Option(help: "Data folder written by `vits prepare` (manifest.jsonl, validation.txt, train.txt, wavs/).")
    var data: String?

    @Option(help: "Which utterances of the data folder: validation or train.")
    var split = "validation"

    @Option(help: "Only this speaker's utterances (a speaker name of the data folder).")
    var speaker: String?

    @Option(help: "The voice's speaker (id or name) to speak with; default: the data speaker's namesake, or the voice's only speaker.")
    var voiceSpeaker: String?

    @Option(help: "At most this many utterances (in split order).")
    var limit: Int?

    @Option(help: "Keep the synthesized WAVs in this folder (named like the recordings).")
    var saveDir: String?

    @Option(help: "Seed of the synthesis noise draws.")
    var seed: UInt64 = 0

    @Option(parsing: .upToNextOption, help: "Score existing WAVs instead: SYNTH_DIR REF_DIR, paired by file name.")
    var pairs: [String] = []

    @Flag(help: "Print one JSON line per utterance and a final summary line (as the scorer mcd.py does).")
    var json = false

    func validate() throws {
        if !pairs.isEmpty {
            guard pairs.count == 2 else { throw ValidationError("--pairs takes two folders: SYNTH_DIR REF_DIR") }
            guard voice == nil, data == nil else { throw ValidationError("give either --pairs or --voice with --data, not both") }
        } else {
            guard voice != nil, data != nil else {
                throw ValidationError("give --voice and --data (or --pairs SYNTH_DIR REF_DIR); see `vits evaluate --help`")
            }
        }
        guard Split(rawValue: split) != nil else { throw ValidationError("--split must be 'validation' or 'train' (got '\(split)')") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let scores: [NamedScore]
        if !pairs.isEmpty {
            scores = try VoiceScorer.scoreFolders(synthesized: URL(fileURLWithPath: pairs[0]),
                                                  recorded: URL(fileURLWithPath: pairs[1])) { done, total, name in
                progress(done, total, name)
            }
        } else {
            scores = try evaluateVoice()
        }
        report(scores)
    }

    /// The selected utterances of the data folder, spoken with the voice and scored.
    func evaluateVoice() throws -> [NamedScore] {
        guard let voice, let data, let chosenSplit = Split(rawValue: split) else { return [] }
        let folder = DataFolder(URL(fileURLWithPath: data))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("--data \(data): no such folder (a data folder is written by `vits prepare`)")
        }
        let manifest = try folder.readManifest()
        let ids = try folder.readSplit(chosenSplit)
        let byID = Dictionary(manifest.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var entries = ids.compactMap { byID[$0] }
        if let speaker {
            let known = Set(manifest.map(\.speaker))
            guard known.contains(speaker) else {
                throw CommandFailure("speaker '\(speaker)' is not in \(data); it has: \(known.sorted().joined(separator: ", "))")
            }
            entries = entries.filter { $0.speaker == speaker }
        }
        if let limit { entries = Array(entries.prefix(limit)) }
        guard !entries.isEmpty else {
            throw CommandFailure("no utterances to evaluate: the \(split) split of \(data)\(speaker.map { " has none of speaker '\($0)'" } ?? " is empty")")
        }

        Engine.configure()
        guard let choice = CheckpointChoice(argument: step) else {
            throw ValidationError("--step must be a step number, 'best' or 'latest' (got '\(step)')")
        }
        let loaded = try VoiceLoader.load(URL(fileURLWithPath: voice), choice: choice, warn: VoiceSupport.warn)
        let synthesizer = try VoiceSynthesizer(voice: loaded, frontend: VoiceSupport.frontend(named: loaded.manifest.frontend))
        var baseOptions = SynthesisOptions(defaults: loaded.manifest.inference)
        baseOptions.seed = seed
        // Data speaker → voice speaker: --voice-speaker, else the namesake, else a single-speaker voice's only one.
        let voiceSpeakers = loaded.manifest.speakers
        func speakerOfVoice(for dataSpeaker: String) throws -> String? {
            if let voiceSpeaker { return voiceSpeaker }
            if voiceSpeakers.contains(where: { $0.name == dataSpeaker }) { return dataSpeaker }
            if voiceSpeakers.count <= 1 { return nil }
            throw CommandFailure("the voice has no speaker named '\(dataSpeaker)' (it has: \(voiceSpeakers.map(\.name).joined(separator: ", "))); choose one with --voice-speaker")
        }
        var mapping: [String: String?] = [:]
        for name in Set(entries.map(\.speaker)) {
            let mapped = try speakerOfVoice(for: name)
            _ = try loaded.manifest.speakerID(mapped)   // an unknown --voice-speaker fails before any work
            mapping[name] = mapped
        }
        let utterances = entries.map {
            EvaluationUtterance(id: $0.id, text: $0.text, recording: folder.file($0.wav), speaker: mapping[$0.speaker] ?? nil)
        }
        FileHandle.standardError.write(Data("evaluating voice '\(loaded.manifest.name)' on \(utterances.count) \(split) utterance(s) of \(data)\n".utf8))
        let start = VoiceSupport.now()
        return try VoiceScorer.evaluate(utterances, synthesizedFolder: saveDir.map { URL(fileURLWithPath: $0) },
                                        speak: { utterance in
            var options = baseOptions
            options.speaker = utterance.speaker
            let result = try synthesizer.synthesize(utterance.text, options: options)
            return MonoAudio(samples: result.samples, sampleRate: result.sampleRate)
        }, progress: { done, total, named in
            let elapsed = VoiceSupport.now() - start
            let eta = elapsed / Double(done) * Double(total - done)
            FileHandle.standardError.write(Data(String(format: "[%d/%d] %@  MCD %.2f dB  (ETA %.0f s)\n",
                                                       done, total, named.name, named.score.mcdDecibels, eta).utf8))
        })
    }

    func progress(_ done: Int, _ total: Int, _ name: String) {
        FileHandle.standardError.write(Data("[\(done)/\(total)] \(name)\n".utf8))
    }

    func report(_ scores: [NamedScore]) {
        let summary = ScoreSummary(scores.map(\.score))
        func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
        if json {
            for s in scores {
                let f0 = s.score.logF0RMSECents.map { fixed($0, 1) } ?? "NaN"
                print("{\"name\": \(jsonString(s.name)), \"mcd_db\": \(fixed(s.score.mcdDecibels, 3)), \"logf0_rmse_cents\": \(f0), \"vuv_err\": \(fixed(s.score.voicingDisagreement, 3)), \"dur_ratio\": \(fixed(s.score.durationRatio, 3))}")
            }
            let m = summary.mean
            let f0 = m.logF0RMSECents.map { fixed($0, 3) } ?? "NaN"
            print("{\"pairs\": \(summary.count), \"mcd_db\": \(fixed(m.mcdDecibels, 3)), \"logf0_rmse_cents\": \(f0), \"vuv_err\": \(fixed(m.voicingDisagreement, 3)), \"dur_ratio\": \(fixed(m.durationRatio, 3))}")
            return
        }
        let width = max(9, scores.map(\.name.count).max() ?? 0)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        print("\(pad("utterance"))  MCD (dB)  log-F0 RMSE (cents)  V/UV err  duration ratio")
        func row(_ name: String, _ s: PairScore) {
            let f0 = s.logF0RMSECents.map { fixed($0, 0) } ?? "-"
            print("\(pad(name))  \(leftPad(fixed(s.mcdDecibels, 2), 8))  \(leftPad(f0, 19))  \(leftPad(fixed(s.voicingDisagreement * 100, 1) + "%", 8))  \(leftPad(fixed(s.durationRatio, 2), 14))")
        }
        for s in scores { row(s.name, s.score) }
        row("mean (\(summary.count))", summary.mean)
    }

    func leftPad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }

    func jsonString(_ s: String) -> String { JSONWriter.quoted(s) }
}
