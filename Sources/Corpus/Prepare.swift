import Cores
import Foundation
import Audio
import Features

/// How many utterances of each speaker go to the validation split.
public enum ValidationSize: Sendable, Equatable {
    /// A fraction of each speaker's utterances, rounded; at least one when the speaker has two or more.
    case fraction(Double)
    /// This many per speaker (at most all but one).
    case count(Int)
}

public struct PrepareOptions: Sendable {
    public var sampleRate = 22050
    public var nFFT = 1024
    public var hopLength = 256
    public var winLength = 1024
    /// Speaker name for Biaobei/LJSpeech corpora (default: the corpus folder's name).
    public var speaker: String?
    public var validation = ValidationSize.fraction(0.02)
    /// Seeds the split.
    public var seed: UInt64 = 1234
    /// Utterances processed in parallel.
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    public init() {}

    var spectrogramConfig: SpectrogramConfig {
        SpectrogramConfig(sampleRate: sampleRate, nFFT: nFFT, hopLength: hopLength, winLength: winLength)
    }
}

public struct PrepareReport: Sendable {
    public let source: String
    public let speakers: [SpeakerRecord]
    /// Utterances the corpus's labels yielded.
    public let imported: Int
    /// Resampled and analysed by this run.
    public let prepared: Int
    /// Already up to date (source size and mtime unchanged), reused.
    public let reused: Int
    /// Label entries skipped or warned about, and utterances whose audio could not be used.
    public let issues: [ImportIssue]
    /// Utterances of this run's speakers now in the manifest, per split.
    public let train: Int
    public let validation: Int
    /// Stale cache files of this run's speakers that were removed.
    public let removedFiles: Int
    /// Audio seconds of this run's speakers in the manifest.
    public let audioSeconds: Double
    public let seconds: Double
}

/// `vits prepare`: import a corpus, resample once, cache WAV + spectrogram per utterance, and
/// (re)write the folder's manifest, split lists, speakers and inventory.
///
/// Incremental and interruption-safe: an utterance's spec file is written last (after its WAV) and
/// records the source file's size and mtime and the audio parameters in its metadata, so it is the
/// proof that the utterance is done; a re-run skips utterances whose spec metadata still matches.
/// Every file is written to a temporary name and renamed; temporaries left by a killed run are
/// removed at the start. The manifest and lists are rebuilt at the end, each atomically.
public enum Preparer {
    public static func prepare(_ source: CorpusSource, into folderURL: URL, options: PrepareOptions,
                               progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws(CorpusError) -> PrepareReport {
        let start = Date()
        let config = options.spectrogramConfig
        do { try config.validate() } catch { throw .invalidArgument(error.description) }
        guard AudioFile.supportedSampleRates.contains(options.sampleRate) else {
            throw .invalidArgument("sample rate \(options.sampleRate) Hz is outside \(AudioFile.supportedSampleRates)")
        }
        switch options.validation {
        case .fraction(let f) where !(f >= 0 && f < 1):
            throw .invalidArgument("validation fraction must be in [0, 1) (got \(f))")
        case .count(let n) where n < 0:
            throw .invalidArgument("validation count must be ≥ 0 (got \(n))")
        default: break
        }
        let spectrogram: LinearSpectrogram
        do { spectrogram = try LinearSpectrogram(config: config) } catch { throw .invalidArgument(error.description) }

        let corpus = try CorpusImporter.load(source, speaker: options.speaker)
        guard !corpus.utterances.isEmpty else {
            let first = corpus.issues.prefix(5).map { "  " + $0.description }.joined(separator: "\n")
            throw .malformed("\(source): no usable utterance\(first.isEmpty ? "" : "; first problems:\n" + first)")
        }

        let folder = DataFolder(folderURL)
        do { try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true) } catch {
            throw .io("\(folder.url.path): cannot create folder: \(error.localizedDescription)")
        }
        let lock = try FolderLock(folder.url)
        defer { withExtendedLifetime(lock) {} }

        // Folder parameters: fixed by the first prepare, every later one must agree.
        let info = DataInfo(sampleRate: options.sampleRate, nFFT: options.nFFT, hopLength: options.hopLength,
                            winLength: options.winLength, inventory: corpus.inventory.version)
        if FileManager.default.fileExists(atPath: folder.infoURL.path) {
            let existing = try folder.readInfo()
            var differences: [String] = []
            if existing.sampleRate != info.sampleRate { differences.append("sample rate \(existing.sampleRate) vs \(info.sampleRate)") }
            if existing.nFFT != info.nFFT { differences.append("n_fft \(existing.nFFT) vs \(info.nFFT)") }
            if existing.hopLength != info.hopLength { differences.append("hop length \(existing.hopLength) vs \(info.hopLength)") }
            if existing.winLength != info.winLength { differences.append("win length \(existing.winLength) vs \(info.winLength)") }
            if existing.inventory != info.inventory { differences.append("inventory \(existing.inventory) vs \(info.inventory)") }
            guard differences.isEmpty else {
                throw .invalidArgument("\(folder.url.path) was prepared with other parameters (folder vs this run: \(differences.joined(separator: ", "))); use another --out or the folder's parameters")
            }
            let inventory = try folder.readInventory()
            guard inventory == corpus.inventory else {
                throw .malformed("\(folder.inventoryURL.path) differs from the built-in inventory \(corpus.inventory.version); it was edited or written by another version")
            }
        } else {
            try folder.write(json: corpus.inventory, to: folder.inventoryURL)
            try folder.write(json: info, to: folder.infoURL)
        }

        // Speakers: keep every existing id, append new names.
        var speakers = FileManager.default.fileExists(atPath: folder.speakersURL.path) ? try folder.readSpeakers() : []
        var runSpeakers: [String] = []
        for u in corpus.utterances where !runSpeakers.contains(u.speaker) { runSpeakers.append(u.speaker) }
        for name in runSpeakers {
            if let i = speakers.firstIndex(where: { $0.name == name }) {
                speakers[i].source = source.description
            } else {
                speakers.append(SpeakerRecord(id: (speakers.map(\.id).max() ?? -1) + 1, name: name, source: source.description))
            }
        }
        let speakerID = Dictionary(uniqueKeysWithValues: speakers.map { ($0.name, $0.id) })

        for name in runSpeakers {
            for sub in ["wavs", "specs"] {
                let dir = folder.url.appendingPathComponent(sub).appendingPathComponent(name)
                do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                    throw .io("\(dir.path): cannot create folder: \(error.localizedDescription)")
                }
                removeTemporaries(in: dir)
            }
        }
        removeTemporaries(in: folder.url)

        // The utterances, in parallel.
        let work = corpus.utterances
        let outcomes = Slots<Outcome>(count: work.count)
        let counter = Counter()
        let workers = max(1, min(options.workers, work.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = counter.next(below: work.count) {
                outcomes[i] = process(work[i], folder: folder, info: info, spectrogram: spectrogram)
                progress?(counter.finish(), work.count)
            }
        }

        // Manifest: other speakers' entries kept, this run's speakers replaced.
        var issues = corpus.issues
        var fresh: [ManifestEntry] = []
        var prepared = 0, reused = 0
        for (u, outcome) in zip(work, outcomes.values) {
            switch outcome {
            case .failed(let message):
                issues.append(ImportIssue(file: u.labelFile, line: u.labelLine, id: u.id, message: message, skipped: true))
            case .done(let r):
                if r.reused { reused += 1 } else { prepared += 1 }
                fresh.append(ManifestEntry(
                    id: u.key, utterance: u.id, speaker: u.speaker, speakerID: speakerID[u.speaker] ?? 0, text: u.text,
                    pinyin: u.pinyin, phones: u.phones, tokens: u.tokens, frames: r.frames, samples: r.samples,
                    wav: DataFolder.wavPath(speaker: u.speaker, utterance: u.id),
                    spec: DataFolder.specPath(speaker: u.speaker, utterance: u.id),
                    split: .train, source: u.audio.path, sourceRate: r.sourceRate, sourceLine: u.origin,
                    sourceClipped: r.sourceClipped))
            case nil:
                issues.append(ImportIssue(file: u.labelFile, line: u.labelLine, id: u.id, message: "not processed", skipped: true))
            }
        }
        assignSplit(&fresh, size: options.validation, seed: options.seed)

        let runSet = Set(runSpeakers)
        var manifest = FileManager.default.fileExists(atPath: folder.manifestURL.path) ? try folder.readManifest() : []
        manifest.removeAll { runSet.contains($0.speaker) }
        manifest += fresh
        manifest.sort { ($0.speakerID, $0.utterance) < ($1.speakerID, $1.utterance) }

        // Cache files of this run's speakers that no entry uses any more (a shrunken corpus).
        var removed = 0
        let keep = Set(fresh.flatMap { [$0.wav, $0.spec] })
        for name in runSpeakers {
            for sub in ["wavs", "specs"] {
                let dir = "\(sub)/\(name)"
                for file in (try? FileManager.default.contentsOfDirectory(atPath: folder.file(dir).path)) ?? []
                where !keep.contains("\(dir)/\(file)") {
                    if (try? FileManager.default.removeItem(at: folder.file("\(dir)/\(file)"))) != nil { removed += 1 }
                }
            }
        }

        var recorded = try folder.readIssues()
        recorded.removeAll { $0.source == source.description }
        recorded += issues.map { RecordedIssue(source: source.description, issue: $0) }

        try folder.write(jsonLines: manifest, to: folder.manifestURL)
        try folder.write(lines: manifest.filter { $0.split == .train }.map(\.id), to: folder.splitURL(.train))
        try folder.write(lines: manifest.filter { $0.split == .validation }.map(\.id), to: folder.splitURL(.validation))
        try folder.write(json: SpeakerFile(speakers: speakers), to: folder.speakersURL)
        try folder.write(jsonLines: recorded, to: folder.issuesURL)

        return PrepareReport(
            source: source.description, speakers: speakers.filter { runSet.contains($0.name) },
            imported: work.count, prepared: prepared, reused: reused, issues: issues,
            train: fresh.filter { $0.split == .train }.count, validation: fresh.filter { $0.split == .validation }.count,
            removedFiles: removed,
            audioSeconds: Double(fresh.reduce(0) { $0 + $1.samples }) / Double(options.sampleRate),
            seconds: Date().timeIntervalSince(start))
    }

    /// Per speaker: utterances ordered by a hash of (seed, utterance id); the first k are validation.
    /// The choice depends only on the seed and the speaker's own ids, not on other speakers or order.
    static func assignSplit(_ entries: inout [ManifestEntry], size: ValidationSize, seed: UInt64) {
        var bySpeaker: [String: [Int]] = [:]
        for (i, e) in entries.enumerated() { bySpeaker[e.speaker, default: []].append(i) }
        for (_, indices) in bySpeaker {
            let n = indices.count
            var k: Int
            switch size {
            case .fraction(let f): k = f > 0 && n >= 2 ? max(1, Int((f * Double(n)).rounded())) : 0
            case .count(let c): k = c
            }
            k = min(k, n - 1)
            guard k > 0 else { continue }
            let ranked = indices.sorted {
                let a = splitKey(entries[$0].utterance, seed), b = splitKey(entries[$1].utterance, seed)
                return a != b ? a < b : entries[$0].utterance < entries[$1].utterance
            }
            for i in ranked.prefix(k) { entries[i].split = .validation }
        }
    }

    static func splitKey(_ id: String, _ seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325   // FNV-1a
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        var rng = SplitMix64(seed: seed ^ h)
        return rng.next()
    }

    // MARK: one utterance

    struct Done: Sendable { let frames: Int; let samples: Int; let sourceRate: Int; let sourceClipped: Int; let reused: Bool }
    enum Outcome: Sendable { case done(Done), failed(String) }

    static func process(_ u: SourceUtterance, folder: DataFolder, info: DataInfo, spectrogram: LinearSpectrogram) -> Outcome {
        let wavURL = folder.file(DataFolder.wavPath(speaker: u.speaker, utterance: u.id))
        let specURL = folder.file(DataFolder.specPath(speaker: u.speaker, utterance: u.id))
        guard let stamp = FileStamp(u.audio.path) else { return .failed("audio \(u.audio.path) cannot be read (stat failed)") }
        let expected: [String: String] = [
            "format": CacheFiles.specFormat, "source": u.audio.path, "source_bytes": String(stamp.bytes),
            "source_mtime_ns": String(stamp.mtimeNanoseconds), "sample_rate": String(info.sampleRate),
            "n_fft": String(info.nFFT), "hop_length": String(info.hopLength), "win_length": String(info.winLength),
        ]
        // Up to date? The spec file is written after the WAV, so its presence with matching metadata
        // means both are complete; the WAV's size is checked too (it could have been deleted).
        if let meta = CacheFiles.specMetadata(specURL), expected.allSatisfy({ meta[$0.key] == $0.value }),
           let frames = meta["frames"].flatMap(Int.init), let samples = meta["samples"].flatMap(Int.init),
           let sourceRate = meta["source_rate"].flatMap(Int.init), let clipped = meta["source_clipped"].flatMap(Int.init),
           FileStamp(wavURL.path)?.bytes == 44 + 2 * samples {
            return .done(Done(frames: frames, samples: samples, sourceRate: sourceRate, sourceClipped: clipped, reused: true))
        }

        let audio: MonoAudio
        do { audio = try AudioFile.read(u.audio) } catch { return .failed(error.description) }
        var samples = audio.samples
        if audio.sampleRate != info.sampleRate {
            do { samples = try Resampler.resample(samples, from: audio.sampleRate, to: info.sampleRate) } catch {
                return .failed("\(u.audio.path): \(error.description)")
            }
        }
        // The spectrogram is computed from exactly what a reader of the WAV gets (k / 32768).
        let (pcm, values) = CacheFiles.quantize(samples)
        let spec: Spectrogram
        do { spec = try spectrogram.compute(values) } catch {
            return .failed("\(u.audio.path): \(error.description)")
        }
        var meta = expected
        meta["frames"] = String(spec.frames)
        meta["samples"] = String(pcm.count)
        meta["source_rate"] = String(audio.sampleRate)
        let clipped = AudioStats(audio.samples, fullScale: AudioStats.sourceFullScale).clippedSamples
        meta["source_clipped"] = String(clipped)
        do {
            try CacheFiles.writeWAV(pcm, sampleRate: info.sampleRate, to: wavURL)
            try CacheFiles.writeSpec(spec.values, rows: spec.rows, frames: spec.frames, metadata: meta, to: specURL)
        } catch { return .failed(error.description) }
        return .done(Done(frames: spec.frames, samples: pcm.count, sourceRate: audio.sampleRate, sourceClipped: clipped, reused: false))
    }

    static func removeTemporaries(in dir: URL) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where isTemporaryName(name) {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
    }
}

/// Result slots written by worker threads, each index by exactly one worker.
final class Slots<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = [T?](repeating: nil, count: count) }
    subscript(i: Int) -> T? {
        get { lock.withLock { storage[i] } }
        set { lock.withLock { storage[i] = newValue } }
    }
    var values: [T?] { lock.withLock { storage } }
}

/// Hands out work indices and counts finished items across threads.
final class Counter: @unchecked Sendable {
    private var nextIndex = 0, finished = 0
    private let lock = NSLock()
    func next(below limit: Int) -> Int? {
        lock.withLock {
            guard nextIndex < limit else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }
    func finish() -> Int { lock.withLock { finished += 1; return finished } }
}
