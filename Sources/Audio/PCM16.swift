import Foundation

/// The one 16-bit PCM quantisation and WAV layout of the toolkit, used by `AudioFile.write(.pcm16)`,
/// the corpus cache (`vits prepare`), TensorBoard audio summaries and training samples.
///
/// Quantisation: k = clamp(round(x · 32768), −32768, 32767), ties away from zero; the value read back
/// is k / 32768 (libsndfile's and the reference VITS loader's scaling). Writing what was read from
/// PCM16 therefore round-trips bit-exactly, and every writer stores the same integers for the same
/// samples. A non-finite sample (only a diverging model makes one) is stored as 0; file writers that
/// must refuse such audio check before quantising.
public enum PCM16 {
    public static let scale: Float = 32768

    /// The PCM integer of one sample.
    @inline(__always)
    public static func quantize(_ x: Float) -> Int16 {
        guard x.isFinite else { return 0 }
        return Int16(min(32767, max(-32768, (x * scale).rounded())))
    }

    /// The PCM integers of `samples`.
    public static func quantize(_ samples: [Float]) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samples.count)
        samples.withUnsafeBufferPointer { x in
            pcm.withUnsafeMutableBufferPointer { q in
                for i in 0..<x.count { q[i] = quantize(x[i]) }
            }
        }
        return pcm
    }

    /// The sample value a reader gets back for `k`.
    @inline(__always)
    public static func value(_ k: Int16) -> Float { Float(k) / scale }

    /// A mono 16-bit PCM WAV file's bytes: the canonical 44-byte RIFF header, then the samples,
    /// little-endian. Nil when the data would not fit a RIFF size field (over 4 GiB).
    public static func wavBytes(_ pcm: [Int16], sampleRate: Int) -> Data? {
        let dataBytes = pcm.count * 2
        guard dataBytes <= Int(UInt32.max) - 36, sampleRate > 0, sampleRate * 2 <= Int(UInt32.max) else { return nil }
        var file = Data(capacity: 44 + dataBytes)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { file.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { file.append(contentsOf: $0) } }
        file.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); file.append(contentsOf: Array("WAVE".utf8))
        // fmt chunk: PCM (1), mono, rate, byte rate, block align 2, 16 bits.
        file.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(sampleRate); u32(sampleRate * 2); u16(2); u16(16)
        file.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        #if _endian(big)
        for k in pcm { withUnsafeBytes(of: k.littleEndian) { file.append(contentsOf: $0) } }
        #else
        pcm.withUnsafeBytes { file.append(contentsOf: $0) }
        #endif
        return file
    }

    /// `wavBytes` of `samples` quantised.
    public static func wavBytes(samples: [Float], sampleRate: Int) -> Data? {
        wavBytes(quantize(samples), sampleRate: sampleRate)
    }
}
