import Foundation
import CKernels
import Cores

/// Layer norm over the channel axis of x [B, C, T], as VITS `modules.LayerNorm` (transpose to put C
/// last, `F.layer_norm` over it, transpose back): for every (b, t),
///     y[b, c, t] = (x[b, c, t] − mean) / sqrt(var + eps) · gamma[c] + beta[c]
/// with mean and biased variance over c. Computed in place along t (no transposes); mean and
/// 1/sqrt(var + eps) are kept for backward.
public func layerNormChannels(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank == 3, "layerNormChannels: input must be [B, C, T], got \(x.shape)")
    let (batch, channels, length) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(gamma.shape == [channels] && beta.shape == [channels],
                 "layerNormChannels: gamma/beta must be [\(channels)], got \(gamma.shape) / \(beta.shape)")
    let out = Tensor(uninitialized: x.shape)
    let mean = Tensor(uninitialized: [batch, length]), rstd = Tensor(uninitialized: [batch, length])
    let block = LayerNormBlocks(batch: batch, channels: channels, length: length)
    let xp = x.pointer, gp = gamma.pointer, bp = beta.pointer, yp = out.pointer
    let mp = mean.pointer, rp = rstd.pointer
    Parallel.forRanges(block.count, minChunk: block.minChunk) { range in
        for item in range {
            let (b, t0, t1) = block[item]
            let offset = b &* channels &* length
            ck_layernorm_channels_forward(xp + offset, gp, bp, yp + offset, mp + b &* length, rp + b &* length,
                                          channels, length, t0, t1, eps)
        }
    }
    return Tensor.record("layerNormChannels", output: out, inputs: [x, gamma, beta]) { g in
        let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
        let wantParams = gamma.requiresGrad || beta.requiresGrad
        let dGamma = Tensor(zeros: [channels]), dBeta = Tensor(zeros: [channels])
        let partialsLock = NSLock()
        var partials: [(start: Int, storage: Storage)] = []
        // Capturing the statistics tensors keeps them alive until backward ran.
        let mp = mean.pointer, rp = rstd.pointer
        let dxp = dx?.pointer, gradp = g.pointer
        Parallel.forRanges(block.count, minChunk: block.minChunk) { range in
            // Per-worker parameter-gradient partials, added afterwards in the order of the work
            // ranges (not of finishing), so that the sums are the same bits on every run.
            let partial = ScratchPool.shared.acquire(2 &* channels)
            partial.pointer.update(repeating: 0, count: 2 &* channels)
            ScratchPool.shared.withBuffer(count: 2 &* block.columns) { scratch in
                for item in range {
                    let (b, t0, t1) = block[item]
                    let offset = b &* channels &* length
                    ck_layernorm_channels_backward(xp + offset, gp, mp + b &* length, rp + b &* length,
                                                   gradp + offset, dxp.map { $0 + offset },
                                                   wantParams ? partial.pointer : nil,
                                                   wantParams ? partial.pointer + channels : nil,
                                                   scratch, channels, length, t0, t1)
                }
            }
            partialsLock.lock()
            partials.append((range.lowerBound, partial))
            partialsLock.unlock()
        }
        partials.sort { $0.start < $1.start }
        let dg = dGamma.pointer, db = dBeta.pointer
        for (_, partial) in partials {
            if wantParams {
                let p = partial.pointer
                for c in 0..<channels { dg[c] += p[c]; db[c] += p[channels &+ c] }
            }
            ScratchPool.shared.release(partial)
        }
        return [dx, gamma.requiresGrad ? dGamma : nil, beta.requiresGrad ? dBeta : nil]
    }
}

/// Work items of the channel layer norm: (batch item, block of columns).
private struct LayerNormBlocks {
    let batch: Int, channels: Int, length: Int
    /// Columns per block: statistics for a block stay in L1 while rows stream through.
    let columns: Int
    let blocksPerItem: Int

    init(batch: Int, channels: Int, length: Int) {
        self.batch = batch
        self.channels = channels
        self.length = length
        columns = max(1, min(length, 512))
        blocksPerItem = (length + columns - 1) / columns
    }

    var count: Int { batch * blocksPerItem }
    /// Small tensors run on one thread: below ~32k elements dispatch costs more than it saves.
    var minChunk: Int { max(1, (1 << 15) / max(1, channels * columns)) }

    subscript(item: Int) -> (Int, Int, Int) {
        let b = item / blocksPerItem, blk = item % blocksPerItem
        let t0 = blk * columns
        return (b, t0, min(length, t0 + columns))
    }
}
