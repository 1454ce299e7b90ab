import Foundation
import Audio

/// Objective figures of one synthesized utterance against the recording of the same text.
public struct PairScore: Sendable, Equatable, Codable {
    /// Mel-cepstral distortion along the DTW path, dB (c1…c24).
    public var mcdDecibels: Double
    /// RMS of 1200·log2(F0_synth / F0_ref) over path frames voiced in both, cents (nil: none voiced in both).
    public var logF0RMSECents: Double?
    /// Fraction of path frames where exactly one side is voiced.
    public var voicingDisagreement: Double
    /// Synthesized seconds / recorded seconds.
    public var durationRatio: Double

    public init(mcdDecibels: Double, logF0RMSECents: Double?, voicingDisagreement: Double, durationRatio: Double) {
        self.mcdDecibels = mcdDecibels
        self.logF0RMSECents = logF0RMSECents
        self.voicingDisagreement = voicingDisagreement
        self.durationRatio = durationRatio
    }

    enum CodingKeys: String, CodingKey {
        case mcdDecibels = "mcd_db", logF0RMSECents = "logf0_rmse_cents", voicingDisagreement = "vuv_err"
        case durationRatio = "dur_ratio"
    }
}

/// A named score (file name or utterance id).
public struct NamedScore: Sendable, Equatable {
    public var name: String
    public var score: PairScore
    public init(name: String, score: PairScore) { self.name = name; self.score = score }
}

/// Means over utterances (F0 RMSE over those that have one).
public struct ScoreSummary: Sendable, Equatable {
    public var count: Int
    public var mean: PairScore

    public init(_ scores: [PairScore]) {
        count = scores.count
        let n = Double(max(1, scores.count))
        let f0 = scores.compactMap(\.logF0RMSECents)
        mean = PairScore(mcdDecibels: scores.map(\.mcdDecibels).reduce(0, +) / n,
                         logF0RMSECents: f0.isEmpty ? nil : f0.reduce(0, +) / Double(f0.count),
                         voicingDisagreement: scores.map(\.voicingDisagreement).reduce(0, +) / n,
                         durationRatio: scores.map(\.durationRatio).reduce(0, +) / n)
    }
}

/// MCD-DTW, log-F0 RMSE, V/UV disagreement and duration ratio of synthesized speech against a
/// recording, by the definition of ESPnet's evaluate_mcd as the acceptance scorer runs it:
/// c0 dropped, DTW over every 2nd 5 ms frame on Euclidean distance,
/// MCD = (10 / ln 10)·mean over the path of sqrt(2·Σ_d (c_s,d − c_r,d)²).
public enum VoiceScorer {
    /// Every `frameStride`-th frame enters the alignment (the scorer's speed-up).
    public static let frameStride = 2

    public static func score(synthesized: SpeechFeatures, recorded: SpeechFeatures) -> PairScore {
        let order = synthesized.order, stride = frameStride
        func decimated(_ f: SpeechFeatures) -> (mc: [Double], f0: [Double]) {
            var mc: [Double] = [], f0: [Double] = []
            var frame = 0
            while frame < f.frames {
                let row = frame * (order + 1)
                mc.append(contentsOf: f.melCepstrum[(row + 1)...(row + order)])
                f0.append(f.f0[frame])
                frame += stride
            }
            return (mc, f0)
        }
        let s = decimated(synthesized), r = decimated(recorded)
        let path = DynamicTimeWarping.path(s.mc, r.mc, dimension: order)
        var distortion = 0.0, disagreements = 0, squaredCents = 0.0, voicedBoth = 0
        for (i, j) in path {
            var sum = 0.0
            for k in 0..<order {
                let d = s.mc[i * order + k] - r.mc[j * order + k]
                sum += d * d
            }
            distortion += (2 * sum).squareRoot()
            let fs = s.f0[i], fr = r.f0[j]
            if (fs > 0) != (fr > 0) { disagreements += 1 }
            if fs > 0 && fr > 0 {
                let cents = 1200 * Foundation.log2(fs / fr)
                squaredCents += cents * cents
                voicedBoth += 1
            }
        }
        let count = Double(max(1, path.count))
        return PairScore(mcdDecibels: 10 / Foundation.log(10) * distortion / count,
                         logF0RMSECents: voicedBoth > 0 ? (squaredCents / Double(voicedBoth)).squareRoot() : nil,
                         voicingDisagreement: Double(disagreements) / count,
                         durationRatio: synthesized.duration / recorded.duration)
    }

    public static func score(synthesized: MonoAudio, recorded: MonoAudio, name: String = "pair") throws -> PairScore {
        let s = try SpeechAnalysis.analyze(synthesized, name: "\(name) (synthesized)")
        let r = try SpeechAnalysis.analyze(recorded, name: "\(name) (recorded)")
        return score(synthesized: s, recorded: r)
    }

    public static func score(synthesizedFile: URL, recordedFile: URL) throws -> PairScore {
        func read(_ url: URL) throws -> MonoAudio {
            do { return try AudioFile.read(url) } catch { throw EvaluationError.unreadable("\(url.path): \(error)") }
        }
        return try score(synthesized: read(synthesizedFile), recorded: read(recordedFile),
                         name: synthesizedFile.lastPathComponent)
    }

    /// The WAVs of `synthesizedFolder` that have a namesake in `recordedFolder`, sorted by name, scored.
    /// `progress` gets (done, total, name) after each pair.
    public static func scoreFolders(synthesized synthesizedFolder: URL, recorded recordedFolder: URL,
                                    progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> [NamedScore] {
        let fm = FileManager.default
        for folder in [synthesizedFolder, recordedFolder] {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EvaluationError.unreadable("\(folder.path): no such folder")
            }
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: synthesizedFolder.path) } catch {
            throw EvaluationError.unreadable("cannot list \(synthesizedFolder.path): \(error.localizedDescription)")
        }
        let pairs = names.filter { $0.lowercased().hasSuffix(".wav") }.sorted()
            .filter { fm.fileExists(atPath: recordedFolder.appendingPathComponent($0).path) }
        guard !pairs.isEmpty else {
            throw EvaluationError.nothingToScore("no WAV in \(synthesizedFolder.path) has a namesake in \(recordedFolder.path)")
        }
        var out: [NamedScore] = []
        for (i, name) in pairs.enumerated() {
            let score = try score(synthesizedFile: synthesizedFolder.appendingPathComponent(name),
                                  recordedFile: recordedFolder.appendingPathComponent(name))
            out.append(NamedScore(name: name, score: score))
            progress(i + 1, pairs.count, name)
        }
        return out
    }
}
