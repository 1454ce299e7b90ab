import Foundation
import CBLAS
import Cores

// Short-time Fourier transforms for the iSTFT decoders (MB-iSTFT-VITS) and their sub-band STFT loss.
//
// Both directions are written as products with a fixed real DFT matrix (one cblas_sgemm per batch
// item) plus framing / overlap-add. At the sizes these models use (n_fft 16 in the decoder, 171–683
// in the loss, a few thousand frames) a GEMM against the windowed basis is simpler than FFTW and not
// slower: at n_fft 16 the whole DFT is 9×16 multiply-adds per frame, which BLAS runs near peak,
// while an FFT plan pays a call and a copy per frame; 683 is prime, where an FFT has no fast path
// either. See docs/decoders.md for the rough measurement.

/// Window functions (float32, as the reference computes them in float64 and casts).
public enum SpectralWindow {
    /// Periodic Hann of length n (`scipy.signal.get_window("hann", n, fftbins=True)` = `torch.hann_window(n)`).
    public static func periodicHann(_ n: Int) -> [Float] {
        (0..<n).map { Float(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(n))) }
    }
}

/// One STFT configuration (n_fft, hop, window) with its precomputed real DFT bases.
///
/// Conventions are those of `torch.stft` / `torch.istft` with `center=True`, `onesided=True`,
/// `normalized=False`: a window shorter than n_fft is zero-padded on both sides (left
/// `(n_fft − win)/2`), the analysis pads the signal by `n_fft/2` on each side (reflect), and the
/// synthesis divides the overlap-added frames by the summed squared window and drops `n_fft/2`
/// samples at each end (output length `hop·(frames − 1)`).
public final class STFTPlan: @unchecked Sendable {
    public let nFFT: Int
    public let hop: Int
    /// Bins of the one-sided spectrum (`n_fft/2 + 1`).
    public let bins: Int
    /// The window padded to n_fft.
    public let window: [Float]
    /// Analysis basis [n_fft, 2·bins]: columns 0..<bins give the real part, bins..<2·bins the imaginary
    /// part of the windowed DFT (`Σ w[n] x[n] e^{−2πikn/N}`).
    let analysis: [Float]
    /// Synthesis basis [2·bins, n_fft]: rows 0..<bins map real parts, bins..<2·bins imaginary parts to
    /// the windowed inverse real DFT of one frame (`irfft` with its Hermitian weights: 1 for DC and
    /// Nyquist, 2 otherwise, 1/N; the imaginary parts of DC and Nyquist drop out, as in C2R transforms).
    let synthesis: [Float]

    public init(nFFT: Int, hop: Int, window: [Float]) {
        precondition(nFFT >= 2 && hop >= 1, "STFTPlan: need n_fft ≥ 2 and hop ≥ 1, got \(nFFT), \(hop)")
        precondition(!window.isEmpty && window.count <= nFFT, "STFTPlan: window length \(window.count) must be in 1...n_fft (\(nFFT))")
        self.nFFT = nFFT
        self.hop = hop
        bins = nFFT / 2 + 1
        let left = (nFFT - window.count) / 2
        var padded = [Float](repeating: 0, count: nFFT)
        for (i, w) in window.enumerated() { padded[left + i] = w }
        self.window = padded
        let n = nFFT, f = bins
        var a = [Float](repeating: 0, count: n * 2 * f)
        var s = [Float](repeating: 0, count: 2 * f * n)
        for k in 0..<f {
            // Hermitian weight of bin k in the inverse of a real signal.
            let weight: Double = (k == 0 || (n % 2 == 0 && k == n / 2)) ? 1 : 2
            for t in 0..<n {
                // k·t mod n keeps the angle small, so cos/sin stay accurate for large n.
                let angle = 2 * Double.pi * Double((k * t) % n) / Double(n)
                let c = Foundation.cos(angle), sn = Foundation.sin(angle)
                let w = Double(padded[t])
                a[t * 2 * f + k] = Float(w * c)
                a[t * 2 * f + f + k] = Float(-w * sn)
                s[k * n + t] = Float(weight * c * w / Double(n))
                s[(f + k) * n + t] = Float(-weight * sn * w / Double(n))
            }
        }
        analysis = a
        synthesis = s
    }

    /// The plan of a periodic Hann window of `winLength` (default n_fft).
    public convenience init(nFFT: Int, hop: Int, winLength: Int? = nil) {
        self.init(nFFT: nFFT, hop: hop, window: SpectralWindow.periodicHann(winLength ?? nFFT))
    }

    /// Σ_t w²[i − t·hop] over `frames` frames (length n_fft + hop·(frames − 1)).
    func envelope(frames: Int) -> [Float] {
        var env = [Float](repeating: 0, count: nFFT + hop * (frames - 1))
        for t in 0..<frames { for i in 0..<nFFT { env[t * hop + i] += window[i] * window[i] } }
        return env
    }

    // MARK: - Inverse

    /// `torch.istft(torch.complex(real, imag), n_fft, hop, window=…, center=True)`.
    /// - real, imag: [B, bins, T] (the imaginary parts of DC and Nyquist are ignored)
    /// - returns: [B, hop·(T − 1)]
    public func inverse(real: Tensor, imag: Tensor) -> Tensor {
        precondition(real.rank == 3 && real.shape[1] == bins, "STFTPlan.inverse: real must be [B, \(bins), T], got \(real.shape)")
        precondition(imag.shape == real.shape, "STFTPlan.inverse: imag \(imag.shape) must match real \(real.shape)")
        let (batch, frames) = (real.shape[0], real.shape[2])
        precondition(frames >= 2, "STFTPlan.inverse: need at least 2 frames, got \(frames)")
        let n = nFFT, f = bins, h = hop
        let full = n + h * (frames - 1), length = h * (frames - 1), trim = n / 2
        let env = envelope(frames: frames)
        // 1 / envelope over the kept samples; the envelope there is > 0 whenever hop ≤ n_fft/2 with Hann,
        // which torch.istft checks too (NOLA).
        var invEnv = [Float](repeating: 0, count: length)
        for i in 0..<length {
            let e = env[trim + i]
            precondition(e > 1e-11, "STFTPlan.inverse: window envelope vanishes at sample \(i) (window/hop fail NOLA)")
            invEnv[i] = 1 / e
        }
        let out = Tensor(uninitialized: [batch, length])
        let pr = real.pointer, pi = imag.pointer, po = out.pointer
        synthesis.withUnsafeBufferPointer { sb in
            invEnv.withUnsafeBufferPointer { ie in
                Parallel.forRanges(batch, minChunk: 1) { r in
                    let framesBuf = UnsafeMutablePointer<Float>.allocate(capacity: frames * n)
                    let acc = UnsafeMutablePointer<Float>.allocate(capacity: full)
                    defer { framesBuf.deallocate(); acc.deallocate() }
                    for b in r {
                        // frames [T, N] = realᵀ [T, F] · S_re [F, N] + imagᵀ · S_im
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(frames), Int32(n), Int32(f), 1,
                                    pr + b &* f &* frames, Int32(frames), sb.baseAddress!, Int32(n), 0, framesBuf, Int32(n))
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(frames), Int32(n), Int32(f), 1,
                                    pi + b &* f &* frames, Int32(frames), sb.baseAddress! + f &* n, Int32(n), 1, framesBuf, Int32(n))
                        acc.update(repeating: 0, count: full)
                        for t in 0..<frames {
                            let src = framesBuf + t &* n, dst = acc + t &* h
                            for i in 0..<n { dst[i] += src[i] }
                        }
                        let o = po + b &* length
                        for i in 0..<length { o[i] = acc[trim &+ i] * ie[i] }
                    }
                }
            }
        }
        return Tensor.record("istft", output: out, inputs: [real, imag]) { [self] g in
            guard real.requiresGrad || imag.requiresGrad else { return [nil, nil] }
            // d out / d frames: each kept sample's gradient, scaled by 1/envelope, goes to every frame
            // sample that was added into it; then through the (linear) synthesis basis.
            let gReal = Tensor(uninitialized: real.shape), gImag = Tensor(uninitialized: imag.shape)
            let pg = g.pointer, pgr = gReal.pointer, pgi = gImag.pointer
            self.synthesis.withUnsafeBufferPointer { sb in
                invEnv.withUnsafeBufferPointer { ie in
                    Parallel.forRanges(batch, minChunk: 1) { r in
                        let gFrames = UnsafeMutablePointer<Float>.allocate(capacity: frames * n)
                        let gFull = UnsafeMutablePointer<Float>.allocate(capacity: full)
                        defer { gFrames.deallocate(); gFull.deallocate() }
                        for b in r {
                            gFull.update(repeating: 0, count: full)
                            let gb = pg + b &* length
                            for i in 0..<length { gFull[trim &+ i] = gb[i] * ie[i] }
                            for t in 0..<frames { (gFrames + t &* n).update(from: gFull + t &* h, count: n) }
                            // gReal [F, T] = S_re [F, N] · gFramesᵀ [N, T]
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(f), Int32(frames), Int32(n), 1,
                                        sb.baseAddress!, Int32(n), gFrames, Int32(n), 0, pgr + b &* f &* frames, Int32(frames))
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(f), Int32(frames), Int32(n), 1,
                                        sb.baseAddress! + f &* n, Int32(n), gFrames, Int32(n), 0, pgi + b &* f &* frames, Int32(frames))
                        }
                    }
                }
            }
            return [real.requiresGrad ? gReal : nil, imag.requiresGrad ? gImag : nil]
        }
    }

    // MARK: - Forward (magnitude)

    /// `sqrt(clamp(|torch.stft(x, n_fft, hop, window=…, center=True, pad_mode="reflect")|², min: floor))`,
    /// transposed to [B, frames, bins] as the reference STFT loss uses it.
    /// - x: [B, L] with L > n_fft/2 (reflect padding)
    /// - returns: [B, 1 + L/hop, bins] (frames = 1 + ⌊(L + 2·⌊n_fft/2⌋ − n_fft)/hop⌋)
    public func magnitude(_ x: Tensor, floor: Float = 1e-7) -> Tensor {
        precondition(x.rank == 2, "STFTPlan.magnitude: input must be [B, L], got \(x.shape)")
        let pad = nFFT / 2
        precondition(x.shape[1] > pad, "STFTPlan.magnitude: signal of \(x.shape[1]) samples is too short for n_fft \(nFFT) (reflect padding needs more than \(pad))")
        return Self.framedMagnitude(x.reflectPadded(left: pad, right: pad), plan: self, floor: floor)
    }

    /// The analysis on an already padded signal [B, Lp] → [B, frames, bins].
    private static func framedMagnitude(_ xp: Tensor, plan: STFTPlan, floor: Float) -> Tensor {
        let (batch, lp) = (xp.shape[0], xp.shape[1])
        let n = plan.nFFT, f = plan.bins, h = plan.hop
        let frames = 1 + (lp - n) / h
        let rows = frames
        // Complex spectrum kept for the backward: [B, frames, 2F].
        let spectrum = [Float](unsafeUninitializedCapacity: batch * rows * 2 * f) { buf, count in
            let px = xp.pointer
            plan.analysis.withUnsafeBufferPointer { ab in
                Parallel.forRanges(batch, minChunk: 1) { r in
                    let framesBuf = UnsafeMutablePointer<Float>.allocate(capacity: rows * n)
                    defer { framesBuf.deallocate() }
                    for b in r {
                        let src = px + b &* lp
                        for t in 0..<rows { (framesBuf + t &* n).update(from: src + t &* h, count: n) }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(2 * f), Int32(n), 1,
                                    framesBuf, Int32(n), ab.baseAddress!, Int32(2 * f), 0,
                                    buf.baseAddress! + b &* rows &* 2 &* f, Int32(2 * f))
                    }
                }
            }
            count = batch * rows * 2 * f
        }
        let out = Tensor(uninitialized: [batch, rows, f])
        let po = out.pointer
        spectrum.withUnsafeBufferPointer { sp in
            for row in 0..<(batch * rows) {
                let s = sp.baseAddress! + row &* 2 &* f, o = po + row &* f
                for k in 0..<f {
                    let p = s[k] * s[k] + s[f &+ k] * s[f &+ k]
                    o[k] = Swift.max(p, floor).squareRoot()
                }
            }
        }
        return Tensor.record("stft_magnitude", output: out, inputs: [xp]) { g in
            guard xp.requiresGrad else { return [nil] }
            let gx = Tensor(zeros: xp.shape)
            let pg = g.pointer, pgx = gx.pointer
            spectrum.withUnsafeBufferPointer { sp in
                plan.analysis.withUnsafeBufferPointer { ab in
                    Parallel.forRanges(batch, minChunk: 1) { r in
                        let gSpec = UnsafeMutablePointer<Float>.allocate(capacity: rows * 2 * f)
                        let gFrames = UnsafeMutablePointer<Float>.allocate(capacity: rows * n)
                        defer { gSpec.deallocate(); gFrames.deallocate() }
                        for b in r {
                            // d|X|/dRe = Re/|X|, d|X|/dIm = Im/|X|; zero where the clamp is active.
                            for t in 0..<rows {
                                let s = sp.baseAddress! + (b &* rows &+ t) &* 2 &* f
                                let go = pg + (b &* rows &+ t) &* f, gs = gSpec + t &* 2 &* f
                                for k in 0..<f {
                                    let re = s[k], im = s[f &+ k]
                                    let p = re * re + im * im
                                    if p >= floor {
                                        let scale = go[k] / p.squareRoot()
                                        gs[k] = re * scale
                                        gs[f &+ k] = im * scale
                                    } else {
                                        gs[k] = 0
                                        gs[f &+ k] = 0
                                    }
                                }
                            }
                            // gFrames [T, N] = gSpec [T, 2F] · Aᵀ
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(2 * f), 1,
                                        gSpec, Int32(2 * f), ab.baseAddress!, Int32(2 * f), 0, gFrames, Int32(n))
                            let dst = pgx + b &* lp
                            for t in 0..<rows {
                                let src = gFrames + t &* n, d = dst + t &* h
                                for i in 0..<n { d[i] += src[i] }
                            }
                        }
                    }
                }
            }
            return [gx]
        }
    }
}

extension Tensor {
    /// Elementwise sine.
    public func sin() -> Tensor {
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = Foundation.sin(s[i]) } }
        return Tensor.record("sin", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in for i in 0..<n { d[i] = g[i] * Foundation.cos(x[i]) } }]
        }
    }

    /// Elementwise cosine.
    public func cos() -> Tensor {
        let out = mapElements { s, d, n in for i in 0..<n { d[i] = Foundation.cos(s[i]) } }
        return Tensor.record("cos", output: out, inputs: [self]) { g in
            [Tensor.unaryGrad(g, self, out) { g, x, _, d, n in for i in 0..<n { d[i] = -g[i] * Foundation.sin(x[i]) } }]
        }
    }
}
