import Foundation

/// A contiguous, 64-byte aligned, reference-counted buffer of Float32.
///
/// Kernels read `pointer` once and loop over raw memory; nothing in a hot loop touches a class
/// property (see docs/engine.md: class-held arrays cost ~20 ns/element through exclusivity checks).
/// `@unchecked Sendable`: the engine only ever writes disjoint ranges from parallel workers.
public final class Storage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    /// Bytes actually reserved (BufferCache may hand out a slightly larger block).
    private let reservedBytes: Int

    /// Uninitialized storage of `count` floats (callers that do not overwrite every element must zero it).
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "Storage count must be non-negative")
        self.count = count
        // Always allocate at least one element so `pointer` is valid for empty tensors.
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let (raw, reserved) = BufferCache.shared.allocate(bytes: bytes)
        self.reservedBytes = reserved
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Zero-filled storage.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.update(repeating: 0, count: count)
    }

    deinit {
        BufferCache.shared.deallocate(UnsafeMutableRawPointer(pointer), bytes: reservedBytes)
    }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
}
