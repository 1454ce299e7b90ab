import Foundation

/// Reusable scratch buffers for kernels (im2col/col2im columns, per-worker gradient partials,
/// row statistics).
///
/// A kernel checks a buffer out for the duration of one work chunk and hands it back; the pool
/// keeps returned buffers and gives the smallest one that fits to the next request. The number of
/// buffers alive is bounded by how many chunks run at once (≤ a few per worker), and each buffer
/// only grows to the largest request seen, so a steady training loop reaches a fixed footprint
/// after its first step instead of allocating per call.
public final class ScratchPool: @unchecked Sendable {
    /// The pool every kernel in the engine uses.
    public static let shared = ScratchPool()

    private let lock = NSLock()
    private var free: [Storage] = []

    public init() {}

    /// Runs `body` with a buffer of at least `count` floats (contents undefined).
    /// The pointer must not escape `body`.
    @inline(__always)
    public func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let storage = acquire(count)
        defer { release(storage) }
        return body(storage.pointer)
    }

    /// Same as `withBuffer`, zero-filled.
    @inline(__always)
    public func withZeroedBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withBuffer(count: count) { p in
            p.update(repeating: 0, count: count)
            return body(p)
        }
    }

    /// Checks out a buffer of at least `count` floats. Pair with `release`.
    public func acquire(_ count: Int) -> Storage {
        lock.lock()
        defer { lock.unlock() }
        var best = -1
        for i in free.indices where free[i].count >= count {
            if best < 0 || free[i].count < free[best].count { best = i }
        }
        if best >= 0 { return free.remove(at: best) }
        // Nothing fits: replace the largest idle buffer (it is too small) instead of keeping both,
        // so the pool's size stays bounded by concurrency × largest request.
        if let largest = free.indices.max(by: { free[$0].count < free[$1].count }) {
            free.remove(at: largest)
        }
        return Storage(uninitializedCount: count)
    }

    /// Returns a buffer obtained from `acquire`.
    public func release(_ storage: Storage) {
        lock.lock()
        free.append(storage)
        lock.unlock()
    }

    /// Bytes held by idle buffers.
    public var idleBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return free.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride
    }

    /// Frees every idle buffer (e.g. between training and a long inference session).
    public func trim() {
        lock.lock()
        free.removeAll()
        lock.unlock()
    }
}
