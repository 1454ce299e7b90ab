import Engine
import Foundation

/// Keeps `vits synthesize`'s resident memory at one chunk's working set, whatever the text length.
///
/// Two allocators would otherwise keep what earlier chunks freed, and chunks of ever-different
/// lengths rarely reuse it: the engine's `BufferCache` (up to 1/8 of RAM of idle blocks, meant for
/// training's identical steps), and glibc, whose mmap threshold rises to 32 MiB after the first
/// big free, so that later chunk-sized buffers come from the heap and are not returned. Measured
/// with voices/demo on 2,000 characters (20 chunks): peak RSS 1.62 GB with both, 0.93 GB after
/// trimming the cache, 0.43 GB with the threshold pinned too (2 chunks: 0.37 GB).
enum SynthesisMemory {
    /// Pins glibc's mmap threshold at 1 MiB (every buffer of 1 MiB or more is its own mapping,
    /// returned to the system when freed). Through dlsym: the Glibc module does not export
    /// `mallopt`. Does nothing where the symbol is absent.
    static func pinMmapThreshold() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mMmapThreshold: Int32 = -3   // M_MMAP_THRESHOLD in <malloc.h>
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mMmapThreshold, 1 << 20)
    }

    /// After a chunk: hands the engine's idle cached buffers back to the system.
    static func chunkDone() {
        BufferCache.shared.trim()
    }
}
