import Foundation

/// Per-item windows of the last axis, the reference `commons.slice_segments`:
/// `out[b, c, t] = x[b, c, starts[b] + t]` for t in 0..<size.
///
/// - x: [B, C, T]; `starts` has B entries with 0 ≤ starts[b] and starts[b] + size ≤ T.
/// - returns [B, C, size]. Backward scatters the gradient into zeros of x's shape.
///
/// VITS uses it for the decoder input (z at frame starts), the target mel (same frames) and the
/// real audio (starts·hop samples). Out-of-range windows are programming errors (the starts come
/// from `segmentStarts`, which keeps them in range) and stop with a message.
public func sliceSegments(_ x: Tensor, starts: [Int], size: Int) -> Tensor {
    precondition(x.rank == 3, "sliceSegments: x must be [B, C, T], got \(x.shape)")
    let (batch, channels, length) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(starts.count == batch, "sliceSegments: \(starts.count) starts for batch \(batch)")
    precondition(size >= 0, "sliceSegments: negative size \(size)")
    for (b, s) in starts.enumerated() {
        precondition(s >= 0 && s + size <= length,
                     "sliceSegments: window \(s)..<\(s + size) of item \(b) outside 0..<\(length)")
    }
    let out = Tensor(uninitialized: [batch, channels, size])
    let px = x.pointer, po = out.pointer
    for b in 0..<batch {
        for c in 0..<channels {
            let row = b &* channels &+ c
            (po + row &* size).update(from: px + (row &* length &+ starts[b]), count: size)
        }
    }
    return Tensor.record("slice_segments", output: out, inputs: [x]) { g in
        let gx = Tensor(zeros: [batch, channels, length])
        let pg = g.pointer, pd = gx.pointer
        for b in 0..<batch {
            for c in 0..<channels {
                let row = b &* channels &+ c
                (pd + (row &* length &+ starts[b])).update(from: pg + row &* size, count: size)
            }
        }
        return [gx]
    }
}
