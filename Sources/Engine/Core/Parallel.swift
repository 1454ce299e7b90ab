import Foundation
import CBLAS

/// Work splitting over the machine's cores. The engine owns all parallelism: OpenBLAS runs with one
/// thread (see `Engine.configure()`), and big kernels split their work here, so BLAS threads never
/// nest inside our parallel loops.
public enum Parallel {
    /// Number of worker threads kernels split across: the number of active cores, or
    /// `VITS_THREADS` (1–256) when set. Results are bit-identical between runs with the same
    /// worker count (and OpenBLAS kernels); a reduction split into another number of chunks rounds
    /// differently, so reproducing a run from a machine with another core count needs its count.
    public static let workers: Int = {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard let value = ProcessInfo.processInfo.environment["VITS_THREADS"] else { return cores }
        guard let n = Int(value), (1...256).contains(n) else {
            FileHandle.standardError.write(Data("warning: VITS_THREADS='\(value)' is not a number from 1 to 256; using \(cores) (the active cores)\n".utf8))
            return cores
        }
        return n
    }()

    /// Calls `body` on disjoint chunks covering 0..<count, on up to `workers` threads.
    /// Runs inline when the work is small (`count < minChunk * 2`): dispatching costs microseconds.
    public static func forRanges(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workers, max(1, count / max(1, minChunk)))
        if chunks <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { work(lo..<hi) }
            }
        }
    }
}

/// Process-wide engine setup.
public enum Engine {
    /// Pins OpenBLAS to one thread: our kernels split GEMMs over the cores themselves, which
    /// measured 5–15 % faster on conv shapes here and keeps thread pools from nesting.
    /// Idempotent; call once at start-up (the CLI and test suites do).
    public static func configure() {
        BLASSetup.selectFastestKernels()
        openblas_set_num_threads(1)
    }
}
