import Foundation
import CSndFile
#if canImport(Glibc)
import Glibc
#endif

/// Mono audio: samples in [-1, 1] at `sampleRate` Hz.
public struct MonoAudio: Sendable, Equatable {
    public var samples: [Float]
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// How `AudioFile.write` stores samples.
public enum AudioSampleFormat: Sendable {
    /// 16-bit PCM, quantised as `PCM16` says (x·32768 rounded to nearest, clipped), the inverse of
    /// reading (k / 32768), so reading and writing PCM16 data round-trips bit-exactly.
    case pcm16
    /// IEEE float32, stored as is.
    case float32
}

/// Everything that can go wrong reading, resampling or writing audio. Messages name the file and the cause.
public enum AudioError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    /// libsndfile could not open or decode it (unknown format, corrupt header, I/O error).
    case unreadable(path: String, reason: String)
    /// The file holds fewer frames than its header declares.
    case truncated(path: String, declaredFrames: Int, readFrames: Int)
    case empty(path: String)
    case nonFiniteSamples(path: String)
    /// A sample rate outside `AudioFile.supportedSampleRates`; `path` is empty for an in-memory request.
    case unsupportedSampleRate(path: String, rate: Int)
    case cannotWrite(path: String, reason: String)
    case resamplingFailed(reason: String)

    public var description: String {
        let range = "\(AudioFile.supportedSampleRates.lowerBound)–\(AudioFile.supportedSampleRates.upperBound) Hz"
        switch self {
        case let .fileNotFound(path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot read audio: \(reason)"
        case let .truncated(path, declared, read):
            return "\(path): truncated or corrupt audio: header declares \(declared) frames but only \(read) could be read"
        case let .empty(path): return "\(path): audio has no samples"
        case let .nonFiniteSamples(path): return "\(path): audio contains NaN or infinite samples"
        case let .unsupportedSampleRate(path, rate):
            return path.isEmpty ? "sample rate \(rate) Hz is outside the supported range \(range)"
                : "\(path): sample rate \(rate) Hz is outside the supported range \(range)"
        case let .cannotWrite(path, reason): return "\(path): cannot write audio: \(reason)"
        case let .resamplingFailed(reason): return "resampling failed: \(reason)"
        }
    }
}

/// Asks Linux to back a large, not yet touched buffer with 2 MiB pages: a 10-minute file is 50 MB
/// of samples, ~13,000 page faults with 4 KiB pages (measured ~20 % of `vits features`' CPU time).
/// A hint only; without transparent huge pages it does nothing.
public func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let huge = 2 << 20
    guard buffer.count >= 4 * huge, let base = buffer.baseAddress else { return }
    let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    #endif
}

/// Reading and writing audio files through libsndfile.
public enum AudioFile {
    /// Sample rates accepted anywhere (reading, resampling, writing); others are refused as absurd.
    public static let supportedSampleRates = 1_000...768_000

    /// Reads any format libsndfile knows (WAV, FLAC, OGG/Vorbis, AIFF, …) as mono Float32 in [-1, 1].
    ///
    /// Integer PCM is scaled by 1/2^(bits-1) (16-bit: k/32768, the reference VITS loader's scaling).
    /// Several channels are downmixed to their mean ((L+R)/2 for stereo). Float files are clipped to
    /// [-1, 1]; NaN or infinite samples are an error.
    public static func read(_ url: URL) throws(AudioError) -> MonoAudio {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .fileNotFound(path: path) }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "is a directory") }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .unreadable(path: path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        guard supportedSampleRates.contains(Int(info.samplerate)) else {
            throw .unsupportedSampleRate(path: path, rate: Int(info.samplerate))
        }
        let channels = Int(info.channels)
        guard channels >= 1 else { throw .unreadable(path: path, reason: "\(channels) channels") }
        let declared = Int(info.frames)
        guard declared > 0 else { throw .empty(path: path) }

        // A corrupt header can declare absurd frame counts: allocate the declared length up front
        // only when the file could hold it (PCM needs ≥ 1 byte per frame) or it is small (≤ 16 Mi
        // frames, e.g. compressed files); otherwise grow chunk by chunk as frames actually arrive.
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let plausible = declared <= max(1 << 24, fileBytes)
        let samples: [Float]
        var finite = true
        if plausible {
            samples = [Float](unsafeUninitializedCapacity: declared) { out, count in
                adviseHugePages(UnsafeMutableRawBufferPointer(out))
                count = readMono(file, channels: channels, limit: declared, into: out.baseAddress!, finite: &finite)
            }
        } else {
            var grown: [Float] = []
            let chunk = 1 << 20
            while true {
                let before = grown.count
                let n = [Float](unsafeUninitializedCapacity: chunk) { out, count in
                    count = readMono(file, channels: channels, limit: chunk, into: out.baseAddress!, finite: &finite)
                }
                grown.append(contentsOf: n)
                if grown.count - before < chunk { break }
            }
            samples = grown
        }
        let status = sf_error(file)
        if status != 0 { throw .unreadable(path: path, reason: String(cString: sf_error_number(status))) }
        guard finite else { throw .nonFiniteSamples(path: path) }
        if samples.isEmpty { throw .empty(path: path) }
        if samples.count < declared || headerOverstatesData(file) {
            throw .truncated(path: path, declaredFrames: max(declared, samples.count + 1), readFrames: samples.count)
        }
        return MonoAudio(samples: samples, sampleRate: Int(info.samplerate))
    }

    /// Reads up to `limit` frames as mono into `out`: mono files straight into it, others through a
    /// block buffer and averaged. Clips to [-1, 1] and clears `finite` on NaN/infinity. Returns frames read.
    private static func readMono(_ file: OpaquePointer, channels: Int, limit: Int,
                                 into out: UnsafeMutablePointer<Float>, finite: inout Bool) -> Int {
        let blockFrames = 1 << 16
        let block = channels == 1 ? nil : UnsafeMutablePointer<Float>.allocate(capacity: blockFrames * channels)
        defer { block?.deallocate() }
        var done = 0
        var nonFinite: UInt32 = 0
        let scale = 1 / Float(channels)
        while done < limit {
            let want = min(blockFrames, limit - done)
            let target = out + done
            let got = Int(sf_readf_float(file, block ?? target, sf_count_t(want)))
            if got <= 0 { break }
            if let block {
                for f in 0..<got {
                    var x = block[f &* channels]
                    for c in 1..<channels { x += block[f &* channels &+ c] }
                    target[f] = x * scale
                }
            }
            // Clip, and note non-finite values (exponent all ones) without a branch so it vectorises.
            for f in 0..<got {
                let x = target[f]
                nonFinite |= (x.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
                target[f] = x > 1 ? 1 : (x < -1 ? -1 : x)
            }
            done += got
            if got < want { break }
        }
        if nonFinite != 0 { finite = false }
        return done
    }

    /// libsndfile silently shortens a WAV/AIFF whose data chunk claims more bytes than the file
    /// has (a download cut short); its log is the only place that says so, as
    /// "data : 44100 (should be 22028)". Streamed files that declare 0 or 0xFFFFFFFF are fine.
    private static func headerOverstatesData(_ file: OpaquePointer) -> Bool {
        var log = [CChar](repeating: 0, count: 8192)
        let n = log.withUnsafeMutableBufferPointer {
            sf_command(file, Int32(SFC_GET_LOG_INFO), $0.baseAddress, Int32($0.count))
        }
        guard n > 0 else { return false }
        let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("data :") || trimmed.hasPrefix("SSND :"),
                  let should = trimmed.range(of: "(should be ") else { continue }
            let declared = UInt64(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 6)..<should.lowerBound]
                .trimmingCharacters(in: .whitespaces))
            let actual = UInt64(trimmed[should.upperBound...].prefix { $0.isNumber })
            if let declared, let actual, declared != 0, declared != 0xFFFF_FFFF, declared > actual { return true }
        }
        return false
    }

    /// Writes mono `samples` as a WAV file (PCM16 or float32). The file appears complete or not at
    /// all: it is written to a temporary file in the same directory, synced, then renamed
    /// (through `AudioStreamWriter`, which holds the quantisation).
    public static func write(_ samples: [Float], sampleRate: Int, to url: URL,
                             format: AudioSampleFormat = .pcm16) throws(AudioError) {
        guard supportedSampleRates.contains(sampleRate) else { throw .unsupportedSampleRate(path: url.path, rate: sampleRate) }
        guard samples.allSatisfy(\.isFinite) else { throw .nonFiniteSamples(path: url.path) }
        let writer = try AudioStreamWriter(url: url, sampleRate: sampleRate, format: format)
        try writer.append(samples)
        try writer.finish()
    }

    /// Reads `url` and resamples it to `sampleRate` when its rate differs.
    public static func read(_ url: URL, sampleRate: Int) throws(AudioError) -> MonoAudio {
        let audio = try read(url)
        return try audio.resampled(to: sampleRate)
    }
}
