import Foundation
import Audio

/// One utterance to evaluate: its text, the recording of it, and who speaks it.
public struct EvaluationUtterance: Sendable, Equatable {
    public var id: String
    public var text: String
    public var recording: URL
    public var speaker: String?

    public init(id: String, text: String, recording: URL, speaker: String? = nil) {
        self.id = id; self.text = text; self.recording = recording; self.speaker = speaker
    }
}

extension VoiceScorer {
    /// Speaks each utterance with `speak` (text, speaker → audio) and scores it against its recording.
    /// `synthesizedFolder`: where to keep the synthesized WAVs (named after the recordings), if given.
    /// `progress` gets (done, total, score) after each utterance.
    public static func evaluate(_ utterances: [EvaluationUtterance], synthesizedFolder: URL? = nil,
                                speak: (EvaluationUtterance) throws -> MonoAudio,
                                progress: (Int, Int, NamedScore) -> Void = { _, _, _ in }) throws -> [NamedScore] {
        guard !utterances.isEmpty else { throw EvaluationError.nothingToScore("no utterances to evaluate") }
        var out: [NamedScore] = []
        for (i, utterance) in utterances.enumerated() {
            let recorded: MonoAudio
            do { recorded = try AudioFile.read(utterance.recording) } catch {
                throw EvaluationError.unreadable("\(utterance.id): cannot read the recording \(utterance.recording.path): \(error)")
            }
            // Scored as it is delivered: a 16-bit WAV (what `synthesize`, `--save-dir` and the scorer
            // read). Near-silent float samples that round to zero change the envelope of quiet frames:
            // scoring the floats read 0.39 dB higher than mcd.py on voices/demo.
            let spoken = try speak(utterance)
            let synthesized = MonoAudio(samples: PCM16.quantize(spoken.samples).map(PCM16.value), sampleRate: spoken.sampleRate)
            if let synthesizedFolder {
                do {
                    try FileManager.default.createDirectory(at: synthesizedFolder, withIntermediateDirectories: true)
                    try AudioFile.write(synthesized.samples, sampleRate: synthesized.sampleRate,
                                        to: synthesizedFolder.appendingPathComponent(utterance.recording.lastPathComponent),
                                        format: .pcm16)
                } catch { throw EvaluationError.unreadable("cannot write into \(synthesizedFolder.path): \(error)") }
            }
            let score = try score(synthesized: synthesized, recorded: recorded, name: utterance.id)
            let named = NamedScore(name: utterance.id, score: score)
            out.append(named)
            progress(i + 1, utterances.count, named)
        }
        return out
    }
}
