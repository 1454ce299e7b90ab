import ArgumentParser
import Audio
import Engine
import Foundation
import Mandarin
import VITS
import Voice

/// `vits synthesize`: Chinese text → WAV with a voice bundle or a training run.
struct SynthesizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesize",
        abstract: "Speak text with a voice (bundle, run folder or checkpoint folder) into a WAV file.",
        discussion: """
            Text comes from --text, --text-file or standard input. It is split into sentences (at 。！？；!?; \
            and line breaks), each spoken separately and joined with --sentence-silence seconds of silence; \
            a sentence longer than --max-chunk characters is split further (at clause punctuation, then \
            between words) and the WAV is written chunk by chunk, so memory stays flat for any length. \
            Characters that give no sound are dropped with a warning; text with nothing to say fails. \
            With --output-dir every non-empty input line becomes its own WAV, named by its line number \
            (0001.wav, …). Audio seconds, wall seconds and the real-time factor go to standard error.
            The same text, voice, options and --seed give the same samples.

            Examples:
              vits synthesize --voice voices/demo --text "今天天气很好。" -o out/hello.wav
              vits synthesize --voice runs/quickstart-finetune --step best --text-file story.txt -o story.wav
              cat lines.txt | vits synthesize --voice voices/demo --output-dir out/lines --speaker 0
            """)

    @Option(help: "Voice bundle folder, run folder or checkpoint folder.")
    var voice: String

    @Option(help: "Checkpoint of a run folder: a step number, 'best' or 'latest'.")
    var step = "latest"

    @Option(help: "Text to speak.")
    var text: String?

    @Option(help: "UTF-8 text file to speak.")
    var textFile: String?

    @Option(name: [.customShort("o"), .long], help: "Output WAV (16-bit PCM).")
    var output: String?

    @Option(help: "Write one WAV per input line into this folder instead of one file.")
    var outputDir: String?

    @Option(help: "Speaker id or name (multi-speaker voices; default: the first speaker).")
    var speaker: String?

    @Option(help: "Speaking time scale: > 1 slower, < 1 faster (default: the voice's, 1).")
    var lengthScale: Float?

    @Option(help: "Prior noise scale (default: the voice's, 0.667).")
    var noiseScale: Float?

    @Option(help: "Duration noise scale of the stochastic duration predictor (default: the voice's, 0.8).")
    var noiseScaleW: Float?

    @Option(help: "Multiply the predicted pitch (voices trained with model.pitch_excitation): 2 = an octave up, 0.5 = down, 1.06 ≈ a semitone up.")
    var pitchScale: Float = 1

    @Option(help: "Speak these model token ids instead of text (comma-separated, e.g. 1,0,23,0,2): the ids exactly as the model reads them (no frontend, no blanks added), one model call — what a Piper export's `input` takes.")
    var ids: String?

    @Flag(help: "Write 32-bit float samples instead of 16-bit PCM.")
    var float32 = false

    @Option(help: "Seed of the noise draws.")
    var seed: UInt64 = 0

    @Option(help: "Silence between sentences, seconds.")
    var sentenceSilence: Double = 0.2

    @Option(help: "Longest piece of text spoken in one model call, in characters (bounds memory; see docs/synthesis.md).")
    var maxChunk: Int = TextChunker.defaultMaxLength

    func validate() throws {
        guard (output == nil) != (outputDir == nil) else { throw ValidationError("give exactly one of -o/--output and --output-dir") }
        guard [text, textFile, ids].compactMap({ $0 }).count <= 1 else { throw ValidationError("give one of --text, --text-file and --ids") }
        guard ids == nil || output != nil else { throw ValidationError("--ids writes one file: give -o/--output") }
        guard (8...1000).contains(maxChunk) else { throw ValidationError("--max-chunk must be 8–1000 characters (got \(maxChunk))") }
    }

    func run() throws {
        Engine.configure()
        SynthesisMemory.pinMmapThreshold()
        let loadStart = VoiceSupport.now()
        guard let choice = CheckpointChoice(argument: step) else {
            throw ValidationError("--step must be a step number, 'best' or 'latest' (got '\(step)')")
        }
        let loaded = try VoiceLoader.load(URL(fileURLWithPath: voice), choice: choice,
                                          warn: VoiceSupport.warn)
        var options = SynthesisOptions(defaults: loaded.manifest.inference)
        options.speaker = speaker
        if let lengthScale { options.lengthScale = lengthScale }
        if let noiseScale { options.noiseScale = noiseScale }
        if let noiseScaleW { options.noiseScaleW = noiseScaleW }
        options.pitchScale = pitchScale
        options.seed = seed
        options.sentenceSilence = sentenceSilence
        _ = try loaded.manifest.speakerID(speaker)   // an unknown speaker fails before any work
        let loadSeconds = VoiceSupport.now() - loadStart
        if let ids, let output {
            var tokens: [Int] = []
            for part in ids.split(whereSeparator: { $0 == "," || $0 == " " }) {
                guard let id = Int(part) else { throw ValidationError("--ids: '\(part)' is not an integer token id") }
                tokens.append(id)
            }
            let samples = try VoiceSynthesizer.synthesize(tokens: tokens, voice: loaded, options: options)
            try AudioFile.write(samples, sampleRate: loaded.sampleRate, to: URL(fileURLWithPath: output), format: float32 ? .float32 : .pcm16)
            FileHandle.standardError.write(Data("\(output): \(tokens.count) ids → \(samples.count) samples (voice '\(loaded.manifest.name)' loaded in \(String(format: "%.2f", loadSeconds)) s)\n".utf8))
            return
        }

        let synthesizer = try VoiceSynthesizer(voice: loaded, frontend: VoiceSupport.frontend(for: loaded, maxChunkLength: maxChunk))
        let input = try readInput()
        var jobs: [(text: String, url: URL, label: String?)] = []
        if let outputDir {
            let dir = URL(fileURLWithPath: outputDir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let lines = input.components(separatedBy: .newlines)
            let width = max(4, String(lines.count).count)
            for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let number = String(i + 1), padded = String(repeating: "0", count: max(0, width - number.count)) + number
                jobs.append((line, dir.appendingPathComponent(padded + ".wav"), "line \(i + 1)"))
            }
            guard !jobs.isEmpty else { throw SynthesisError.emptyText("nothing to say: the input has no non-empty line") }
        } else if let output {
            let url = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            jobs.append((input, url, nil))
        }
        if loaded.manifest.frontend == "mandarin" {   // dropped characters and unspeakable text, before any work
            let mandarin = try MandarinFrontend.bundled()
            for job in jobs { try TextDiagnostics.requireSpeakable(mandarin.process(job.text), label: job.label) }
        }

        var audioSeconds = 0.0, wallSeconds = 0.0
        for job in jobs {
            let start = VoiceSupport.now()
            let seconds = try synthesize(job.text, with: synthesizer, options: options, to: job.url)
            let wall = VoiceSupport.now() - start
            audioSeconds += seconds
            wallSeconds += wall
            if jobs.count > 1 {
                FileHandle.standardError.write(Data(String(format: "%@: %.2f s of audio in %.2f s (RTF %.3f)\n",
                                                           job.url.path, seconds, wall, wall / seconds).utf8))
            }
        }
        let target = outputDir ?? output ?? ""
        FileHandle.standardError.write(Data(String(
            format: "%@: audio %.2f s, wall %.2f s, real-time factor %.3f (voice '%@' loaded in %.2f s)\n",
            target, audioSeconds, wallSeconds, wallSeconds / max(audioSeconds, 1e-9), loaded.manifest.name, loadSeconds).utf8))
    }

    /// Speaks `text` into `url` chunk by chunk (the WAV grows as chunks come; only one chunk's
    /// samples are in memory), with progress and ETA on stderr every 10 s for long texts.
    /// Returns the seconds of audio written.
    func synthesize(_ text: String, with synthesizer: VoiceSynthesizer, options: SynthesisOptions, to url: URL) throws -> Double {
        let writer = try AudioStreamWriter(url: url, sampleRate: synthesizer.voice.sampleRate, format: float32 ? .float32 : .pcm16)
        let start = VoiceSupport.now()
        var lastReport = start
        try synthesizer.synthesize(text, options: options) { chunk in
            try writer.appendSilence(chunk.silenceBefore)
            try writer.append(chunk.samples)
            SynthesisMemory.chunkDone()
            let now = VoiceSupport.now()
            if now - lastReport >= 10, chunk.index + 1 < chunk.count {
                lastReport = now
                let done = Double(chunk.index + 1), eta = (now - start) / done * (Double(chunk.count) - done)
                FileHandle.standardError.write(Data(String(format: "%@: chunk %d of %d, %.0f s of audio, ETA %.0f s\n",
                                                           url.path, chunk.index + 1, chunk.count, writer.seconds, eta).utf8))
            }
        }
        try writer.finish()
        return writer.seconds
    }

    func readInput() throws -> String {
        if let text { return text }
        if let textFile {
            guard let data = FileManager.default.contents(atPath: textFile) else {
                throw CommandFailure("cannot read --text-file \(textFile)")
            }
            guard let s = String(data: data, encoding: .utf8) else { throw CommandFailure("\(textFile) is not UTF-8 text") }
            return s
        }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let s = String(data: data, encoding: .utf8) else { throw CommandFailure("standard input is not UTF-8 text") }
        return s
    }
}
