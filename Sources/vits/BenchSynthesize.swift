import ArgumentParser
import Engine
import Foundation
import VITS
import Voice
import Cores

/// `vits bench synthesize`: real-time factor of whole-utterance synthesis (text encoder, duration
/// predictor, flow⁻¹, decoder), for a voice (through the frontend) or a config with random weights.
struct BenchSynthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesize",
        abstract: "Real-time factor of synthesis, for a voice or for a config with random weights.",
        discussion: """
            --voice: speaks a fixed set of Chinese sentences (as many as make --seconds of audio), one \
            sentence per inference call as `vits synthesize` does. --config: random weights with a \
            vocabulary of --vocabulary symbols, one utterance of --tokens random tokens (blanks \
            interspersed when the config says add_blank), the length scale chosen so the audio lasts \
            about --seconds. Reports the median of --runs after one warm-up run; RTF = wall seconds / \
            audio seconds (below 1 is faster than real time).

            Examples:
              vits bench synthesize --voice voices/demo --seconds 10
              vits bench synthesize --config Tests/VITSTests/Fixtures/configs/ljs_base.json --json
            """)

    @Option(help: "Voice bundle, run or checkpoint folder.")
    var voice: String?

    @Option(help: "Reference-format config.json (random weights).")
    var config: String?

    @Option(help: "Vocabulary size for --config (220 = the zh-v1 inventory).")
    var vocabulary = 220

    @Option(help: "Text tokens (before blanks) for --config.")
    var tokens = 150

    @Option(help: "Seconds of audio to synthesize (approximately).")
    var seconds: Double = 10

    @Option(help: "Timed runs (the median is reported).")
    var runs = 3

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (voice == nil) != (config == nil) else { throw ValidationError("give exactly one of --voice and --config") }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be in 1...100") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (2...1 << 20).contains(vocabulary) else { throw ValidationError("--vocabulary must be ≥ 2") }
        guard (1...5000).contains(tokens) else { throw ValidationError("--tokens must be in 1...5000") }
    }

    /// Sentences of varied length and content (written for this benchmark).
    static let sentences = [
        "今天早上下了一场小雨，空气变得格外清新。",
        "我们约好下午三点在图书馆门口见面。",
        "这家小店的面条很有名，每天都有人排队。",
        "他把旧自行车修好以后，骑着它去了海边。",
        "请在会议开始之前把材料准备好。",
        "春天来了，公园里的花一朵接一朵地开了。",
        "火车晚点了二十分钟，大家只好在站台上等着。",
        "妹妹正在学习弹钢琴，每天练习一个小时。",
        "这座城市的夜景非常漂亮，值得一看。",
        "如果明天天气好，我们就去爬山吧。",
    ]

    func run() throws {
        Engine.configure()
        if let voice { try benchVoice(voice) } else if let config { try benchConfig(config) }
    }

    func benchVoice(_ path: String) throws {
        let loaded = try VoiceLoader.load(URL(fileURLWithPath: path), warn: VoiceSupport.warn)
        let synthesizer = try VoiceSynthesizer(voice: loaded, frontend: VoiceSupport.frontend(named: loaded.manifest.frontend))
        var options = SynthesisOptions(defaults: loaded.manifest.inference)
        options.sentenceSilence = 0
        // Warm-up, and pick the sentences that make --seconds of audio.
        var text = "", audio = 0.0, index = 0
        while audio < seconds {
            let sentence = Self.sentences[index % Self.sentences.count]
            audio += try synthesizer.synthesize(sentence, options: options).seconds
            text += sentence + "\n"
            index += 1
            if index > 10_000 { break }
        }
        let (wall, cpu, produced) = try time { try synthesizer.synthesize(text, options: options).seconds }
        report(kind: "voice", source: path, audioSeconds: produced, wall: wall, cpu: cpu, extra: "\"sentences\":\(index)")
    }

    func benchConfig(_ path: String) throws {
        let cfg = try VITSConfig.load(contentsOf: URL(fileURLWithPath: path))
        let model = SynthesizerTrn(config: cfg, vocabularySize: vocabulary, generator: RandomGenerator(seed: 1234))
        model.eval()
        let rng = RandomGenerator(seed: 99)
        var ids = (0..<tokens).map { _ in Int32(1 + Int(rng.rand([1]).scalars[0] * Float(vocabulary - 1)) % (vocabulary - 1)) }
        if cfg.data.addBlank {
            var blanked = [Int32](repeating: 0, count: 2 * ids.count + 1)
            for (k, t) in ids.enumerated() { blanked[2 * k + 1] = t }
            ids = blanked
        }
        let input = IntTensor(shape: [1, ids.count], values: ids)
        let speakers: [Int]? = cfg.isMultiSpeaker ? [0] : nil
        func infer(_ lengthScale: Float) throws -> Double {
            let out = try model.infer(tokens: input, tokenLengths: [ids.count], speakers: speakers, lengthScale: lengthScale,
                                      noise: GeneratorNoise(RandomGenerator(seed: 7)))
            return Double(out.frameLengths[0] * cfg.data.hopLength) / Double(cfg.data.samplingRate)
        }
        // Calibrate the length scale so the random-weight durations give about --seconds of audio.
        let first = try infer(1)
        let lengthScale = Float(seconds / max(first, 1e-3))
        _ = try infer(lengthScale)
        let (wall, cpu, produced) = try time { try infer(lengthScale) }
        report(kind: "config", source: path, audioSeconds: produced, wall: wall, cpu: cpu,
               extra: "\"tokens\":\(ids.count),\"vocabulary\":\(vocabulary),\"parameters\":\(model.parameterCount)")
    }

    /// Median wall and CPU seconds of `runs` calls, and the audio seconds the last call produced.
    func time(_ body: () throws -> Double) throws -> (Double, Double, Double) {
        var walls: [Double] = [], cpus: [Double] = [], audio = 0.0
        for _ in 0..<runs {
            let cpu0 = BenchGenerator.processCPUSeconds(), t0 = VoiceSupport.now()
            audio = try body()
            walls.append(VoiceSupport.now() - t0)
            cpus.append(BenchGenerator.processCPUSeconds() - cpu0)
        }
        return (walls.sorted()[walls.count / 2], cpus.sorted()[cpus.count / 2], audio)
    }

    func report(kind: String, source: String, audioSeconds: Double, wall: Double, cpu: Double, extra: String) {
        let rtf = wall / audioSeconds
        if json {
            print(#"{"bench":"synthesize","\#(kind)":"\#(source)","audio_seconds":\#(audioSeconds),"runs":\#(runs),"seconds":\#(wall),"realtime_factor":\#(rtf),"cpu_seconds":\#(cpu),"workers":\#(Parallel.workers),\#(extra)}"#)
        } else {
            print(String(format: "synthesize (%@ %@): %.2f s of audio in %.3f s (median of %d), RTF %.4f (%.1f× real time); CPU %.3f s, %d workers",
                         kind, source, audioSeconds, wall, runs, rtf, 1 / rtf, cpu, Parallel.workers))
        }
    }
}
