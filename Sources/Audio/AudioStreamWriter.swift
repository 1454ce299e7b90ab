import Foundation
import CSndFile
#if canImport(Glibc)
import Glibc
#endif

/// A mono WAV written block by block, for audio too long to hold in memory (hours of synthesized
/// speech): only the current block is ever in memory. PCM16 samples are quantised by `PCM16.quantize`,
/// the one rule of the toolkit. Like `AudioFile.write`, the file appears complete or not at
/// all: blocks go to a temporary file in the same directory, which `finish()` syncs and renames;
/// a writer that is dropped unfinished (an error, a kill) leaves no file at the destination.
public final class AudioStreamWriter {
    public let url: URL
    public let sampleRate: Int
    public let format: AudioSampleFormat
    /// Frames written so far.
    public private(set) var frames = 0
    private var file: OpaquePointer?
    private let temporary: String
    private var pcm: [Int16] = []

    /// A RIFF WAV holds at most 2^32 − 1 bytes; the header and the data chunk's own header take 44.
    public var maximumFrames: Int { (Int(UInt32.max) - 44) / (format == .pcm16 ? 2 : 4) }

    public init(url: URL, sampleRate: Int, format: AudioSampleFormat = .pcm16) throws(AudioError) {
        let path = url.path
        guard AudioFile.supportedSampleRates.contains(sampleRate) else { throw .unsupportedSampleRate(path: path, rate: sampleRate) }
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .cannotWrite(path: path, reason: "directory \(directory) does not exist")
        }
        self.url = url
        self.sampleRate = sampleRate
        self.format = format
        temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = 1
        info.format = Int32(SF_FORMAT_WAV) | Int32(format == .pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT)
        guard let file = sf_open(temporary, Int32(SFM_WRITE), &info) else {
            throw .cannotWrite(path: path, reason: String(cString: sf_strerror(nil)))
        }
        self.file = file
    }

    deinit {
        if let file {
            sf_close(file)
            unlink(temporary)
        }
    }

    public var seconds: Double { Double(frames) / Double(sampleRate) }

    /// Appends samples. Non-finite samples and a file past the WAV size limit are refused (the
    /// temporary file is removed; nothing appears at `url`).
    public func append(_ samples: UnsafeBufferPointer<Float>) throws(AudioError) {
        guard let file else { throw .cannotWrite(path: url.path, reason: "the writer is already finished or failed") }
        guard !samples.isEmpty else { return }
        guard samples.allSatisfy(\.isFinite) else { abandon(); throw .nonFiniteSamples(path: url.path) }
        guard frames + samples.count <= maximumFrames else {
            abandon()
            throw .cannotWrite(path: url.path, reason: String(
                format: "more than %.1f hours of audio at %d Hz exceeds the 4 GiB limit of a WAV file; split the text into several files (e.g. synthesize --output-dir, one WAV per line)",
                Double(maximumFrames) / Double(sampleRate) / 3600, sampleRate))
        }
        let written: sf_count_t
        switch format {
        case .pcm16:
            if pcm.count < samples.count { pcm = [Int16](repeating: 0, count: samples.count) }
            written = pcm.withUnsafeMutableBufferPointer { out -> sf_count_t in
                for i in 0..<samples.count { out[i] = PCM16.quantize(samples[i]) }
                return sf_writef_short(file, out.baseAddress, sf_count_t(samples.count))
            }
        case .float32:
            written = sf_writef_float(file, samples.baseAddress, sf_count_t(samples.count))
        }
        guard written == samples.count, sf_error(file) == 0 else {
            let status = sf_error(file)
            let reason = status != 0 ? String(cString: sf_error_number(status)) : "short write (disk full?)"
            abandon()
            throw .cannotWrite(path: url.path, reason: reason)
        }
        frames += samples.count
    }

    public func append(_ samples: [Float]) throws(AudioError) {
        try samples.withUnsafeBufferPointer { (b) throws(AudioError) in try append(b) }
    }

    /// Appends `count` zero samples (silence between sentences) without building them all at once.
    public func appendSilence(_ count: Int) throws(AudioError) {
        var left = count
        let zeros = [Float](repeating: 0, count: min(count, 1 << 16))
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBufferPointer { (b) throws(AudioError) in try append(UnsafeBufferPointer(rebasing: b[0..<n])) }
            left -= n
        }
    }

    /// Syncs, closes and renames the temporary file to `url` (a stream of no samples gives a WAV
    /// with an empty data chunk).
    public func finish() throws(AudioError) {
        guard let file else { throw .cannotWrite(path: url.path, reason: "the writer is already finished or failed") }
        sf_write_sync(file)
        let status = sf_close(file)
        self.file = nil
        guard status == 0 else {
            unlink(temporary)
            throw .cannotWrite(path: url.path, reason: String(cString: sf_error_number(status)))
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .cannotWrite(path: url.path, reason: reason)
        }
    }

    /// Closes and removes the temporary file.
    private func abandon() {
        if let file { sf_close(file) }
        file = nil
        unlink(temporary)
    }
}
