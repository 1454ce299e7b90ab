import Foundation
import Cores

/// Shape arithmetic and the strided loops every layout-changing op shares.
/// Tensors are always contiguous row-major; "strides" here describe how an op *reads* a source
/// (0 on a broadcast axis, permuted for a transpose), never a stored view.
public enum Shape {
    /// Row-major element strides of a contiguous tensor.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) { s[d] = acc; acc *= shape[d] }
        return s
    }

    /// numpy broadcasting: align on the right, each pair equal or one of them 1.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Strides for reading a tensor of `shape` as if it had `target` shape (broadcast axes get 0).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let lead = target.count - shape.count
        precondition(lead >= 0, "cannot broadcast \(shape) to \(target)")
        var s = [Int](repeating: 0, count: target.count)
        for d in 0..<shape.count {
            precondition(shape[d] == target[d + lead] || shape[d] == 1, "cannot broadcast \(shape) to \(target)")
            s[d + lead] = shape[d] == 1 ? 0 : own[d]
        }
        return s
    }

    /// Normalizes a possibly negative axis against `rank`.
    static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// (outer, n, inner) sizes around `axis`.
    static func split(_ shape: [Int], at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        var outer = 1, inner = 1
        for d in 0..<axis { outer *= shape[d] }
        for d in (axis + 1)..<shape.count { inner *= shape[d] }
        return (outer, shape[axis], inner)
    }
}

/// Walks the rows (all axes but the last) of `shape`, giving the source offset of each row for
/// each of up to three strided operands. Rows are split over the cores for big tensors.
struct RowWalker {
    let shape: [Int]
    let strides: [[Int]]   // per operand, one stride per axis

    var rowLength: Int { shape.last ?? 1 }
    var rows: Int { shape.isEmpty ? 1 : Tensor.elementCount(shape) / Swift.max(1, rowLength) }

    /// Offsets of row `row` for each operand.
    func offsets(ofRow row: Int) -> [Int] {
        var offs = [Int](repeating: 0, count: strides.count)
        var r = row
        if shape.count >= 2 {
            for d in stride(from: shape.count - 2, through: 0, by: -1) {
                let i = r % shape[d]; r /= shape[d]
                for k in 0..<strides.count { offs[k] &+= i &* strides[k][d] }
            }
        }
        return offs
    }

    /// Calls `body(rowIndex, offsets)` for rows in `range`, advancing offsets with an odometer.
    func forEachRow(in range: Range<Int>, _ body: (Int, UnsafeMutablePointer<Int>) -> Void) {
        guard !range.isEmpty else { return }
        let k = strides.count, r = shape.count
        let offs = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(k, 1))
        defer { offs.deallocate() }
        let start = offsets(ofRow: range.lowerBound)
        for j in 0..<k { offs[j] = start[j] }
        var idx = [Int](repeating: 0, count: Swift.max(r - 1, 0))
        var rem = range.lowerBound
        if r >= 2 { for d in stride(from: r - 2, through: 0, by: -1) { idx[d] = rem % shape[d]; rem /= shape[d] } }
        for row in range {
            body(row, offs)
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                for j in 0..<k { offs[j] &+= strides[j][d] }
                if idx[d] < shape[d] { break }
                for j in 0..<k { offs[j] &-= strides[j][d] &* shape[d] }
                idx[d] = 0
                d -= 1
            }
        }
    }
}

extension Tensor {
    /// Contiguous copy of `src` read through `srcStrides` into a new tensor of `shape`.
    static func gatherStrided(_ src: Tensor, strides srcStrides: [Int], shape: [Int]) -> Tensor {
        let out = Tensor(uninitialized: shape)
        if out.count == 0 { return out }
        if shape.isEmpty { out.pointer[0] = src.pointer[0]; return out }
        let walker = RowWalker(shape: shape, strides: [srcStrides])
        let n = walker.rowLength, s = srcStrides[shape.count - 1]
        let ps = src.pointer, po = out.pointer
        Parallel.forRanges(walker.rows, minChunk: Swift.max(1, (1 << 15) / Swift.max(n, 1))) { range in
            walker.forEachRow(in: range) { row, offs in
                let src = ps + offs[0], dst = po + row &* n
                if s == 1 { dst.update(from: src, count: n) }
                else if s == 0 { dst.update(repeating: src[0], count: n) }
                else { for j in 0..<n { dst[j] = src[j &* s] } }
            }
        }
        return out
    }
}
