import Foundation
import Cores

/// Errors restoring a generator from saved state.
public enum RandomStateError: Error, CustomStringConvertible {
    case wrongLength(expected: Int, got: Int)
    case seedMismatch(expected: UInt64, got: UInt64)
    public var description: String {
        switch self {
        case let .wrongLength(e, g): "random generator state must be \(e) values/bytes, got \(g)"
        case let .seedMismatch(e, g): "random generator state belongs to seed \(g), this generator has seed \(e)"
        }
    }
}

/// Counter-based random generator: Philox4x32-10 (Salmon et al., SC'11), the generator PyTorch and
/// JAX use on accelerators. Block i of the stream is philox(key: seed, counter: i) → four UInt32,
/// so the whole state is two numbers (seed, next block) and a saved state resumes bit-exactly.
/// Every draw of a tensor starts at a fresh block: element j uses block (counter + j/4); the counter
/// then advances past the blocks used. Fills are therefore identical however the work is split.
public final class RandomGenerator: @unchecked Sendable {
    public let seed: UInt64
    /// Index of the next unused 128-bit block.
    public private(set) var counter: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.counter = 0
    }

    /// Data-parallel replicas (see `withShard`); nil in a single process.
    public private(set) var shard: (globalBatch: Int, rows: Range<Int>)?

    /// Runs `body` as the replica holding rows `rows` of a global batch of `globalBatch` items:
    /// every `rand`/`randn` draw of shape [n, …] in it (n = k · rows.count, batch-major: the model's
    /// noise and dropout masks) returns rows k·rows of the draw [k · globalBatch, …] a single process
    /// training on the whole batch makes, and advances the counter as that draw does. So each
    /// replica sees the single process's random numbers for its rows, and every replica's state
    /// stays the single process's.
    public func withShard<T>(globalBatch: Int, rows: Range<Int>, _ body: () throws -> T) rethrows -> T {
        precondition(!rows.isEmpty && rows.lowerBound >= 0 && rows.upperBound <= globalBatch, "rows \(rows) outside a batch of \(globalBatch)")
        let saved = shard
        shard = (globalBatch, rows)
        defer { shard = saved }
        return try body()
    }

    /// The global shape and rows of a draw of `shape` under `shard`.
    private func shardedDraw(_ shape: [Int], _ s: (globalBatch: Int, rows: Range<Int>)) -> (rows: Range<Int>, of: [Int]) {
        let local = s.rows.count
        precondition(!shape.isEmpty && shape[0] % local == 0,
                     "a sharded draw needs a batch-major shape whose first axis is a multiple of the replica's \(local) rows, got \(shape)")
        let k = shape[0] / local
        return (k * s.rows.lowerBound ..< k * s.rows.upperBound, [k * s.globalBatch] + shape.dropFirst())
    }

    /// Full state: [seed, counter].
    public var state: [UInt64] { [seed, counter] }

    /// A generator continuing exactly where the one that produced `state` stood.
    public convenience init(state: [UInt64]) throws {
        guard state.count == 2 else { throw RandomStateError.wrongLength(expected: 2, got: state.count) }
        self.init(seed: state[0])
        counter = state[1]
    }

    /// Moves this generator (in place: modules that hold it keep drawing from it) to `state`, which
    /// must come from a generator with the same seed. Used when resuming a checkpoint.
    public func restore(state: [UInt64]) throws {
        guard state.count == 2 else { throw RandomStateError.wrongLength(expected: 2, got: state.count) }
        guard state[0] == seed else { throw RandomStateError.seedMismatch(expected: seed, got: state[0]) }
        counter = state[1]
    }

    /// State as 16 little-endian bytes (seed, counter).
    public var stateBytes: [UInt8] {
        state.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    }

    public convenience init(stateBytes bytes: [UInt8]) throws {
        guard bytes.count == 16 else { throw RandomStateError.wrongLength(expected: 16, got: bytes.count) }
        func word(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        try self.init(state: [word(0), word(8)])
    }

    /// Philox4x32 with 10 rounds on counter (c0, c1, c2, c3) and key (k0, k1).
    @inline(__always)
    public static func philox(counter c: (UInt32, UInt32, UInt32, UInt32), key k: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = c
        var (k0, k1) = k
        for round in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            if round < 9 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
        }
        return (c0, c1, c2, c3)
    }

    @inline(__always)
    func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        RandomGenerator.philox(counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), 0, 0),
                               key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Reserves `blocks` blocks and returns the first one's index.
    private func take(_ blocks: Int) -> UInt64 {
        let start = counter
        counter &+= UInt64(blocks)
        return start
    }

    /// Fills `n` floats: `kernel(firstBlockIndex, words-of-block, dst, validCount)` per block, in parallel.
    private func fill(_ out: UnsafeMutablePointer<Float>, _ n: Int,
                      _ kernel: (UInt32, UInt32, UInt32, UInt32, UnsafeMutablePointer<Float>, Int) -> Void) {
        let blocks = (n + 3) / 4
        let start = take(blocks)
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        Parallel.forRanges(blocks, minChunk: 1 << 12) { r in
            for b in r {
                let idx = start &+ UInt64(b)
                let w = RandomGenerator.philox(counter: (UInt32(truncatingIfNeeded: idx), UInt32(truncatingIfNeeded: idx >> 32), 0, 0), key: key)
                kernel(w.0, w.1, w.2, w.3, out + 4 &* b, Swift.min(4, n - 4 &* b))
            }
        }
    }

    @inline(__always) static func unit(_ w: UInt32) -> Float { Float(w >> 8) * (1 / 16_777_216) }   // [0, 1), 24 bits

    /// Uniform in [0, 1).
    public func rand(_ shape: [Int]) -> Tensor {
        if let shard { let d = shardedDraw(shape, shard); return rand(rows: d.rows, of: d.of) }
        let t = Tensor(uninitialized: shape)
        fill(t.pointer, t.count) { a, b, c, d, o, n in
            let u = (RandomGenerator.unit(a), RandomGenerator.unit(b), RandomGenerator.unit(c), RandomGenerator.unit(d))
            o[0] = u.0
            if n > 1 { o[1] = u.1 }
            if n > 2 { o[2] = u.2 }
            if n > 3 { o[3] = u.3 }
        }
        return t
    }

    /// Uniform in [low, high).
    public func uniform(_ shape: [Int], low: Float, high: Float) -> Tensor {
        let t = rand(shape)
        let p = t.pointer, w = high - low
        for i in 0..<t.count { p[i] = low + w * p[i] }
        return t
    }

    /// Standard normal (Box–Muller on pairs of 32-bit words, computed in Double).
    public func randn(_ shape: [Int]) -> Tensor {
        if let shard { let d = shardedDraw(shape, shard); return randn(rows: d.rows, of: d.of) }
        let t = Tensor(uninitialized: shape)
        fill(t.pointer, t.count) { a, b, c, d, o, n in
            let p0 = RandomGenerator.normalPair(a, b)
            o[0] = p0.0
            if n > 1 { o[1] = p0.1 }
            if n > 2 { let p1 = RandomGenerator.normalPair(c, d); o[2] = p1.0; if n > 3 { o[3] = p1.1 } }
        }
        return t
    }

    /// Box–Muller on two 32-bit words: two standard normals.
    @inline(__always)
    static func normalPair(_ x: UInt32, _ y: UInt32) -> (Float, Float) {
        let u1 = (Double(x) + 1) * (1.0 / 4_294_967_296.0)          // (0, 1]
        let theta = Double(y) * (2 * Double.pi / 4_294_967_296.0)
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return (Float(r * Foundation.cos(theta)), Float(r * Foundation.sin(theta)))
    }

    // MARK: rows of a larger draw (data-parallel training)

    /// Rows `rows` (along the first axis) of what `randn(shape)` would return (outside `withShard`), computing only those
    /// rows; the counter advances exactly as the whole draw would. A replica that trains on rows
    /// a..<b of a global batch thus gets the very noise a single process drawing the whole batch
    /// gives those rows, and every replica's generator stays in step with the single process.
    public func randn(rows: Range<Int>, of shape: [Int]) -> Tensor {
        fillRows(rows, of: shape) { a, b, c, d in
            let p0 = RandomGenerator.normalPair(a, b), p1 = RandomGenerator.normalPair(c, d)
            return (p0.0, p0.1, p1.0, p1.1)
        }
    }

    /// Rows `rows` of what `rand(shape)` would return (uniform in [0, 1)); see `randn(rows:of:)`.
    public func rand(rows: Range<Int>, of shape: [Int]) -> Tensor {
        fillRows(rows, of: shape) { a, b, c, d in
            (RandomGenerator.unit(a), RandomGenerator.unit(b), RandomGenerator.unit(c), RandomGenerator.unit(d))
        }
    }

    /// Element j of the full draw comes from block (start + j/4), word j mod 4, as in `fill`.
    private func fillRows(_ rows: Range<Int>, of shape: [Int],
                          _ values: (UInt32, UInt32, UInt32, UInt32) -> (Float, Float, Float, Float)) -> Tensor {
        precondition(!shape.isEmpty && rows.lowerBound >= 0 && rows.upperBound <= shape[0],
                     "rows \(rows) are not inside the first axis of \(shape)")
        let total = Tensor.elementCount(shape)
        let rowLength = shape[0] == 0 ? 0 : total / shape[0]
        let start = take((total + 3) / 4)
        let t = Tensor(uninitialized: [rows.count] + shape.dropFirst())
        let first = rows.lowerBound &* rowLength, end = rows.upperBound &* rowLength
        guard end > first else { return t }
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        let out = t.pointer
        for b in (first / 4)..<((end + 3) / 4) {
            let idx = start &+ UInt64(b)
            let w = RandomGenerator.philox(counter: (UInt32(truncatingIfNeeded: idx), UInt32(truncatingIfNeeded: idx >> 32), 0, 0), key: key)
            let v = values(w.0, w.1, w.2, w.3)
            for j in Swift.max(first, 4 &* b)..<Swift.min(end, 4 &* b &+ 4) {
                let k = j &- 4 &* b
                out[j &- first] = k == 0 ? v.0 : k == 1 ? v.1 : k == 2 ? v.2 : v.3
            }
        }
        return t
    }

    /// PyTorch's default init for Linear/Conv weights and biases (kaiming_uniform with a = √5):
    /// uniform in ±1/√fanIn, where fanIn = in_channels/groups × kernel size (in_features for Linear).
    public func fanInUniform(_ shape: [Int], fanIn: Int) -> Tensor {
        let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
        return uniform(shape, low: -bound, high: bound)
    }

    /// Normal with the given mean and standard deviation.
    public func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let t = randn(shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = mean + std * p[i] }
        return t
    }

    /// Integers uniform in low..<high (multiply-shift on 32-bit words; bias < range/2³²).
    public func randint(low: Int32, high: Int32, shape: [Int]) -> IntTensor {
        precondition(high > low, "randint needs high > low")
        let n = Tensor.elementCount(shape)
        let range = UInt64(Int64(high) - Int64(low))
        let start = take((n + 3) / 4)
        var v = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let w = block(start &+ UInt64(i / 4))
            let word = [w.0, w.1, w.2, w.3][i % 4]
            v[i] = low &+ Int32(truncatingIfNeeded: (UInt64(word) &* range) >> 32)
        }
        return IntTensor(shape: shape, values: v)
    }

    /// One uniform 64-bit value (uses one block).
    public func nextUInt64() -> UInt64 {
        let w = block(take(1))
        return UInt64(w.0) | UInt64(w.1) << 32
    }

    /// One integer uniform in `range` (uses one block).
    public func int(in range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "empty range")
        let span = UInt64(range.count)
        // Multiply-shift on 64 bits: unbiased to 2⁻⁶⁴·span.
        let hi = nextUInt64().multipliedFullWidth(by: span).high
        return range.lowerBound + Int(hi)
    }

    /// One Float uniform in [0, 1) (uses one block).
    public func uniform() -> Float { RandomGenerator.unit(block(take(1)).0) }

    /// A random permutation of 0..<n (Fisher–Yates).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(in: 0..<(i + 1))) }
        return p
    }
}
