import Foundation

/// Dynamic time warping (Sakoe & Chiba, IEEE Trans. ASSP 26(1), 1978) with the symmetric
/// (diagonal, vertical, horizontal) steps at unit weight on Euclidean frame distances, as the
/// scorer's: accumulated cost D(i, j) = d(i, j) + min(D(i−1, j−1), D(i−1, j), D(i, j−1)); the path is
/// traced back from the end, ties going to the diagonal, then to i − 1.
public enum DynamicTimeWarping {
    /// Path of (row of `a`, row of `b`) pairs from (0, 0) to (n − 1, m − 1). `a` and `b` are row-major
    /// with `dimension` values per row.
    public static func path(_ a: [Double], _ b: [Double], dimension: Int) -> [(Int, Int)] {
        let n = a.count / dimension, m = b.count / dimension
        guard n > 0, m > 0 else { return [] }
        let width = m + 1
        var cost = [Double](repeating: .infinity, count: (n + 1) * width)
        cost[0] = 0
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                cost.withUnsafeMutableBufferPointer { cb in
                    let pa = ab.baseAddress!, pb = bb.baseAddress!, D = cb.baseAddress!
                    for i in 1...n {
                        let rowA = pa + (i &- 1) &* dimension
                        let current = D + i &* width, previous = D + (i &- 1) &* width
                        for j in 1...m {
                            let rowB = pb + (j &- 1) &* dimension
                            var s = 0.0
                            for k in 0..<dimension {
                                let diff = rowA[k] - rowB[k]
                                s += diff * diff
                            }
                            current[j] = s.squareRoot() + min(previous[j &- 1], previous[j], current[j &- 1])
                        }
                    }
                }
            }
        }
        var i = n, j = m
        var path: [(Int, Int)] = []
        path.reserveCapacity(n + m)
        while i > 0 && j > 0 {
            path.append((i - 1, j - 1))
            let diagonal = cost[(i - 1) * width + j - 1], up = cost[(i - 1) * width + j], left = cost[i * width + j - 1]
            if diagonal <= up && diagonal <= left { i -= 1; j -= 1 }
            else if up <= left { i -= 1 }
            else { j -= 1 }
        }
        return path.reversed()
    }
}
