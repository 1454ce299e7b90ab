import Foundation
import Audio
import Features
import Formats

/// Level and clipping of one waveform, in one pass.
public struct AudioStats: Sendable, Equatable {
    /// |x| at or above this counts as full scale in a 16-bit WAV (32767/32768).
    public static let pcmFullScale: Float = 32767 / 32768
    /// The same for source audio of any bit depth.
    public static let sourceFullScale: Float = 0.9999
    /// Runs of at least this many full-scale samples are clipping (a single peak at full scale is not).
    public static let clipRun = 3

    public let peak: Float
    /// RMS level in dBFS (−inf for digital silence).
    public let rmsDBFS: Double
    /// Samples inside runs of ≥ `clipRun` full-scale samples.
    public let clippedSamples: Int

    public init(_ x: [Float], fullScale: Float) {
        var peak: Float = 0, energy: Double = 0, clipped = 0, run = 0
        x.withUnsafeBufferPointer { p in
            for i in 0..<p.count {
                let a = abs(p[i])
                peak = max(peak, a)
                energy += Double(a) * Double(a)
                if a >= fullScale {
                    run &+= 1
                } else {
                    if run >= Self.clipRun { clipped &+= run }
                    run = 0
                }
            }
        }
        if run >= Self.clipRun { clipped &+= run }
        self.peak = peak
        rmsDBFS = x.isEmpty || energy == 0 ? -.infinity : 10 * log10(energy / Double(x.count))
        clippedSamples = clipped
    }
}

public struct DoctorOptions: Sendable {
    /// Bucket boundaries (frames) of the sampler; utterances outside are reported as dropped.
    public var boundaries = BucketSampler.referenceBoundaries
    /// Offenders listed per check.
    public var maxOffenders = 5
    /// RMS below this is silent.
    public var silenceDBFS = -60.0
    /// Speaking rate (speech tokens per second) outside [median / t, median · t] of the speaker is an outlier.
    public var rateTolerance = 2.0
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Raw corpora only: the rate and hop used to estimate frames for the sampler check.
    public var sampleRate = 22050
    public var hopLength = 256
    public var nFFT = 1024
    public init() {}
}

public enum Severity: String, Sendable, Codable { case fatal, warning }

public struct DoctorCheck: Sendable, Codable, Equatable {
    public let name: String
    public let severity: Severity
    public let description: String
    public var count: Int
    /// The first offenders (at most `maxOffenders`), one line each.
    public var offenders: [String]
}

public struct DoctorReport: Sendable, Codable {
    public let target: String
    public let utterances: Int
    public let speakers: Int
    public let audioSeconds: Double
    public let checks: [DoctorCheck]

    enum CodingKeys: String, CodingKey {
        case target, utterances, speakers, checks
        case audioSeconds = "audio_seconds"
    }

    /// True when a fatal check found something.
    public var fatal: Bool { checks.contains { $0.severity == .fatal && $0.count > 0 } }

    public func check(_ name: String) -> DoctorCheck? { checks.first { $0.name == name } }
}

/// `vits doctor`: everything worth knowing about a data folder (or a raw corpus) before a long run.
public enum Doctor {
    /// The checks, in report order: name, severity, what it means.
    public static let catalogue: [(name: String, severity: Severity, description: String)] = [
        ("layout", .fatal, "data folder files missing or malformed (data.json, inventory.json, speakers.json, manifest.jsonl, split lists)"),
        ("empty", .fatal, "no utterance to train on (empty manifest or training split)"),
        ("unreadable-audio", .fatal, "WAV missing or unreadable"),
        ("unreadable-spec", .fatal, "spectrogram cache missing, unreadable, or not [n_fft/2+1, frames]"),
        ("sample-rate", .fatal, "WAV sample rate or length differs from the data folder / manifest"),
        ("silent", .fatal, "silent audio (RMS below the silence level)"),
        ("unknown-symbols", .fatal, "tokens outside the inventory, or phones that do not match their ids"),
        ("duplicate-ids", .fatal, "the same utterance id more than once"),
        ("split", .fatal, "split lists naming unknown ids, an id in both lists, or utterances in neither"),
        ("speakers", .fatal, "speaker ids not in speakers.json"),
        ("import-issues", .warning, "label entries skipped or warned about at import (file:line)"),
        ("source-sample-rate", .warning, "source audio at another rate than most of its speaker's files (resampled, but suspicious)"),
        ("clipped", .warning, "clipped audio (runs of ≥ 3 samples at full scale)"),
        ("speaking-rate", .warning, "tokens per second far from the speaker's median (label–audio mismatch?)"),
        ("duplicate-texts", .warning, "the same text twice for one speaker"),
        ("sampler-drops", .warning, "utterances the bucket sampler drops (length outside the boundaries)"),
    ]

    /// What the doctor learns about one utterance.
    struct Facts: Sendable {
        var key: String
        var speaker: String
        var text: String
        var tokens: [Int]
        var phones: [String]
        var where_: String          // file for messages
        var samples = 0
        var sampleRate = 0
        var frames = 0
        var stats: AudioStats?
        var sourceRate = 0
        var sourceClipped = 0
        var problems: [(check: String, message: String)] = []
    }

    final class Collector {
        var checks: [String: DoctorCheck] = [:]
        let limit: Int
        init(limit: Int) {
            self.limit = limit
            for c in Doctor.catalogue {
                checks[c.name] = DoctorCheck(name: c.name, severity: c.severity, description: c.description, count: 0, offenders: [])
            }
        }
        func add(_ name: String, _ offender: String) {
            guard var c = checks[name] else { return }
            c.count += 1
            if c.offenders.count < limit { c.offenders.append(offender) }
            checks[name] = c
        }
        var ordered: [DoctorCheck] { Doctor.catalogue.compactMap { checks[$0.name] } }
    }

    // MARK: data folder

    public static func examine(dataFolder url: URL, options: DoctorOptions = DoctorOptions()) -> DoctorReport {
        let folder = DataFolder(url)
        let out = Collector(limit: options.maxOffenders)
        func layoutFailure(_ error: CorpusError) -> DoctorReport {
            out.add("layout", error.description)
            return DoctorReport(target: folder.url.path, utterances: 0, speakers: 0, audioSeconds: 0, checks: out.ordered)
        }
        let info: DataInfo, inventory: SymbolInventory, speakers: [SpeakerRecord], manifest: [ManifestEntry]
        do {
            info = try folder.readInfo()
            inventory = try folder.readInventory()
            speakers = try folder.readSpeakers()
            manifest = try folder.readManifest()
        } catch { return layoutFailure(error) }
        if let builtIn = SymbolInventory.builtIn(version: inventory.version), builtIn != inventory {
            out.add("layout", "\(folder.inventoryURL.path): differs from the built-in inventory \(inventory.version)")
        }
        if inventory.version != info.inventory {
            out.add("layout", "\(folder.inventoryURL.path): version \(inventory.version), data.json says \(info.inventory)")
        }
        if manifest.isEmpty { out.add("empty", "\(folder.manifestURL.path) has no entries") }

        // Split lists.
        var listed: [String: Split] = [:]
        let ids = Set(manifest.map(\.id))
        for split in Split.allCases {
            let listURL = folder.splitURL(split)
            let lines: [(Int, String)]
            do { lines = try CorpusImporter.readLines(listURL) } catch {
                if split == .validation, case .missing = error { continue }
                out.add("layout", error.description); continue
            }
            if split == .train && lines.isEmpty { out.add("empty", "\(listURL.path) is empty: nothing to train on") }
            for (number, line) in lines {
                let id = line.trimmingCharacters(in: .whitespaces)
                if !ids.contains(id) { out.add("split", "\(listURL.path):\(number): '\(id)' is not in the manifest") }
                if let other = listed[id], other != split { out.add("split", "'\(id)' is in both \(other.rawValue).txt and \(split.rawValue).txt") }
                listed[id] = split
            }
        }
        for e in manifest where listed[e.id] == nil { out.add("split", "'\(e.id)' is in the manifest but in neither split list") }

        // Speakers.
        let speakerByID = Dictionary(speakers.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        for e in manifest where speakerByID[e.speakerID] != e.speaker {
            out.add("speakers", "\(e.id): speaker_id \(e.speakerID) is '\(speakerByID[e.speakerID] ?? "nobody")' in speakers.json, the manifest says '\(e.speaker)'")
        }

        // Import issues recorded by prepare.
        if let recorded = try? folder.readIssues() {
            for r in recorded { out.add("import-issues", r.issue.description) }
        }

        // Per-utterance audio and cache checks, in parallel.
        let slots = Slots<Facts>(count: manifest.count)
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.workers, manifest.count))) { _ in
            while let i = counter.next(below: manifest.count) {
                slots[i] = dataFacts(manifest[i], folder: folder, info: info)
            }
        }
        let facts = slots.values.compactMap { $0 }
        let report = finish(facts: facts, inventory: inventory, frameOf: { $0.frames }, options: options, into: out)
        return DoctorReport(target: folder.url.path, utterances: manifest.count, speakers: Set(manifest.map(\.speaker)).count,
                            audioSeconds: report, checks: out.ordered)
    }

    static func dataFacts(_ e: ManifestEntry, folder: DataFolder, info: DataInfo) -> Facts {
        var f = Facts(key: e.id, speaker: e.speaker, text: e.text, tokens: e.tokens, phones: e.phones, where_: e.wav)
        f.frames = e.frames
        f.samples = e.samples
        f.sampleRate = info.sampleRate
        f.sourceRate = e.sourceRate
        f.sourceClipped = e.sourceClipped
        let wavURL = folder.file(e.wav)
        do {
            let audio = try AudioFile.read(wavURL)
            f.stats = AudioStats(audio.samples, fullScale: AudioStats.pcmFullScale)
            if audio.sampleRate != info.sampleRate {
                f.problems.append(("sample-rate", "\(e.wav): \(audio.sampleRate) Hz, the data folder is \(info.sampleRate) Hz"))
            } else if audio.samples.count != e.samples {
                f.problems.append(("sample-rate", "\(e.wav): \(audio.samples.count) samples, the manifest says \(e.samples)"))
            }
        } catch {
            f.problems.append(("unreadable-audio", error.description))
        }
        let specURL = folder.file(e.spec)
        do {
            let file = try SafeTensorsFileHeader(specURL)
            if file.shape != [info.channels, e.frames] {
                f.problems.append(("unreadable-spec", "\(e.spec): spec is \(file.shape), expected [\(info.channels), \(e.frames)]"))
            }
        } catch {
            f.problems.append(("unreadable-spec", error.description))
        }
        return f
    }

    // MARK: raw corpus

    /// Checks a corpus before `vits prepare`: labels (import issues), source audio (readable,
    /// silent, clipped, rates), speaking rate, symbols, duplicates, and the sampler's drops with
    /// frames estimated at `options.sampleRate` / `options.hopLength`.
    public static func examine(source: CorpusSource, speaker: String? = nil,
                               options: DoctorOptions = DoctorOptions()) throws(CorpusError) -> DoctorReport {
        let corpus = try CorpusImporter.load(source, speaker: speaker)
        let out = Collector(limit: options.maxOffenders)
        for issue in corpus.issues { out.add("import-issues", issue.description) }
        if corpus.utterances.isEmpty { out.add("empty", "\(source): no usable utterance") }
        let config = SpectrogramConfig(sampleRate: options.sampleRate, nFFT: options.nFFT, hopLength: options.hopLength,
                                       winLength: options.nFFT)
        let work = corpus.utterances
        let slots = Slots<Facts>(count: work.count)
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.workers, work.count))) { _ in
            while let i = counter.next(below: work.count) {
                let u = work[i]
                var f = Facts(key: u.key, speaker: u.speaker, text: u.text, tokens: u.tokens, phones: u.phones, where_: u.audio.path)
                do throws(AudioError) {
                    let audio = try AudioFile.read(u.audio)
                    f.stats = AudioStats(audio.samples, fullScale: AudioStats.sourceFullScale)
                    f.sourceRate = audio.sampleRate
                    f.sampleRate = audio.sampleRate
                    f.samples = audio.samples.count
                    let resampled = Int((Double(audio.samples.count) * Double(options.sampleRate) / Double(audio.sampleRate)).rounded())
                    f.frames = resampled > config.padding ? config.frameCount(samples: resampled) : 0
                } catch {
                    f.problems.append(("unreadable-audio", error.description))
                }
                slots[i] = f
            }
        }
        let seconds = finish(facts: slots.values.compactMap { $0 }, inventory: corpus.inventory,
                             frameOf: { $0.frames }, options: options, into: out)
        return DoctorReport(target: source.description, utterances: work.count, speakers: Set(work.map(\.speaker)).count,
                            audioSeconds: seconds, checks: out.ordered)
    }

    // MARK: shared checks

    /// Runs the checks common to both targets; returns the audio seconds.
    static func finish(facts: [Facts], inventory: SymbolInventory, frameOf: (Facts) -> Int,
                       options: DoctorOptions, into out: Collector) -> Double {
        var seconds = 0.0
        let nonSpeech = inventory.isNonSpeech
        var seenIDs = Set<String>()
        var textsBySpeaker: [String: [String: String]] = [:]
        var rates: [String: [(String, Double)]] = [:]
        var sourceRates: [String: [Int: Int]] = [:]
        let lower = options.boundaries.first ?? 0, upper = options.boundaries.last ?? Int.max

        for f in facts {
            for p in f.problems { out.add(p.check, p.message) }
            if !seenIDs.insert(f.key).inserted { out.add("duplicate-ids", f.key) }
            if let earlier = textsBySpeaker[f.speaker]?[f.text] {
                out.add("duplicate-texts", "\(f.key) has the same text as \(earlier): \(f.text)")
            } else {
                textsBySpeaker[f.speaker, default: [:]][f.text] = f.key
            }
            // symbols
            var bad: String?
            if f.tokens.count != f.phones.count { bad = "\(f.tokens.count) token ids but \(f.phones.count) phones" }
            for (k, t) in f.tokens.enumerated() where bad == nil {
                if t < 0 || t >= inventory.count { bad = "token id \(t) is outside 0..<\(inventory.count) (\(inventory.version))" }
                else if k < f.phones.count, inventory.symbols[t] != f.phones[k] {
                    bad = "id \(t) is '\(inventory.symbols[t])' in \(inventory.version) but the phone is '\(f.phones[k])'"
                }
            }
            if let bad { out.add("unknown-symbols", "\(f.key): \(bad)") }

            guard let stats = f.stats else { continue }
            let duration = f.sampleRate > 0 ? Double(f.samples) / Double(f.sampleRate) : 0
            seconds += duration
            if stats.rmsDBFS < options.silenceDBFS {
                out.add("silent", "\(f.key) (\(f.where_)): RMS \(format(stats.rmsDBFS)) dBFS, peak \(format(Double(stats.peak)))")
            }
            let clipped = max(stats.clippedSamples, f.sourceClipped)
            if clipped > 0 { out.add("clipped", "\(f.key) (\(f.where_)): \(clipped) samples in full-scale runs") }
            if f.sourceRate > 0 { sourceRates[f.speaker, default: [:]][f.sourceRate, default: 0] += 1 }
            let speech = f.tokens.filter { $0 >= 0 && $0 < nonSpeech.count && !nonSpeech[$0] }.count
            if duration > 0 { rates[f.speaker, default: []].append((f.key, Double(speech) / duration)) }
            let frames = frameOf(f)
            if frames <= lower || frames > upper {
                out.add("sampler-drops", "\(f.key): \(frames) frames (\(format(duration)) s), outside (\(lower), \(upper)]")
            }
        }
        // Rates compared per speaker with its most common source rate / median speaking rate.
        let common = sourceRates.mapValues { counts in counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key ?? 0 }
        for f in facts where f.stats != nil && f.sourceRate > 0 {
            if let c = common[f.speaker], f.sourceRate != c {
                out.add("source-sample-rate", "\(f.key): source \(f.sourceRate) Hz, most of \(f.speaker)'s files are \(c) Hz")
            }
        }
        for (speaker, list) in rates.sorted(by: { $0.key < $1.key }) where list.count >= 3 {
            let sorted = list.map(\.1).sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            guard median > 0 else { continue }
            for (key, rate) in list where rate > median * options.rateTolerance || rate < median / options.rateTolerance {
                out.add("speaking-rate", "\(key): \(format(rate)) tokens/s, \(speaker)'s median is \(format(median))")
            }
        }
        return seconds
    }

    static func format(_ x: Double) -> String {
        x.isFinite ? String(format: "%.2f", x) : (x < 0 ? "-inf" : "inf")
    }
}

/// Just the shape of `spec` in a cache file (header parsed and validated, data not read).
struct SafeTensorsFileHeader {
    let shape: [Int]
    init(_ url: URL) throws(CorpusError) {
        do {
            let file = try SafeTensorsFile(contentsOf: url, mapped: true)
            shape = try file.info(named: "spec").shape
        } catch {
            throw .malformed("\(url.path): \(error)")
        }
    }
}
