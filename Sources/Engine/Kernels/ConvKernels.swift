import Foundation
import CBLAS
import CKernels
import Cores

/// The index map shared by conv1d, conv_transpose1d and conv2d with (k,1) kernels.
///
/// A convolution reads an "x side" tensor [B, xChannels, xLength, inner] and writes a "y side"
/// tensor [B, yChannels, yLength, inner] through
///     y[b, g·yPerGroup + m, o, w] = Σ_{i<xPerGroup, k<K} W[g·yPerGroup + m, i, k] · x[b, g·xPerGroup + i, o·s − p + k·d, w]
/// (x outside [0, xLength) reads as zero). `inner` is an axis carried along untouched: 1 for 1-D
/// convolutions, the period for the discriminators' (k,1) 2-D convolutions.
///
/// Three kernels cover everything:
/// - `forward`        y = conv(x)                       (conv1d forward; conv_transpose1d input grad)
/// - `backwardData`   x = convᵀ(y)                      (conv1d input grad; conv_transpose1d forward)
/// - `backwardWeight` dW += Σ y ⊗ im2col(x)             (weight grad of both)
/// For conv_transpose1d the roles swap: its input is the y side, its output the x side, and its
/// weight [Cin, Cout/groups, K] is exactly the [yChannels, xPerGroup, K] layout above.
struct ConvGeometry {
    var batch: Int
    var groups: Int
    var xChannels: Int
    var yChannels: Int
    var xLength: Int
    var yLength: Int
    var inner: Int
    var kernel: Int
    var stride: Int
    var padding: Int
    var dilation: Int

    var xPerGroup: Int { xChannels / groups }
    var yPerGroup: Int { yChannels / groups }
    /// Rows of the im2col matrix of one group: one per (input channel, tap).
    var colRows: Int { xPerGroup &* kernel }
    var weightCount: Int { yChannels &* colRows }
    /// The convolution is a plain matrix product: im2col would copy x unchanged.
    var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 && xLength == yLength }
}

/// ⌊a / b⌋ and ⌈a / b⌉ for b > 0 and any sign of a.
@inline(__always) private func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a &+ b &- 1) / b) }
@inline(__always) private func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

/// How one (batch item, group) is cut along the conv axis into work chunks: small enough that a
/// chunk's im2col block stays around 2 MiB (cache-friendly, bounded scratch), and enough chunks in
/// total that both cores have work even for a single batch item.
private func chunkCount(length: Int, floatsPerPosition: Int, items: Int) -> Int {
    let scratchCap = 1 << 19                                   // floats per im2col block
    let bySize = (length &* floatsPerPosition &+ scratchCap &- 1) / scratchCap
    let byCores = items >= 2 * Parallel.workers ? 1 : (2 * Parallel.workers &+ items &- 1) / items
    return max(1, min(length, max(bySize, byCores)))
}

enum ConvKernels {
    /// The GEMM operand holding the input columns of output positions o0..<o1 and its leading
    /// dimension: for a pointwise (k = 1, stride 1, no padding) convolution the input itself,
    /// otherwise its im2col expansion in `col`.
    @inline(__always)
    private static func inputColumns(_ geo: ConvGeometry, x: UnsafePointer<Float>, o0: Int, o1: Int, rowStride: Int,
                                     col: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
        if geo.isPointwise { return (x + o0 &* geo.inner, rowStride) }
        im2col(geo, x: x, o0: o0, o1: o1, col: col)
        return (UnsafePointer(col), (o1 &- o0) &* geo.inner)
    }

    /// Fills col[r, (o − o0)·inner + w] = x[i, o·s − p + k·d, w] for o in o0..<o1, r = i·K + k.
    /// `x` points at the group's first channel of one batch item.
    @inline(__always)
    private static func im2col(_ geo: ConvGeometry, x: UnsafePointer<Float>, o0: Int, o1: Int,
                               col: UnsafeMutablePointer<Float>) {
        let inner = geo.inner, s = geo.stride, n = (o1 &- o0) &* inner
        let rowStride = geo.xLength &* inner
        for i in 0..<geo.xPerGroup {
            let xRow = x + i &* rowStride
            for k in 0..<geo.kernel {
                let dst = col + (i &* geo.kernel &+ k) &* n
                let offset = k &* geo.dilation &- geo.padding      // t = o·s + offset
                let oStart = min(max(o0, ceilDiv(-offset, s)), o1)
                let oEnd = max(min(o1, ceilDiv(geo.xLength &- offset, s)), oStart)
                let lead = (oStart &- o0) &* inner, valid = (oEnd &- oStart) &* inner
                if lead > 0 { dst.update(repeating: 0, count: lead) }
                if valid > 0 {
                    if s == 1 {
                        dst.advanced(by: lead).update(from: xRow + (oStart &+ offset) &* inner, count: valid)
                    } else if inner == 1 {
                        var o = oStart
                        var d = dst + lead
                        var src = xRow + (oStart &* s &+ offset)
                        while o < oEnd { d.pointee = src.pointee; d += 1; src += s; o &+= 1 }
                    } else {
                        // Blocks of `inner` floats (the period, 2…11): a plain loop, not a memcpy call per block.
                        var d = dst + lead
                        var src = xRow + (oStart &* s &+ offset) &* inner
                        let step = s &* inner
                        for _ in oStart..<oEnd {
                            var j = 0
                            while j < inner { d[j] = src[j]; j &+= 1 }
                            d += inner
                            src += step
                        }
                    }
                }
                let tail = n &- lead &- valid
                if tail > 0 { dst.advanced(by: lead &+ valid).update(repeating: 0, count: tail) }
            }
        }
    }

    /// x[i, t, w] += col[i·K + k, (o − oLo)·inner + w] for every t = o·s − p + k·d in t0..<t1 with
    /// o in oLo..<oHi: the scatter of conv's transpose, restricted to the x chunk this worker owns.
    @inline(__always)
    private static func col2imChunk(_ geo: ConvGeometry, col: UnsafePointer<Float>, oLo: Int, oHi: Int,
                                    x: UnsafeMutablePointer<Float>, t0: Int, t1: Int) {
        let inner = geo.inner, s = geo.stride, n = (oHi &- oLo) &* inner
        let rowStride = geo.xLength &* inner
        for i in 0..<geo.xPerGroup {
            let xRow = x + i &* rowStride
            for k in 0..<geo.kernel {
                let src = col + (i &* geo.kernel &+ k) &* n
                let offset = k &* geo.dilation &- geo.padding
                let oStart = max(oLo, ceilDiv(t0 &- offset, s))
                let oEnd = min(oHi, ceilDiv(t1 &- offset, s))
                if oStart >= oEnd { continue }
                if s == 1 {
                    let d = xRow + (oStart &+ offset) &* inner, c = src + (oStart &- oLo) &* inner
                    let count = (oEnd &- oStart) &* inner
                    var j = 0
                    while j < count { d[j] += c[j]; j &+= 1 }
                } else if inner == 1 {
                    var o = oStart
                    var d = xRow + (oStart &* s &+ offset)
                    var c = src + (oStart &- oLo)
                    while o < oEnd { d.pointee += c.pointee; d += s; c += 1; o &+= 1 }
                } else {
                    for o in oStart..<oEnd {
                        let d = xRow + (o &* s &+ offset) &* inner, c = src + (o &- oLo) &* inner
                        var j = 0
                        while j < inner { d[j] += c[j]; j &+= 1 }
                    }
                }
            }
        }
    }

    /// y = conv(x) + bias. y is fully overwritten.
    static func forward(_ geo: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        let bg = geo.batch &* geo.groups
        let rows = geo.colRows, inner = geo.inner
        let chunks = chunkCount(length: geo.yLength, floatsPerPosition: geo.isPointwise ? 0 : rows &* inner, items: bg)
        let chunkLen = (geo.yLength &+ chunks &- 1) / chunks
        let yRowStride = geo.yLength &* inner, xRowStride = geo.xLength &* inner
        let yPG = geo.yPerGroup
        Parallel.forRanges(bg &* chunks) { range in
            let scratchCount = geo.isPointwise ? 0 : rows &* chunkLen &* inner
            ScratchPool.shared.withBuffer(count: scratchCount) { col in
                for item in range {
                    let c = item % chunks, bgIndex = item / chunks
                    let b = bgIndex / geo.groups, g = bgIndex % geo.groups
                    let o0 = c &* chunkLen, o1 = min(geo.yLength, o0 &+ chunkLen)
                    if o0 >= o1 { continue }
                    let n = (o1 &- o0) &* inner
                    let xg = x + (b &* geo.xChannels &+ g &* geo.xPerGroup) &* xRowStride
                    let yg = y + (b &* geo.yChannels &+ g &* yPG) &* yRowStride + o0 &* inner
                    var beta: Float = 0
                    if let bias {
                        for m in 0..<yPG { (yg + m &* yRowStride).update(repeating: bias[g &* yPG &+ m], count: n) }
                        beta = 1
                    }
                    let (bMatrix, ldb) = inputColumns(geo, x: xg, o0: o0, o1: o1, rowStride: xRowStride, col: col)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(yPG), Int32(n), Int32(rows), 1,
                                weight + g &* yPG &* rows, Int32(rows),
                                bMatrix, Int32(ldb), beta, yg, Int32(yRowStride))
                }
            }
        }
    }

    /// x = convᵀ(y): the gradient of `forward` with respect to x. x is fully overwritten.
    /// Each work chunk owns a range of x positions and gathers from the y positions that reach it,
    /// so the two cores never write the same element.
    static func backwardData(_ geo: ConvGeometry, y: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             x: UnsafeMutablePointer<Float>) {
        let bg = geo.batch &* geo.groups
        let rows = geo.colRows, inner = geo.inner
        // A chunk of L x positions needs about L/s + K·d/s y positions of columns.
        let perPosition = geo.isPointwise ? 0 : rows &* inner / max(1, geo.stride) &+ 1
        let chunks = chunkCount(length: geo.xLength, floatsPerPosition: perPosition, items: bg)
        let chunkLen = (geo.xLength &+ chunks &- 1) / chunks
        let yRowStride = geo.yLength &* inner, xRowStride = geo.xLength &* inner
        let yPG = geo.yPerGroup, xPG = geo.xPerGroup
        let reach = (geo.kernel &- 1) &* geo.dilation
        let maxCols = (chunkLen &+ reach) / max(1, geo.stride) &+ 2
        Parallel.forRanges(bg &* chunks) { range in
            let scratchCount = geo.isPointwise ? 0 : rows &* maxCols &* inner
            ScratchPool.shared.withBuffer(count: scratchCount) { col in
                for item in range {
                    let c = item % chunks, bgIndex = item / chunks
                    let b = bgIndex / geo.groups, g = bgIndex % geo.groups
                    let t0 = c &* chunkLen, t1 = min(geo.xLength, t0 &+ chunkLen)
                    if t0 >= t1 { continue }
                    let xg = x + (b &* geo.xChannels &+ g &* xPG) &* xRowStride
                    let yg = y + (b &* geo.yChannels &+ g &* yPG) &* yRowStride
                    let wg = weight + g &* yPG &* rows
                    if geo.isPointwise {
                        // x chunk = W_gᵀ · y chunk, written directly.
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                    Int32(xPG), Int32((t1 &- t0) &* inner), Int32(yPG), 1,
                                    wg, Int32(rows), yg + t0 &* inner, Int32(yRowStride),
                                    0, xg + t0 &* inner, Int32(xRowStride))
                        continue
                    }
                    for i in 0..<xPG { (xg + i &* xRowStride + t0 &* inner).update(repeating: 0, count: (t1 &- t0) &* inner) }
                    // y positions o with some tap landing in [t0, t1): o·s − p + k·d ∈ [t0, t1).
                    let oLo = max(0, ceilDiv(t0 &+ geo.padding &- reach, geo.stride))
                    let oHi = min(geo.yLength, floorDiv(t1 &- 1 &+ geo.padding, geo.stride) &+ 1)
                    if oLo >= oHi { continue }
                    let n = (oHi &- oLo) &* inner
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(rows), Int32(n), Int32(yPG), 1,
                                wg, Int32(rows), yg + oLo &* inner, Int32(yRowStride),
                                0, col, Int32(n))
                    col2imChunk(geo, col: col, oLo: oLo, oHi: oHi, x: xg, t0: t0, t1: t1)
                }
            }
        }
    }

    /// dW (+)= Σ_b dy_g · im2col(x_g)ᵀ. `accumulate` false overwrites dW.
    /// Each worker sums into its own partial (scratch), the partials are added at the end in the
    /// order of their work ranges, not of the workers' finishing: float addition is not
    /// associative, and (dW + p₁) + p₂ ≠ (dW + p₂) + p₁ would make training nondeterministic.
    static func backwardWeight(_ geo: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                               dWeight: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let bg = geo.batch &* geo.groups
        let rows = geo.colRows, inner = geo.inner
        let chunks = chunkCount(length: geo.yLength, floatsPerPosition: geo.isPointwise ? 0 : rows &* inner, items: bg)
        let chunkLen = (geo.yLength &+ chunks &- 1) / chunks
        let yRowStride = geo.yLength &* inner, xRowStride = geo.xLength &* inner
        let yPG = geo.yPerGroup, wCount = geo.weightCount
        if !accumulate { dWeight.update(repeating: 0, count: wCount) }
        // Big weights with little data (the HiFi-GAN upsamplers: 2M weights, 32 input frames): per-worker
        // partials would cost more memory traffic than the products themselves. Split the rows of dW
        // instead; each worker then rebuilds the (small) im2col blocks it needs.
        let colElements = rows &* geo.yLength &* inner &* geo.batch
        if wCount >= colElements, yPG >= 2 * Parallel.workers {
            Parallel.forRanges(yPG) { mRange in
                ScratchPool.shared.withBuffer(count: geo.isPointwise ? 0 : rows &* chunkLen &* inner) { col in
                    for bgIndex in 0..<bg {
                        let b = bgIndex / geo.groups, g = bgIndex % geo.groups
                        for c in 0..<chunks {
                            let o0 = c &* chunkLen, o1 = min(geo.yLength, o0 &+ chunkLen)
                            if o0 >= o1 { continue }
                            let n = (o1 &- o0) &* inner
                            let xg = x + (b &* geo.xChannels &+ g &* geo.xPerGroup) &* xRowStride
                            let dyg = dy + (b &* geo.yChannels &+ g &* yPG &+ mRange.lowerBound) &* yRowStride + o0 &* inner
                            let (bMatrix, ldb) = inputColumns(geo, x: xg, o0: o0, o1: o1, rowStride: xRowStride, col: col)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                        Int32(mRange.count), Int32(rows), Int32(n), 1,
                                        dyg, Int32(yRowStride), bMatrix, Int32(ldb),
                                        1, dWeight + (g &* yPG &+ mRange.lowerBound) &* rows, Int32(rows))
                        }
                    }
                }
            }
            return
        }
        let partialsLock = NSLock()
        var partials: [(start: Int, storage: Storage)] = []
        Parallel.forRanges(bg &* chunks) { range in
            let partial = ScratchPool.shared.acquire(wCount)
            partial.pointer.update(repeating: 0, count: wCount)
            let scratchCount = geo.isPointwise ? 0 : rows &* chunkLen &* inner
            ScratchPool.shared.withBuffer(count: scratchCount) { col in
                for item in range {
                    let c = item % chunks, bgIndex = item / chunks
                    let b = bgIndex / geo.groups, g = bgIndex % geo.groups
                    let o0 = c &* chunkLen, o1 = min(geo.yLength, o0 &+ chunkLen)
                    if o0 >= o1 { continue }
                    let n = (o1 &- o0) &* inner
                    let xg = x + (b &* geo.xChannels &+ g &* geo.xPerGroup) &* xRowStride
                    let dyg = dy + (b &* geo.yChannels &+ g &* yPG) &* yRowStride + o0 &* inner
                    let (bMatrix, ldb) = inputColumns(geo, x: xg, o0: o0, o1: o1, rowStride: xRowStride, col: col)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                Int32(yPG), Int32(rows), Int32(n), 1,
                                dyg, Int32(yRowStride), bMatrix, Int32(ldb),
                                1, partial.pointer + g &* yPG &* rows, Int32(rows))
                }
            }
            partialsLock.lock()
            partials.append((range.lowerBound, partial))
            partialsLock.unlock()
        }
        partials.sort { $0.start < $1.start }
        for (_, partial) in partials {
            let p = partial.pointer
            var j = 0
            while j < wCount { dWeight[j] += p[j]; j &+= 1 }
            ScratchPool.shared.release(partial)
        }
    }

    /// dBias[c] (+)= Σ_{b, positions} dy[b, c, ·].
    static func backwardBias(dy: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int,
                             dBias: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(channels, minChunk: max(1, (1 << 15) / max(1, batch &* positions))) { range in
            for ch in range {
                var total: Float = 0
                for b in 0..<batch {
                    total += ck_sum(dy + (b &* channels &+ ch) &* positions, positions)
                }
                dBias[ch] = total
            }
        }
    }

    /// y[b, c, ·] += bias[c].
    static func addBias(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, batch: Int, channels: Int,
                        positions: Int) {
        Parallel.forRanges(batch &* channels, minChunk: max(1, (1 << 15) / max(1, positions))) { range in
            for r in range {
                let row = y + r &* positions, v = bias[r % channels]
                var j = 0
                while j < positions { row[j] += v; j &+= 1 }
            }
        }
    }
}
