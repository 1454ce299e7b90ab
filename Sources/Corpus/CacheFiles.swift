import Foundation
import Audio
import Formats

/// The two per-utterance outputs of `vits prepare`, written without fsync (they are recomputable)
/// but atomically (temporary file + rename).
enum CacheFiles {
    /// Rounds samples to 16-bit PCM (`PCM16`, as every WAV writer of the toolkit) and returns the
    /// integers and the values a reader gets back (k / 32768).
    static func quantize(_ samples: [Float]) -> (pcm: [Int16], values: [Float]) {
        let pcm = PCM16.quantize(samples)
        return (pcm, pcm.map(PCM16.value))
    }

    /// A mono 16-bit PCM WAV (`PCM16.wavBytes`: the canonical 44-byte header).
    static func writeWAV(_ pcm: [Int16], sampleRate: Int, to url: URL) throws(CorpusError) {
        guard let file = PCM16.wavBytes(pcm, sampleRate: sampleRate) else {
            throw .io("\(url.path): audio too long for a WAV file")
        }
        try writeAtomically(file, to: url)
    }

    static let specFormat = "swiftvits-spec-v1"

    /// A safetensors file with one F32 tensor `spec` [rows, frames] and string metadata.
    static func writeSpec(_ values: [Float], rows: Int, frames: Int, metadata: [String: String], to url: URL) throws(CorpusError) {
        precondition(values.count == rows * frames)
        let meta = JSONValue.object(metadata.mapValues(JSONValue.string))
        guard let metaText = try? JSONWriter(style: .compact, sortedKeys: true).string(meta) else {
            throw .io("\(url.path): cannot encode metadata")
        }
        var header = Array("{\"__metadata__\":\(metaText),\"spec\":{\"dtype\":\"F32\",\"shape\":[\(rows),\(frames)],\"data_offsets\":[0,\(values.count * 4)]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data(capacity: 8 + header.count + values.count * 4)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: header)
        values.withUnsafeBytes { file.append(contentsOf: $0) }
        try writeAtomically(file, to: url)
    }

    /// The metadata of a spec file (header only; the data is memory-mapped, not read).
    static func specMetadata(_ url: URL) -> [String: String]? {
        guard let file = try? SafeTensorsFile(contentsOf: url, mapped: true) else { return nil }
        return file.metadata
    }

    /// Reads `spec` [rows, frames] from a cache file.
    static func readSpec(_ url: URL) throws(CorpusError) -> (rows: Int, frames: Int, values: [Float]) {
        do {
            let file = try SafeTensorsFile(contentsOf: url)
            let (shape, values) = try file.tensor(named: "spec")
            guard shape.count == 2 else { throw CorpusError.malformed("\(url.path): spec has shape \(shape), expected [channels, frames]") }
            return (shape[0], shape[1], values)
        } catch let e as CorpusError { throw e } catch {
            throw .malformed("\(url.path): \(error)")
        }
    }
}
