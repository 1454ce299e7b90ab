/// Parameters of a spectrogram, named as in VITS configs (`filter_length` = nFFT, `hop_length`,
/// `win_length`, `n_mel_channels`, `mel_fmin`, `mel_fmax`).
public struct SpectrogramConfig: Hashable, Sendable {
    public var sampleRate: Int
    public var nFFT: Int
    public var hopLength: Int
    public var winLength: Int
    public var nMels: Int
    public var fmin: Double
    /// nil means sampleRate / 2 (VITS `mel_fmax: null`).
    public var fmax: Double?

    public init(sampleRate: Int = 22050, nFFT: Int = 1024, hopLength: Int = 256, winLength: Int = 1024,
                nMels: Int = 80, fmin: Double = 0, fmax: Double? = nil) {
        self.sampleRate = sampleRate; self.nFFT = nFFT; self.hopLength = hopLength
        self.winLength = winLength; self.nMels = nMels; self.fmin = fmin; self.fmax = fmax
    }

    /// Frequency bins of the linear spectrogram: nFFT/2 + 1.
    public var bins: Int { nFFT / 2 + 1 }
    /// Reflect padding on each side: (nFFT − hop) / 2 (integer division, as the reference).
    public var padding: Int { (nFFT - hopLength) / 2 }
    public var effectiveFmax: Double { fmax ?? Double(sampleRate) / 2 }

    /// Frames for `samples` input samples: (N + 2·pad − nFFT) / hop + 1, or 0 when the input is too short.
    public func frameCount(samples: Int) -> Int {
        let padded = samples + 2 * padding
        return padded < nFFT || samples <= padding ? 0 : (padded - nFFT) / hopLength + 1
    }

    /// Checks every parameter; the reason names the parameter and the accepted range.
    public func validate() throws(FeatureError) {
        func bad(_ reason: String) -> FeatureError { .invalidConfig(reason: reason) }
        guard sampleRate > 0 else { throw bad("sample rate must be positive (got \(sampleRate))") }
        guard (2...(1 << 20)).contains(nFFT) else { throw bad("n_fft must be in 2...1048576 (got \(nFFT))") }
        guard (1...nFFT).contains(hopLength) else { throw bad("hop length must be in 1...n_fft=\(nFFT) (got \(hopLength))") }
        guard (1...nFFT).contains(winLength) else { throw bad("win length must be in 1...n_fft=\(nFFT) (got \(winLength))") }
        guard (1...4096).contains(nMels) else { throw bad("n_mels must be in 1...4096 (got \(nMels))") }
        guard fmin.isFinite, fmin >= 0 else { throw bad("fmin must be ≥ 0 Hz (got \(fmin))") }
        let top = effectiveFmax
        guard top.isFinite, top > fmin else { throw bad("fmax must be greater than fmin=\(fmin) Hz (got \(top))") }
    }
}

public enum FeatureError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(reason: String)
    /// Reflect padding needs more than `padding` samples and at least one full frame.
    case audioTooShort(samples: Int, minimum: Int)

    public var description: String {
        switch self {
        case let .invalidConfig(reason): return "invalid spectrogram parameters: \(reason)"
        case let .audioTooShort(samples, minimum):
            return "audio too short for this spectrogram: \(samples) samples, at least \(minimum) needed"
        }
    }
}

/// A 2-D feature matrix, row-major [rows, frames] (rows = frequency bins or mel channels),
/// the layout of the reference (`spec[0]` is [n_fft/2+1, T]) and of `vits features` .npy output.
public struct Spectrogram: Sendable, Equatable {
    public let rows: Int
    public let frames: Int
    public var values: [Float]

    public init(rows: Int, frames: Int, values: [Float]) {
        precondition(values.count == rows * frames, "Spectrogram values must hold rows × frames")
        self.rows = rows; self.frames = frames; self.values = values
    }

    public subscript(row: Int, frame: Int) -> Float { values[row * frames + frame] }
}
