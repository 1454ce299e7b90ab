import CBLAS
import CKernels
import Engine
import Cores

/// Inference-only (no autograd) convolution for the HiFi-GAN residual blocks, which are ≈ 97 % of
/// synthesis time:
///
///     y[b] = bias (+ residual[b]) + Σ_k W[:, :, k] · lrelu(x[b])[:, t + k·d − p]      (stride 1, same padding)
///
/// Why not `conv1d`: the general kernel builds an im2col block and OpenBLAS then packs that block
/// again, so every input element is copied 2·K times and the leaky ReLU, the bias and the residual
/// add are separate passes over memory. Here the activated input is written once into a zero-padded
/// buffer and each tap k is one GEMM that reads it at offset k·d (OpenBLAS packs it once per tap),
/// accumulating into an output pre-filled with bias + residual.
enum InferenceConv {
    /// Output columns per GEMM call: about 256 K input floats per packed panel (Cin × columns, 1 MiB,
    /// L2-sized), at most 4096 columns, so narrow layers still make GEMMs big enough for OpenBLAS's
    /// large-matrix kernel.
    static func maxColumns(inputChannels: Int) -> Int {
        min(4096, max(256, (1 << 18) / max(1, inputChannels)))
    }

    /// - Parameters:
    ///   - x: [B, Cin, T]; weight: [Cout, Cin, K] (the effective weight); bias: [Cout]?
    ///   - slope: leaky-ReLU slope applied to x first (nil: none).
    ///   - residual: [B, Cout, T] added to the output, or nil.
    static func conv(_ x: Tensor, weight: Tensor, bias: Tensor?, dilation: Int, slope: Float?,
                     residual: Tensor? = nil) -> Tensor {
        let (batch, cin, length) = (x.shape[0], x.shape[1], x.shape[2])
        let (cout, kernel) = (weight.shape[0], weight.shape[2])
        precondition(weight.shape[1] == cin && kernel % 2 == 1, "InferenceConv: weight \(weight.shape) for input \(x.shape)")
        precondition(residual == nil || residual!.shape == [batch, cout, length], "InferenceConv: residual shape")
        let pad = dilation * (kernel - 1) / 2
        let padded = length + 2 * pad

        // Tap-major weights [K, Cout, Cin]: each tap is a contiguous row-major matrix.
        let taps = Storage(uninitializedCount: kernel * cout * cin)
        let tp = taps.pointer, wp = weight.pointer
        for o in 0..<cout {
            for i in 0..<cin {
                let src = wp + (o &* cin &+ i) &* kernel
                for k in 0..<kernel { tp[(k &* cout &+ o) &* cin &+ i] = src[k] }
            }
        }

        // Activated, zero-padded input [B, Cin, T + 2p].
        let input = Storage(uninitializedCount: batch * cin * padded)
        let ip = input.pointer, xp = x.pointer
        Parallel.forRanges(batch * cin, minChunk: max(1, 32_768 / max(1, length))) { rows in
            for r in rows {
                let dst = ip + r &* padded, src = xp + r &* length
                dst.update(repeating: 0, count: pad)
                (dst + pad + length).update(repeating: 0, count: pad)
                if let slope { ck_leaky_relu(src, dst + pad, length, slope) } else { (dst + pad).update(from: src, count: length) }
            }
        }

        let out = Tensor(uninitialized: [batch, cout, length])
        let op = out.pointer, bp = bias?.pointer, rp = residual?.pointer
        // Equal chunks, and a multiple of the worker count in all, so both cores get the same work.
        let maxColumns = Self.maxColumns(inputChannels: cin)
        var chunksPerItem = max(1, (length + maxColumns - 1) / maxColumns)
        while (batch * chunksPerItem) % Parallel.workers != 0 && chunksPerItem < length { chunksPerItem += 1 }
        let columns = (length + chunksPerItem - 1) / chunksPerItem
        Parallel.forRanges(batch * chunksPerItem) { items in
            for item in items {
                let b = item / chunksPerItem, t0 = (item % chunksPerItem) &* columns
                let n = min(columns, length - t0)
                if n <= 0 { continue }
                let y = op + (b &* cout &* length &+ t0)
                // Pre-fill with bias (+ residual); every tap then accumulates with β = 1.
                for o in 0..<cout {
                    let row = y + o &* length
                    let base = bp?[o] ?? 0
                    if let rp {
                        let res = rp + ((b &* cout &+ o) &* length &+ t0)
                        for t in 0..<n { row[t] = res[t] + base }
                    } else {
                        row.update(repeating: base, count: n)
                    }
                }
                let xb = ip + (b &* cin &* padded &+ t0)
                for k in 0..<kernel {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(n), Int32(cin),
                                1, tp + k &* cout &* cin, Int32(cin), xb + k &* dilation, Int32(padded),
                                1, y, Int32(length))
                }
            }
        }
        // The scratch buffers are only reached through raw pointers: keep them alive until the GEMMs are done.
        withExtendedLifetime((taps, input)) {}
        return out
    }
}
