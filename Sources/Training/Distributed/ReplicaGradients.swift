import Foundation
import Engine

/// Sums the gradients of a parameter list over all ranks before an optimizer step, through one
/// reusable staging buffer of at most `bucketBytes` (64 MiB by default): gradients are packed in
/// parameter order, reduced bucket by bucket (MPI_Allreduce in place), and unpacked. Every rank then
/// holds the same gradients, so the same optimizer step keeps the replicas identical.
///
/// Sum, not mean: each replica's losses are normalised by the global batch (its share of the
/// single-process loss), so the sum is the single-process gradient.
///
/// A parameter that got no gradient on some ranks but one on others gets a zero gradient where it
/// had none (a presence count is reduced first), so every rank's optimizer updates the same parameters.
public final class ReplicaGradients {
    public let group: ReplicaGroup
    public let bucketElements: Int
    private var staging: [Float] = []
    /// Bytes sent into all-reduce by the last `sum` (for the docs' traffic figures).
    public private(set) var lastReducedBytes = 0

    public init(group: ReplicaGroup, bucketBytes: Int = 64 << 20) {
        self.group = group
        bucketElements = max(1, bucketBytes / MemoryLayout<Float>.stride)
    }

    public func sum(_ parameters: [Tensor]) throws {
        var present = parameters.map { Int32($0.grad == nil ? 0 : 1) }
        try group.allReduceSum(&present)
        var tensors: [Tensor] = []
        for (p, n) in zip(parameters, present) where n > 0 {
            if p.grad == nil { p.grad = Tensor(zeros: p.shape) }
            if let g = p.grad { tensors.append(g) }
        }
        let total = tensors.reduce(0) { $0 + $1.count }
        lastReducedBytes = total * MemoryLayout<Float>.stride
        guard total > 0 else { return }
        if staging.count < min(total, bucketElements) { staging = [Float](repeating: 0, count: min(total, bucketElements)) }
        let capacity = min(total, bucketElements)
        try staging.withUnsafeMutableBufferPointer { buffer in
            guard let stage = buffer.baseAddress else { return }
            // Walk (tensor, offset) through the gradients: fill a bucket, reduce it, copy it back.
            var tensorIndex = 0, offset = 0
            while tensorIndex < tensors.count {
                var filled = 0
                var pieces: [(tensor: Int, offset: Int, count: Int, at: Int)] = []
                while filled < capacity, tensorIndex < tensors.count {
                    let g = tensors[tensorIndex]
                    let n = min(g.count - offset, capacity - filled)
                    (stage + filled).update(from: g.pointer + offset, count: n)
                    pieces.append((tensorIndex, offset, n, filled))
                    filled += n; offset += n
                    if offset == g.count { tensorIndex += 1; offset = 0 }
                }
                try group.allReduceSum(stage, count: filled)
                for piece in pieces {
                    (tensors[piece.tensor].pointer + piece.offset).update(from: stage + piece.at, count: piece.count)
                }
            }
        }
    }
}

/// A task that can train on several ranks: it must be able to say whether the replicas agree.
public protocol ReplicatedTrainingTask: TrainingTask {
    /// A hash of everything the replicas must hold identically (weights, optimizer moments, RNG,
    /// schedules); compared across ranks at start, after a resume and at every checkpoint.
    func replicaFingerprint() -> UInt64
}

/// Checkpoint handling across ranks: rank 0 alone reads and writes the run folder; the other ranks
/// receive its trainer state and checkpoint files over MPI (no shared file system needed).
public enum ReplicaCheckpoint {
    /// Rank 0's `state` on every rank; when rank 0 resumed from `checkpoint`, its files are sent to
    /// the other ranks, written to a private temporary folder and given to `load` there.
    public static func share(_ group: ReplicaGroup, state: Data, checkpoint: URL?, load: (URL, Data) throws -> Void) throws -> Data {
        let shared = try group.broadcast(state)
        var names: [String] = []
        if group.rank == 0, let checkpoint {
            names = try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).sorted()
        }
        let list = try group.broadcast(Data(names.joined(separator: "\n").utf8))
        names = String(decoding: list, as: UTF8.self).split(separator: "\n").map(String.init)
        guard !names.isEmpty else { return shared }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vits-replica-\(getpid())")
        if group.rank != 0 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        defer { if group.rank != 0 { try? FileManager.default.removeItem(at: folder) } }
        for name in names {
            var mine = Data()
            if group.rank == 0, let checkpoint { mine = try Data(contentsOf: checkpoint.appendingPathComponent(name)) }
            let bytes = try group.broadcast(mine)
            if group.rank != 0 { try bytes.write(to: folder.appendingPathComponent(name)) }
        }
        if group.rank != 0 { try load(folder, shared) }
        return shared
    }

    /// Throws on every rank unless all ranks hold the same fingerprint.
    public static func verify(_ group: ReplicaGroup, fingerprint: UInt64, when: String) throws {
        var mine = Data(count: 8)
        mine.withUnsafeMutableBytes { $0.storeBytes(of: fingerprint.littleEndian, as: UInt64.self) }
        let rootPrint = try group.broadcast(mine)
        let differs = try group.any(rootPrint != mine)
        if differs {
            throw TrainingError.corrupt("the ranks hold different weights or optimizer states \(when) (fingerprints differ from rank 0's): the replicas diverged. Check that every node runs the same vits binary and data folder, then resume from the last checkpoint")
        }
    }
}

/// FNV-1a-style 64-bit hash over the bit patterns of float tensors (word at a time).
public struct TensorFingerprint {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    public init() {}
    public mutating func add(_ t: Tensor) {
        add(UnsafeBufferPointer(start: t.pointer, count: t.count))
    }
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var h = value ^ UInt64(values.count)
        guard let base = values.baseAddress else { value = h; return }
        base.withMemoryRebound(to: UInt32.self, capacity: values.count) { w in
            for i in 0..<values.count { h = (h ^ UInt64(w[i])) &* 0x0000_0100_0000_01B3 }
        }
        value = h
    }
    public mutating func add(_ word: UInt64) { value = (value ^ word) &* 0x0000_0100_0000_01B3 }
}
