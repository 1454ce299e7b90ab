import Foundation
import Engine
import VITS

/// Text → token ids for one frontend. The VITS target does not know any language; the caller
/// (the CLI, with the Mandarin frontend) supplies this.
public struct TextFrontend {
    /// Frontend name as voices record it (`mandarin`).
    public var name: String
    /// The inventory version the tokens are ids in (`zh-v1`) and its symbols in id order.
    public var inventoryName: String
    public var symbols: [String]
    /// Text → the pieces spoken one model call each (sentences, and bounded chunks of long ones:
    /// the Mandarin frontend's `TextChunker`). Default: `VoiceSynthesizer.sentences`.
    public var split: (String) -> [String]
    /// Token ids of one sentence; an empty array when the sentence has nothing to say (only punctuation).
    public var tokenize: (String) throws -> [Int]

    public init(name: String, inventoryName: String, symbols: [String],
                split: @escaping (String) -> [String] = VoiceSynthesizer.sentences,
                tokenize: @escaping (String) throws -> [Int]) {
        self.name = name; self.inventoryName = inventoryName; self.symbols = symbols; self.split = split; self.tokenize = tokenize
    }
}

public struct SynthesisOptions: Sendable, Equatable {
    /// Speaker id or name (nil: the voice's first speaker).
    public var speaker: String?
    public var noiseScale: Float
    public var lengthScale: Float
    public var noiseScaleW: Float
    /// Multiplies the predicted F0 of voices with pitch excitation (`model.pitch_excitation`): 2 is
    /// an octave up, 0.5 an octave down. Other voices have no F0 to scale and refuse any other value.
    public var pitchScale: Float = 1
    /// Seed of the noise draws: same seed, same text, same voice → the same samples.
    public var seed: UInt64
    /// Silence inserted between sentences, in seconds.
    public var sentenceSilence: Double

    public init(speaker: String? = nil, noiseScale: Float = 0.667, lengthScale: Float = 1, noiseScaleW: Float = 0.8,
                seed: UInt64 = 0, sentenceSilence: Double = 0.2) {
        self.speaker = speaker; self.noiseScale = noiseScale; self.lengthScale = lengthScale
        self.noiseScaleW = noiseScaleW; self.seed = seed; self.sentenceSilence = sentenceSilence
    }

    /// Defaults from a voice's manifest.
    public init(defaults: VoiceManifest.InferenceDefaults) {
        self.init(noiseScale: defaults.noiseScale, lengthScale: defaults.lengthScale, noiseScaleW: defaults.noiseScaleW)
    }
}

public struct SynthesisResult: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    /// The sentences that were spoken, in order.
    public var sentences: [String]
    public var seconds: Double { Double(samples.count) / Double(sampleRate) }
}

/// One spoken piece of a streamed synthesis (`VoiceSynthesizer.synthesize(_:options:sink:)`).
public struct SynthesizedChunk {
    /// 0-based position among `count` pieces, and the piece's text.
    public var index: Int
    public var count: Int
    public var text: String
    /// Zero samples to put before `samples` (the sentence silence; 0 for the first piece).
    public var silenceBefore: Int
    /// The piece's audio, valid only during the call.
    public var samples: UnsafeBufferPointer<Float>
}

public enum SynthesisError: Error, CustomStringConvertible, Equatable {
    case emptyText(String)
    case invalidOption(String)
    case frontend(String)
    case model(String)

    public var description: String {
        switch self {
        case .emptyText(let m), .invalidOption(let m), .frontend(let m), .model(let m): return m
        }
    }
}

/// Text → audio with a loaded voice: sentence splitting, frontend, inference per sentence, silence joins.
public final class VoiceSynthesizer {
    public let voice: Voice
    public let frontend: TextFrontend

    /// Refuses a voice whose inventory differs from the frontend's (ids would mean other phonemes).
    public init(voice: Voice, frontend: TextFrontend) throws(VoiceError) {
        let m = voice.manifest
        guard m.frontend == frontend.name else {
            throw .inventoryMismatch("voice '\(m.name)' needs the '\(m.frontend)' frontend; this synthesizer has '\(frontend.name)'")
        }
        guard m.inventory.symbols == frontend.symbols else {
            let firstDiff = zip(m.inventory.symbols, frontend.symbols).enumerated().first { $0.element.0 != $0.element.1 }
            let detail = firstDiff.map { "id \($0.offset) is '\($0.element.0)' in the voice, '\($0.element.1)' in the frontend" }
                ?? "the voice has \(m.inventory.symbols.count) symbols, the frontend \(frontend.symbols.count)"
            throw .inventoryMismatch("voice '\(m.name)' uses inventory '\(m.inventory.name)', which differs from the frontend's '\(frontend.inventoryName)' (\(detail)); re-export it with a matching vits or retrain")
        }
        self.voice = voice
        self.frontend = frontend
    }

    /// Sentence ends: 。！？； and their ASCII forms, and line breaks. The mark stays with its sentence.
    static let sentenceEnds: Set<Character> = ["。", "！", "？", "；", "!", "?", ";", "\n", "\r\n", "\r"]

    /// Splits text into sentences (trimmed, non-empty).
    public static func sentences(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        func flush() {
            let s = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !s.isEmpty { out.append(s) }
            current = ""
        }
        for c in text {
            if c.isNewline { flush(); continue }
            current.append(c)
            if sentenceEnds.contains(c) { flush() }
        }
        flush()
        return out
    }

    /// Token ids as the model reads them: with blanks (id 0) interspersed when the config says `add_blank`,
    /// exactly as training batches are built.
    public func modelTokens(_ ids: [Int]) -> [Int32] {
        guard voice.config.data.addBlank else { return ids.map { Int32($0) } }
        var out = [Int32](repeating: 0, count: 2 * ids.count + 1)
        for (k, t) in ids.enumerated() { out[2 * k + 1] = Int32(t) }
        return out
    }

    /// Synthesizes `text` (split into sentences, joined with `options.sentenceSilence`).
    public func synthesize(_ text: String, options: SynthesisOptions) throws -> SynthesisResult {
        var samples: [Float] = []
        let spoken = try synthesize(text, options: options) { chunk in
            samples.append(contentsOf: repeatElement(0, count: chunk.silenceBefore))
            samples.append(contentsOf: chunk.samples)
        }
        return SynthesisResult(samples: samples, sampleRate: voice.sampleRate, sentences: spoken)
    }

    /// Refuses options out of range, and a pitch scale for a voice without pitch excitation.
    static func check(_ options: SynthesisOptions, voice: Voice) throws(SynthesisError) {
        guard options.lengthScale > 0, options.lengthScale.isFinite, options.lengthScale <= 100 else {
            throw .invalidOption("length scale must be in (0, 100], got \(options.lengthScale)")
        }
        guard options.noiseScale >= 0, options.noiseScale.isFinite, options.noiseScaleW >= 0, options.noiseScaleW.isFinite else {
            throw .invalidOption("noise scales must be finite and ≥ 0")
        }
        guard options.pitchScale > 0, options.pitchScale.isFinite, options.pitchScale <= 4 else {
            throw .invalidOption("pitch scale must be in (0, 4], got \(options.pitchScale)")
        }
        guard options.pitchScale == 1 || voice.model.pitchPredictor != nil else {
            throw .invalidOption("this voice has no pitch excitation (model.pitch_excitation), so its pitch cannot be scaled; its tones come from the decoder itself")
        }
    }

    /// Speaks model token ids exactly as given — the ids a Piper voice's `input` takes: no frontend,
    /// no blanks added — in one model call (`vits synthesize --ids`). Returns the valid samples.
    public static func synthesize(tokens: [Int], voice: Voice, options: SynthesisOptions) throws -> [Float] {
        try check(options, voice: voice)
        guard !tokens.isEmpty else { throw SynthesisError.emptyText("nothing to say: no token ids given") }
        let speaker = try voice.manifest.speakerID(options.speaker)
        let noise = GeneratorNoise(RandomGenerator(seed: options.seed))
        let (out, n) = try speak(tokens.map { Int32(truncatingIfNeeded: $0) }, voice: voice, speaker: speaker, options: options, noise: noise)
        return withExtendedLifetime(out) { Array(UnsafeBufferPointer(start: out.audio.pointer, count: n)) }
    }

    /// One model call on token ids as the model reads them (batch 1), for both the ids path and
    /// the text path: the outputs, and how many of their samples are valid (frames × hop, within
    /// the audio). `out.audio` must stay alive while those samples are read.
    private static func speak(_ tokens: [Int32], voice: Voice, speaker: Int, options: SynthesisOptions,
                              noise: GeneratorNoise) throws(SynthesisError) -> (out: InferenceOutputs, samples: Int) {
        let out: InferenceOutputs
        do {
            out = try voice.model.infer(tokens: IntTensor(shape: [1, tokens.count], values: tokens), tokenLengths: [tokens.count],
                                        speakers: voice.config.isMultiSpeaker ? [speaker] : nil,
                                        noiseScale: options.noiseScale, lengthScale: options.lengthScale,
                                        noiseScaleW: options.noiseScaleW, pitchScale: options.pitchScale, noise: noise)
        } catch { throw .model("\(error)") }
        return (out, min(out.frameLengths[0] * voice.config.data.hopLength, out.audio.count))
    }

    /// Synthesizes `text` piece by piece (`frontend.split`), handing each piece's audio to `sink`
    /// as soon as it is made: memory holds one piece's activations and samples, whatever the
    /// length of the text. The noise stream runs on across pieces, so the audio equals the
    /// non-streaming call's. Returns the spoken pieces.
    @discardableResult
    public func synthesize(_ text: String, options: SynthesisOptions, sink: (SynthesizedChunk) throws -> Void) throws -> [String] {
        try Self.check(options, voice: voice)
        guard options.sentenceSilence >= 0, options.sentenceSilence <= 60 else {
            throw SynthesisError.invalidOption("sentence silence must be in [0, 60] seconds, got \(options.sentenceSilence)")
        }
        let speaker = try voice.manifest.speakerID(options.speaker)
        var spoken: [(String, [Int])] = []
        for sentence in frontend.split(text) {
            let ids: [Int]
            do { ids = try frontend.tokenize(sentence) } catch {
                throw SynthesisError.frontend("cannot read \"\(sentence)\": \(error)")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= frontend.symbols.count }) {
                throw SynthesisError.frontend("the frontend produced token id \(bad), outside the inventory")
            }
            if !ids.isEmpty { spoken.append((sentence, ids)) }
        }
        guard !spoken.isEmpty else {
            throw SynthesisError.emptyText("nothing to say: the text has no speakable characters"
                                           + (text.isEmpty ? " (it is empty)" : ""))
        }
        let noise = GeneratorNoise(RandomGenerator(seed: options.seed))
        let silence = Int((options.sentenceSilence * Double(voice.sampleRate)).rounded())
        for (i, (sentence, ids)) in spoken.enumerated() {
            let (out, n) = try Self.speak(modelTokens(ids), voice: voice, speaker: speaker, options: options, noise: noise)
            try withExtendedLifetime(out) {
                try sink(SynthesizedChunk(index: i, count: spoken.count, text: sentence, silenceBefore: i > 0 ? silence : 0,
                                          samples: UnsafeBufferPointer(start: out.audio.pointer, count: n)))
            }
        }
        return spoken.map(\.0)
    }
}
