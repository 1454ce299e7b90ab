import Foundation
import Engine
import Features

/// The log-mel spectrograms of the VITS training step, as differentiable tensor ops:
/// - `callAsFunction(audio)`: the reference `mel_spectrogram_torch` of generated audio ŷ, with backward;
/// - `melFromLinear(spec)`: the reference `spec_to_mel_torch` of the target linear spectrogram.
///
/// The STFT is a strided conv1d with a fixed windowed-DFT kernel instead of an FFT: the generated
/// segment is short (32 frames in the reference config), the conv is one GEMM, and its backward (the
/// input gradient) comes with the conv op. Definition (the Features target computes the same numbers
/// with FFTW): reflect-pad (n_fft − hop)/2 on both sides, frames of n_fft every hop samples, periodic
/// Hann window of win_length centred in n_fft, |X| = sqrt(re² + im² + 1e-6), Slaney mel basis,
/// ln(max(·, 1e-5)).
public final class DifferentiableMel {
    public let nFFT: Int
    public let hopLength: Int
    public let nMels: Int
    /// [2·(n_fft/2 + 1), 1, n_fft]: rows k are w[n]·cos(2πkn/N), rows bins + k are −w[n]·sin(2πkn/N).
    public let stftBasis: Tensor
    /// [n_mels, n_fft/2 + 1], `MelFilterbank.slaney` (librosa's float32 basis).
    public let melBasis: Tensor

    public var bins: Int { nFFT / 2 + 1 }
    /// Reflect padding per side.
    public var padding: Int { (nFFT - hopLength) / 2 }

    public init(sampleRate: Int, nFFT: Int, hopLength: Int, winLength: Int, nMels: Int, fmin: Double, fmax: Double) {
        precondition(nFFT >= 2 && hopLength >= 1 && winLength >= 1 && winLength <= nFFT && nMels >= 1,
                     "DifferentiableMel: invalid STFT sizes n_fft \(nFFT), hop \(hopLength), win \(winLength), mels \(nMels)")
        self.nFFT = nFFT
        self.hopLength = hopLength
        self.nMels = nMels
        let bins = nFFT / 2 + 1
        // torch.stft pads a shorter window with zeros on both sides to n_fft (left (n_fft − win)/2).
        let offset = (nFFT - winLength) / 2
        var window = [Double](repeating: 0, count: nFFT)
        for i in 0..<winLength {
            window[offset + i] = 0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double(i) / Double(winLength))
        }
        var basis = [Float](repeating: 0, count: 2 * bins * nFFT)
        for k in 0..<bins {
            for n in 0..<nFFT {
                // (k·n) mod N keeps the angle small, so cos/sin are exact to Double rounding.
                let angle = 2 * Double.pi * Double((k * n) % nFFT) / Double(nFFT)
                basis[k * nFFT + n] = Float(window[n] * Foundation.cos(angle))
                basis[(bins + k) * nFFT + n] = Float(-window[n] * Foundation.sin(angle))
            }
        }
        stftBasis = Tensor(shape: [2 * bins, 1, nFFT], data: basis)
        melBasis = Tensor(shape: [nMels, bins],
                          data: MelFilterbank.slaney(sampleRate: sampleRate, nFFT: nFFT, nMels: nMels, fmin: fmin, fmax: fmax))
    }

    /// The data section of a VITS config (`filter_length`, `hop_length`, `win_length`,
    /// `n_mel_channels`, `mel_fmin`, `mel_fmax`).
    public convenience init(config: VITSConfig) {
        let d = config.data
        self.init(sampleRate: d.samplingRate, nFFT: d.filterLength, hopLength: d.hopLength, winLength: d.winLength,
                  nMels: d.nMelChannels, fmin: d.melFmin, fmax: d.resolvedMelFmax)
    }

    /// Frames of an N-sample signal: (N + 2·pad − n_fft)/hop + 1 (= N/hop for the VITS padding).
    public func frameCount(samples: Int) -> Int { (samples + 2 * padding - nFFT) / hopLength + 1 }

    /// Linear magnitude spectrogram of audio [B, 1, N] (or [B, N]) → [B, n_fft/2 + 1, frames].
    /// N must exceed the padding and give at least one frame.
    public func magnitude(_ audio: Tensor) -> Tensor {
        let x = audio.rank == 2 ? audio.unsqueezed(1) : audio
        precondition(x.rank == 3 && x.shape[1] == 1, "DifferentiableMel: audio must be [B, 1, N] or [B, N], got \(audio.shape)")
        let n = x.shape[2]
        precondition(n > padding && frameCount(samples: n) >= 1,
                     "DifferentiableMel: \(n) samples are too few for n_fft \(nFFT) with padding \(padding)")
        let spectrum = conv1d(x.reflectPadded(left: padding, right: padding), weight: stftBasis, stride: hopLength)
        let parts = spectrum.split(sizes: [bins, bins], axis: 1)
        return (parts[0].square() + parts[1].square()).adding(1e-6).sqrt()
    }

    /// log-mel of audio [B, 1, N] (or [B, N]) → [B, n_mels, frames], the reference `mel_spectrogram_torch`.
    public func callAsFunction(_ audio: Tensor) -> Tensor { melFromLinear(magnitude(audio)) }

    /// ln(max(melBasis · spec, 1e-5)) of a linear spectrogram [B, n_fft/2 + 1, T] → [B, n_mels, T]
    /// (`spec_to_mel_torch`). The clamp passes the gradient where the value is ≥ 1e-5, as torch.
    public func melFromLinear(_ spec: Tensor) -> Tensor {
        precondition(spec.rank == 3 && spec.shape[1] == bins, "DifferentiableMel: spectrogram must be [B, \(bins), T], got \(spec.shape)")
        let basis = melBasis.broadcast(to: [spec.shape[0], nMels, bins])
        return Tensor.matmul(basis, spec).clamp(min: 1e-5).log()
    }
}
