import Foundation
import CBLAS
import Cores

extension Tensor {
    /// C[b] = op(A[b]) · op(B[b]) for `batch` stacked row-major matrices; op = transpose when asked.
    /// A is [M,K] ([K,M] if transA), B is [K,N] ([N,K] if transB). No graph.
    /// Work is split over the cores by batch item, or by rows of C for one big product.
    static func gemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                     batch: Int, m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool = false) {
        if m == 0 || n == 0 { return }
        if k == 0 { if !accumulate { c.update(repeating: 0, count: batch * m * n) }; return }
        let lda = Int32(transA ? m : k), ldb = Int32(transB ? k : n), ldc = Int32(n)
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        let beta: Float = accumulate ? 1 : 0
        let work = m &* n &* k
        if batch > 1 {
            Parallel.forRanges(batch, minChunk: Swift.max(1, (1 << 17) / Swift.max(work, 1))) { r in
                for i in r {
                    cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), 1,
                                a + i &* m &* k, lda, b + i &* k &* n, ldb, beta, c + i &* m &* n, ldc)
                }
            }
        } else {
            let minRows = Swift.max(1, (1 << 20) / Swift.max(n &* k, 1))
            Parallel.forRanges(m, minChunk: minRows) { r in
                let aStart = transA ? a + r.lowerBound : a + r.lowerBound &* k
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(r.count), Int32(n), Int32(k), 1,
                            aStart, lda, b, ldb, beta, c + r.lowerBound &* n, ldc)
            }
        }
    }

    /// Matrix product. Shapes: [M,K]·[K,N]; batched [B,M,K]·[B,K,N] (any equal leading axes, e.g.
    /// attention's [B,H,T,d]); or [...,M,K]·[K,N] (a 2-D right operand shared by all leading axes).
    /// `transposeA`/`transposeB` use the transposed last two axes without copying.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        if b.rank == 2 && a.rank > 2 {
            if !transposeA {
                let lead = Array(a.shape.dropLast())
                let flat = a.reshaped([-1, a.shape[a.rank - 1]])
                let y = matmul(flat, b, transposeB: transposeB)
                return y.reshaped(lead + [y.shape[1]])
            }
            return matmul(a, b.broadcast(to: Array(a.shape.dropLast(2)) + b.shape), transposeA: true, transposeB: transposeB)
        }
        precondition(a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                     "matmul batch axes differ: \(a.shape) and \(b.shape)")
        let lead = Array(a.shape.dropLast(2))
        let batch = lead.reduce(1, *)
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let out = Tensor(uninitialized: lead + [m, n])
        gemm(a.pointer, b.pointer, out.pointer, batch: batch, m: m, n: n, k: k, transA: transposeA, transB: transposeB)
        return record("matmul", output: out, inputs: [a, b]) { g in
            var ga: Tensor?, gb: Tensor?
            if a.requiresGrad {
                // C = op(A)·op(B): dA = dC·op(B)ᵀ, laid out as A is stored.
                if transposeA { ga = matmul(b, g, transposeA: transposeB, transposeB: true) }   // [K,M] = op(B)·dCᵀ
                else { ga = matmul(g, b, transposeB: !transposeB) }                              // [M,K]
            }
            if b.requiresGrad {
                if transposeB { gb = matmul(g, a, transposeA: true, transposeB: transposeA) }    // [N,K] = dCᵀ·op(A)
                else { gb = matmul(a, g, transposeA: !transposeA) }                              // [K,N]
            }
            return [ga, gb]
        }
    }

    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, other) }
}
