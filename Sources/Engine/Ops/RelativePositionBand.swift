import Foundation
import Cores

/// The banded layout of relative-position terms: row i of a band [.., T, 2w+1] holds the entries
/// (i, j = i + r − w) of a dense [.., T, T] matrix for offsets r = 0…2w. The two maps are
/// adjoint (each one's backward is the other); entries outside the band (dense) or outside the
/// matrix (band) are zero.
public enum RelativePositionBand {
    /// dense[.., i, j] = band[.., i, j − i + w] for |j − i| ≤ w, else 0.
    public static func toDense(_ band: Tensor, window: Int) -> Tensor {
        let width = 2 * window + 1
        precondition(band.rank >= 2 && band.shape[band.rank - 1] == width,
                     "band must be [..., T, \(width)], got \(band.shape)")
        let t = band.shape[band.rank - 2]
        let out = Tensor(zeros: Array(band.shape.dropLast()) + [t])
        scatter(from: band.pointer, to: out.pointer, rows: band.count / (t * width), t: t, window: window, toDense: true)
        return Tensor.record("relative_band_to_dense", output: out, inputs: [band]) { g in
            [fromDense(g, window: window)]
        }
    }

    /// band[.., i, r] = dense[.., i, i + r − w] where 0 ≤ i + r − w < T, else 0.
    public static func fromDense(_ dense: Tensor, window: Int) -> Tensor {
        precondition(dense.rank >= 2 && dense.shape[dense.rank - 1] == dense.shape[dense.rank - 2],
                     "dense must be [..., T, T], got \(dense.shape)")
        let t = dense.shape[dense.rank - 1], width = 2 * window + 1
        let out = Tensor(zeros: Array(dense.shape.dropLast()) + [width])
        scatter(from: dense.pointer, to: out.pointer, rows: dense.count / max(t * t, 1), t: t, window: window, toDense: false)
        return Tensor.record("relative_band_from_dense", output: out, inputs: [dense]) { g in
            [toDense(g, window: window)]
        }
    }

    /// Copies the in-band entries of `rows` matrices between the two layouts (destination pre-zeroed).
    private static func scatter(from src: UnsafeMutablePointer<Float>, to dst: UnsafeMutablePointer<Float>,
                                rows: Int, t: Int, window: Int, toDense: Bool) {
        let width = 2 * window + 1
        Parallel.forRanges(rows * t, minChunk: 4096) { r in
            for row in r {
                let i = row % t
                let bandRow = row &* width, denseRow = row &* t
                let lo = max(0, i - window), hi = min(t - 1, i + window)
                if lo > hi { continue }
                for j in lo...hi {
                    let bandIndex = bandRow &+ (j &- i &+ window), denseIndex = denseRow &+ j
                    if toDense { dst[denseIndex] = src[bandIndex] } else { dst[bandIndex] = src[denseIndex] }
                }
            }
        }
    }
}
