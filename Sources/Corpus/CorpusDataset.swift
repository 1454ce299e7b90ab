import Foundation
import Audio

extension BucketSampler {
    /// The reference VITS boundaries (frames): utterances of ≤ 32 or > 1000 frames are dropped.
    public static let referenceBoundaries = [32, 300, 400, 500, 600, 700, 800, 900, 1000]
}

/// One utterance loaded from a data folder.
public struct CorpusItem: Sendable {
    public let index: Int
    public let id: String
    /// Token ids (with blanks interspersed when the dataset has `addBlank`).
    public let tokens: [Int32]
    /// Linear spectrogram, row-major [channels, frames].
    public let spec: [Float]
    public let channels: Int
    public let frames: Int
    /// Waveform, k / 32768.
    public let wav: [Float]
    public let speakerID: Int
}

/// A padded batch, the reference `TextAudioCollate` (multi-speaker variant): items sorted by
/// spectrogram length, descending (stable: ties keep their order in the request); everything
/// zero-padded; plain row-major arrays with their shapes.
public struct Batch: Sendable {
    public let size: Int
    /// Dataset indices in batch order.
    public let indices: [Int]
    public let ids: [String]
    /// [size, maxTokens]
    public let tokens: [Int32]
    public let tokenLengths: [Int32]
    public let maxTokens: Int
    /// [size, channels, maxFrames]
    public let spec: [Float]
    public let specLengths: [Int32]
    public let channels: Int
    public let maxFrames: Int
    /// [size, 1, maxSamples]
    public let wav: [Float]
    public let wavLengths: [Int32]
    public let maxSamples: Int
    /// [size]
    public let speakerIDs: [Int32]

    public var tokensShape: [Int] { [size, maxTokens] }
    public var specShape: [Int] { [size, channels, maxFrames] }
    public var wavShape: [Int] { [size, 1, maxSamples] }
}

/// The utterances of one split of a prepared data folder, loaded on demand.
public final class CorpusDataset: Sendable {
    public let folder: DataFolder
    public let info: DataInfo
    public let inventory: SymbolInventory
    public let speakers: [SpeakerRecord]
    /// Entries of the split, in the order of its list file.
    public let entries: [ManifestEntry]
    /// Intersperse blank (id 0) between tokens and at both ends, as the reference's `add_blank`.
    public let addBlank: Bool

    /// `split` nil = every utterance of the manifest.
    public init(directory: URL, split: Split? = .train, addBlank: Bool = false) throws(CorpusError) {
        folder = DataFolder(directory)
        info = try folder.readInfo()
        inventory = try folder.readInventory()
        speakers = try folder.readSpeakers()
        self.addBlank = addBlank
        let manifest = try folder.readManifest()
        guard let split else { entries = manifest; return }
        var byID: [String: ManifestEntry] = [:]
        for e in manifest { byID[e.id] = e }
        var chosen: [ManifestEntry] = []
        let listURL = folder.splitURL(split)
        for (number, line) in try CorpusImporter.readLines(listURL) {
            let id = line.trimmingCharacters(in: .whitespaces)
            guard let e = byID[id] else { throw .malformed("\(listURL.path):\(number): '\(id)' is not in \(folder.manifestURL.path)") }
            chosen.append(e)
        }
        entries = chosen
    }

    public var count: Int { entries.count }
    /// Spectrogram frames per item: the lengths the bucket sampler groups by.
    public var lengths: [Int] { entries.map(\.frames) }

    /// A bucket sampler over this split (reference boundaries by default).
    public func sampler(batchSize: Int, boundaries: [Int] = BucketSampler.referenceBoundaries, seed: UInt64) throws(CorpusError) -> BucketSampler {
        do { return try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: batchSize, seed: seed) }
        catch let error as CorpusError { throw error }
        catch { throw .invalidArgument("\(error)") }
    }

    /// Token ids of item `i`, with blanks when `addBlank`.
    public func tokens(at i: Int) -> [Int32] {
        let raw = entries[i].tokens
        guard addBlank else { return raw.map { Int32($0) } }
        var out = [Int32](repeating: 0, count: 2 * raw.count + 1)
        for (k, t) in raw.enumerated() { out[2 * k + 1] = Int32(t) }
        return out
    }

    public func item(_ i: Int) throws(CorpusError) -> CorpusItem {
        guard i >= 0, i < entries.count else { throw .invalidArgument("item \(i) is outside 0..<\(entries.count)") }
        let e = entries[i]
        let specURL = folder.file(e.spec), wavURL = folder.file(e.wav)
        let spec = try CacheFiles.readSpec(specURL)
        guard spec.rows == info.channels, spec.frames == e.frames else {
            throw .malformed("\(specURL.path): spec is [\(spec.rows), \(spec.frames)], the manifest says [\(info.channels), \(e.frames)]; re-run vits prepare")
        }
        let audio: MonoAudio
        do { audio = try AudioFile.read(wavURL) } catch { throw .io(error.description) }
        guard audio.sampleRate == info.sampleRate, audio.samples.count == e.samples else {
            throw .malformed("\(wavURL.path): \(audio.samples.count) samples at \(audio.sampleRate) Hz, the manifest says \(e.samples) at \(info.sampleRate) Hz; re-run vits prepare")
        }
        return CorpusItem(index: i, id: e.id, tokens: tokens(at: i), spec: spec.values, channels: spec.rows,
                          frames: spec.frames, wav: audio.samples, speakerID: e.speakerID)
    }

    /// Loads `indices` (in parallel) and pads them into a batch sorted by spectrogram length, descending.
    public func collate(_ indices: [Int]) throws(CorpusError) -> Batch {
        Self.collate(try load(indices))
    }

    /// Loads `indices` in parallel, in that order.
    private func load(_ indices: [Int]) throws(CorpusError) -> [CorpusItem] {
        guard !indices.isEmpty else { throw .invalidArgument("cannot collate an empty batch") }
        let slots = Slots<Result<CorpusItem, CorpusError>>(count: indices.count)
        DispatchQueue.concurrentPerform(iterations: indices.count) { k in
            slots[k] = Result { () throws(CorpusError) in try item(indices[k]) }
        }
        var items: [CorpusItem] = []
        for slot in slots.values {
            switch slot {
            case .success(let item): items.append(item)
            case .failure(let error): throw error
            case nil: throw .io("an item was not loaded")
            }
        }
        return items
    }

    /// One of `parts` equal parts of the batch `indices`, for data-parallel training: the rows
    /// part·n ..< (part+1)·n (n = indices.count / parts) of `collate(indices)` — the same order (by
    /// spectrogram length, descending, stable) and the same padded lengths (the whole batch's
    /// longest tokens, frames and samples) — loading only those items. `rows` says where they sit.
    public func collate(_ indices: [Int], part: Int, of parts: Int) throws(CorpusError) -> (batch: Batch, rows: Range<Int>) {
        guard parts >= 1, part >= 0, part < parts, !indices.isEmpty, indices.count % parts == 0 else {
            throw .invalidArgument("cannot cut a batch of \(indices.count) items into \(parts) equal parts (part \(part))")
        }
        guard indices.allSatisfy({ $0 >= 0 && $0 < entries.count }) else {
            throw .invalidArgument("a batch index is outside 0..<\(entries.count)")
        }
        let ordered = indices.enumerated().sorted { a, b in
            let fa = entries[a.element].frames, fb = entries[b.element].frames
            return fa != fb ? fa > fb : a.offset < b.offset
        }.map(\.element)
        let n = indices.count / parts
        let rows = part * n ..< (part + 1) * n
        let padding = (tokens: indices.map(tokenCount).max() ?? 0, frames: indices.map { entries[$0].frames }.max() ?? 0,
                       samples: indices.map { entries[$0].samples }.max() ?? 0)
        return (Self.collate(try load(Array(ordered[rows])), padTo: padding), rows)
    }

    /// Tokens of item `i` as `tokens(at:)` returns them (blanks included), without building them.
    public func tokenCount(_ i: Int) -> Int { addBlank ? 2 * entries[i].tokens.count + 1 : entries[i].tokens.count }

    /// Pads already loaded items (same channel count) into a batch, at least to `padTo`'s lengths.
    public static func collate(_ loaded: [CorpusItem], padTo: (tokens: Int, frames: Int, samples: Int)? = nil) -> Batch {
        // stable sort by frames, descending
        let items = loaded.enumerated().sorted { a, b in
            a.element.frames != b.element.frames ? a.element.frames > b.element.frames : a.offset < b.offset
        }.map(\.element)
        let b = items.count
        let channels = items[0].channels
        let maxTokens = max(items.map(\.tokens.count).max() ?? 0, padTo?.tokens ?? 0)
        let maxFrames = max(items.map(\.frames).max() ?? 0, padTo?.frames ?? 0)
        let maxSamples = max(items.map(\.wav.count).max() ?? 0, padTo?.samples ?? 0)
        var tokens = [Int32](repeating: 0, count: b * maxTokens)
        var spec = [Float](repeating: 0, count: b * channels * maxFrames)
        var wav = [Float](repeating: 0, count: b * maxSamples)
        for (k, item) in items.enumerated() {
            precondition(item.channels == channels, "items of one batch must have the same channel count")
            tokens.replaceSubrange(k * maxTokens ..< k * maxTokens + item.tokens.count, with: item.tokens)
            wav.replaceSubrange(k * maxSamples ..< k * maxSamples + item.wav.count, with: item.wav)
            item.spec.withUnsafeBufferPointer { src in
                spec.withUnsafeMutableBufferPointer { dst in
                    for c in 0..<channels {
                        let from = c &* item.frames, to = (k &* channels &+ c) &* maxFrames
                        for t in 0..<item.frames { dst[to &+ t] = src[from &+ t] }
                    }
                }
            }
        }
        return Batch(size: b, indices: items.map(\.index), ids: items.map(\.id),
                     tokens: tokens, tokenLengths: items.map { Int32($0.tokens.count) }, maxTokens: maxTokens,
                     spec: spec, specLengths: items.map { Int32($0.frames) }, channels: channels, maxFrames: maxFrames,
                     wav: wav, wavLengths: items.map { Int32($0.wav.count) }, maxSamples: maxSamples,
                     speakerIDs: items.map { Int32($0.speakerID) })
    }
}
