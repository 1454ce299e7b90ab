import Foundation
import Formats

/// The two per-utterance outputs of `vits prepare`, written without fsync (they are recomputable)
/// but atomically (temporary file + rename).
enum CacheFiles {
    /// Rounds samples to 16-bit PCM exactly as `AudioFile.write(.pcm16)` does (x·32768, nearest,
    /// clipped) and returns the integers and the values a reader gets back (k / 32768).
    static func quantize(_ samples: [Float]) -> (pcm: [Int16], values: [Float]) {
        let n = samples.count
        var pcm = [Int16](repeating: 0, count: n)
        var values = [Float](repeating: 0, count: n)
        samples.withUnsafeBufferPointer { x in
            pcm.withUnsafeMutableBufferPointer { q in
                values.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        let k = Int16(min(32767, max(-32768, (x[i] * 32768).rounded())))
                        q[i] = k
                        v[i] = Float(k) / 32768
                    }
                }
            }
        }
        return (pcm, values)
    }

    /// A mono 16-bit PCM WAV (the canonical 44-byte header).
    static func writeWAV(_ pcm: [Int16], sampleRate: Int, to url: URL) throws(CorpusError) {
        let dataBytes = pcm.count * 2
        guard dataBytes <= Int(UInt32.max) - 36 else { throw .io("\(url.path): audio too long for a WAV file") }
        var header = Data(capacity: 44)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { header.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { header.append(contentsOf: $0) } }
        header.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); header.append(contentsOf: Array("WAVE".utf8))
        header.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(sampleRate); u32(sampleRate * 2); u16(2); u16(16)
        header.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        var file = header
        pcm.withUnsafeBytes { file.append(contentsOf: $0) }   // little-endian host (Formats checks)
        try writeAtomically(file, to: url)
    }

    static let specFormat = "swiftvits-spec-v1"

    /// A safetensors file with one F32 tensor `spec` [rows, frames] and string metadata.
    static func writeSpec(_ values: [Float], rows: Int, frames: Int, metadata: [String: String], to url: URL) throws(CorpusError) {
        precondition(values.count == rows * frames)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let meta = try? encoder.encode(metadata), let metaText = String(data: meta, encoding: .utf8) else {
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
