import Foundation

/// Work splitting over the machine's cores: the one place that decides how many threads the toolkit
/// uses and how a loop is cut into chunks. The engine's kernels, the spectrogram and the voice
/// evaluation all split their loops here. OpenBLAS runs with one thread (see `Engine.configure()`),
/// so BLAS threads never nest inside these loops.
public enum Parallel {
    /// Number of worker threads loops split across: the number of active cores, or
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

    /// Calls `body` on disjoint chunks covering 0..<count, on up to `workers` threads, in up to
    /// `workers × chunksPerWorker` chunks of at least `minChunk` items. Runs inline when the work is
    /// small (`count < minChunk * 2`): dispatching costs microseconds. Engine kernels use one chunk
    /// per worker (their reductions' rounding depends on the chunk count); loops over independent
    /// frames use several per worker, which balances threads that progress unevenly.
    public static func forRanges(_ count: Int, minChunk: Int = 1, chunksPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workers * max(1, chunksPerWorker), max(1, count / max(1, minChunk)))
        if chunks <= 1 || workers == 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { work(lo..<hi) }
            }
        }
    }
}
