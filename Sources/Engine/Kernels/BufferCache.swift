import Foundation

/// Keeps freed large tensor buffers for reuse, so a training step does not pay for fresh pages.
///
/// Every Storage of `minimumBytes` or more is allocated and freed through this cache. Without it,
/// glibc maps big blocks fresh on every allocation (always above 32 MiB, and often below, as its
/// mmap threshold moves) and the kernel zero-fills every page on first touch: measured here, page
/// faults took 20–50 % of the time of memory-bound ops such as the WaveNet gate on [4, 384, 8192].
/// A training loop requests the same sizes step after step, so after the first step allocations
/// are served from here, no pages are faulted in, and resident memory stays flat.
///
/// A request takes the smallest cached block that holds it without wasting more than a quarter
/// of the block; blocks beyond `capacityBytes` are returned to the system, oldest first.
public final class BufferCache: @unchecked Sendable {
    public static let shared = BufferCache()

    /// Buffers smaller than this go straight to malloc (it serves them from its heap without faults).
    public static let minimumBytes = 256 << 10
    /// Alignment of every buffer (one cache line, enough for AVX-512 loads).
    public static let alignment = 64

    private let lock = NSLock()
    private var blocks: [(bytes: Int, pointer: UnsafeMutableRawPointer)] = []   // oldest first
    private var cachedBytes = 0
    /// Upper bound on idle bytes kept.
    public let capacityBytes: Int

    /// `capacityBytes` defaults to 1/8 of physical memory, at most 4 GiB.
    public init(capacityBytes: Int = min(4 << 30, Int(ProcessInfo.processInfo.physicalMemory / 8))) {
        self.capacityBytes = capacityBytes
    }

    /// A 64-byte aligned block of at least `bytes` bytes; its usable size is returned with it.
    public func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= Self.minimumBytes {
            lock.lock()
            var best = -1
            for i in blocks.indices where blocks[i].bytes >= bytes && bytes >= blocks[i].bytes - blocks[i].bytes / 4 {
                if best < 0 || blocks[i].bytes < blocks[best].bytes { best = i }
            }
            if best >= 0 {
                let block = blocks.remove(at: best)
                cachedBytes -= block.bytes
                lock.unlock()
                return (block.pointer, block.bytes)
            }
            lock.unlock()
        }
        return (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment), bytes)
    }

    /// Returns a block from `allocate` (with the size `allocate` reported).
    public func deallocate(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= Self.minimumBytes, bytes <= capacityBytes else { pointer.deallocate(); return }
        var evicted: [UnsafeMutableRawPointer] = []
        lock.lock()
        blocks.append((bytes, pointer))
        cachedBytes += bytes
        while cachedBytes > capacityBytes, !blocks.isEmpty {
            let old = blocks.removeFirst()
            cachedBytes -= old.bytes
            evicted.append(old.pointer)
        }
        lock.unlock()
        for p in evicted { p.deallocate() }
    }

    /// Bytes held by idle cached blocks.
    public var idleBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return cachedBytes
    }

    /// Returns every idle block to the system.
    public func trim() {
        lock.lock()
        let all = blocks
        blocks.removeAll()
        cachedBytes = 0
        lock.unlock()
        for block in all { block.pointer.deallocate() }
    }
}
