import Foundation
import CSndFile

/// Level and sanity measurements of a signal: what a check needs to tell speech-like audio from
/// silence, NaN garbage or a stuck (constant) output.
///
/// Accumulated block by block in double precision, so a file of any length is measured in
/// constant memory (`AudioStats.measure(_:)` reads 64 Ki frames at a time). Every channel's
/// samples count (a stereo file is measured over both channels).
public struct AudioStats: Sendable, Equatable {
    public private(set) var sampleRate: Int
    public private(set) var channels: Int
    /// Samples measured (frames × channels).
    public private(set) var samples: Int = 0
    /// NaN or ±infinity samples; they are left out of every other figure.
    public private(set) var nonFinite: Int = 0
    /// Smallest and largest finite sample (0 when there is none).
    public private(set) var minimum: Float = 0
    public private(set) var maximum: Float = 0
    private var sum: Double = 0
    private var sumOfSquares: Double = 0
    private var finiteCount: Int = 0

    public init(sampleRate: Int, channels: Int = 1) {
        self.sampleRate = sampleRate
        self.channels = max(1, channels)
    }

    /// Stats of an in-memory mono signal.
    public init(samples: [Float], sampleRate: Int) {
        self.init(sampleRate: sampleRate)
        samples.withUnsafeBufferPointer { add($0) }
    }

    /// Adds a block of samples (interleaved when there are several channels).
    public mutating func add(_ block: UnsafeBufferPointer<Float>) {
        guard !block.isEmpty else { return }
        var s: Double = 0, ss: Double = 0, finite = 0
        var lo = Float.infinity, hi = -Float.infinity
        for x in block where x.isFinite {
            let d = Double(x)
            s += d
            ss += d * d
            lo = min(lo, x)
            hi = max(hi, x)
            finite += 1
        }
        if finite > 0 {
            if finiteCount == 0 { minimum = lo; maximum = hi } else { minimum = min(minimum, lo); maximum = max(maximum, hi) }
        }
        sum += s
        sumOfSquares += ss
        finiteCount += finite
        nonFinite += block.count - finite
        samples += block.count
    }

    public var frames: Int { samples / channels }
    public var duration: Double { Double(frames) / Double(sampleRate) }
    /// Largest |sample| (finite samples).
    public var peak: Float { max(abs(minimum), abs(maximum)) }
    /// Mean of the finite samples (DC offset).
    public var mean: Double { finiteCount > 0 ? sum / Double(finiteCount) : 0 }
    /// Root mean square of the finite samples.
    public var rms: Double { finiteCount > 0 ? (sumOfSquares / Double(finiteCount)).squareRoot() : 0 }
    /// Standard deviation of the finite samples: the RMS without the DC offset, so a constant
    /// non-zero signal (RMS > 0) still reads as having no sound.
    public var acRMS: Double {
        guard finiteCount > 0 else { return 0 }
        let m = mean
        return max(0, sumOfSquares / Double(finiteCount) - m * m).squareRoot()
    }
    /// Every finite sample has the same value (a stuck output, or digital silence).
    public var isConstant: Bool { minimum == maximum }

    /// Decibels relative to full scale (a full-scale square wave is 0 dBFS, a full-scale sine −3.01);
    /// −∞ for zero.
    public static func dBFS(_ level: Double) -> Double { level > 0 ? 20 * log10(level) : -.infinity }

    /// Why this signal is not sound, or nil when it is: empty, any NaN/infinity, constant, or an
    /// AC RMS below `minimumRMSdB` dBFS.
    public func soundProblem(minimumRMSdB: Double) -> String? {
        if samples == 0 { return "it has no samples" }
        if nonFinite > 0 { return "\(nonFinite) of its \(samples) samples \(nonFinite == 1 ? "is" : "are") NaN or infinite" }
        if isConstant { return "every sample is \(minimum) (a constant signal)" }
        let level = Self.dBFS(acRMS)
        if level < minimumRMSdB {
            return String(format: "its RMS (DC removed) is %.1f dBFS, below the floor of %.1f dBFS (near-silence)", level, minimumRMSdB)
        }
        return nil
    }

    /// Measures an audio file (any format libsndfile reads) without loading it whole. Integer
    /// PCM reads as k / 2^(bits−1), as `AudioFile.read` does; float files as stored (no clipping,
    /// NaN and infinity are counted, not refused).
    public static func measure(_ url: URL) throws(AudioError) -> AudioStats {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .fileNotFound(path: path) }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "is a directory") }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .unreadable(path: path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        let channels = Int(info.channels)
        guard channels >= 1, info.samplerate > 0 else { throw .unreadable(path: path, reason: "\(channels) channels at \(info.samplerate) Hz") }
        var stats = AudioStats(sampleRate: Int(info.samplerate), channels: channels)
        let blockFrames = 1 << 16
        let block = UnsafeMutablePointer<Float>.allocate(capacity: blockFrames * channels)
        defer { block.deallocate() }
        while true {
            let got = Int(sf_readf_float(file, block, sf_count_t(blockFrames)))
            if got <= 0 { break }
            stats.add(UnsafeBufferPointer(start: block, count: got * channels))
        }
        let status = sf_error(file)
        if status != 0 { throw .unreadable(path: path, reason: String(cString: sf_error_number(status))) }
        return stats
    }
}
