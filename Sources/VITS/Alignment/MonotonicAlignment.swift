import Engine
import Cores

/// Why an alignment could not be computed: the lengths describe no monotonic path.
public enum AlignmentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Every token needs at least one frame: frames must be >= tokens >= 1.
    case noMonotonicPath(item: Int, tokens: Int, frames: Int)
    /// A length is outside the padded tensor.
    case lengthOutOfRange(item: Int, length: Int, limit: Int, what: String)
    /// Lengths array does not have one entry per batch item.
    case batchMismatch(expected: Int, found: Int, what: String)
    /// The tensor does not have the documented shape.
    case badShape(found: [Int], expected: String)
    /// A training slice needs `segment` frames but the item has fewer.
    case itemShorterThanSegment(item: Int, frames: Int, segment: Int)

    public var description: String {
        switch self {
        case let .noMonotonicPath(item, tokens, frames):
            return "batch item \(item): \(tokens) tokens cannot be aligned to \(frames) frames (need frames >= tokens >= 1); the audio is too short for its text"
        case let .lengthOutOfRange(item, length, limit, what):
            return "batch item \(item): \(what) length \(length) is outside the padded size \(limit)"
        case let .batchMismatch(expected, found, what):
            return "expected \(expected) \(what) (one per batch item), found \(found)"
        case let .badShape(found, expected):
            return "expected a tensor of shape \(expected), found \(found)"
        case let .itemShorterThanSegment(item, frames, segment):
            return "batch item \(item): \(frames) frames, a training slice needs at least \(segment)"
        }
    }
}

/// Monotonic alignment search and the duration ↔ path conversions of the reference
/// (`monotonic_align.maximum_path`, `commons.generate_path`, `commons.rand_slice_segments`).
/// Pure functions on Float buffers; no autograd (the reference runs them under no_grad).
public enum MonotonicAlignment {
    /// Score of cells a path cannot come from (the reference's `max_neg_val`).
    public static let maskedValue: Float = -1e9

    /// Most likely monotonic alignment, exactly as the reference Cython `maximum_path_c`.
    ///
    /// - Parameters:
    ///   - logLikelihood: `neg_cent`, shape [B, Ty, Tx]: log-likelihood of frame y under token x.
    ///   - tokenLengths: valid tokens per item (t_x); frameLengths: valid frames per item (t_y).
    /// - Returns: the path `attn`, shape [B, 1, Ty, Tx], 1 where frame y is assigned to token x.
    ///   Every valid frame gets exactly one token, every valid token at least one frame, in order;
    ///   cells outside the valid lengths are 0.
    ///
    /// Ties (equal accumulated scores) keep the current token while backtracking, as the reference.
    /// Float32 accumulation in the same order as the reference, so the path is bit-for-bit the same.
    public static func maximumPath(_ logLikelihood: Tensor, tokenLengths: [Int], frameLengths: [Int]) throws(AlignmentError) -> Tensor {
        guard logLikelihood.rank == 3 else { throw .badShape(found: logLikelihood.shape, expected: "[B, Ty, Tx]") }
        let batch = logLikelihood.shape[0], frames = logLikelihood.shape[1], tokens = logLikelihood.shape[2]
        let path = Tensor(uninitialized: [batch, 1, frames, tokens])  // every element is written below
        try maximumPath(values: logLikelihood.pointer, path: path.pointer, batch: batch, maxFrames: frames, maxTokens: tokens,
                        tokenLengths: tokenLengths, frameLengths: frameLengths)
        return path
    }

    /// Buffer form of `maximumPath`: `values` is [B, maxFrames, maxTokens] (read only), `path` the same
    /// size; `path` is fully overwritten. Batch items are split over the cores.
    public static func maximumPath(values: UnsafePointer<Float>, path: UnsafeMutablePointer<Float>,
                                   batch: Int, maxFrames: Int, maxTokens: Int,
                                   tokenLengths: [Int], frameLengths: [Int]) throws(AlignmentError) {
        guard tokenLengths.count == batch else { throw .batchMismatch(expected: batch, found: tokenLengths.count, what: "token lengths") }
        guard frameLengths.count == batch else { throw .batchMismatch(expected: batch, found: frameLengths.count, what: "frame lengths") }
        for b in 0..<batch {
            let tx = tokenLengths[b], ty = frameLengths[b]
            if tx > maxTokens { throw .lengthOutOfRange(item: b, length: tx, limit: maxTokens, what: "token") }
            if ty > maxFrames { throw .lengthOutOfRange(item: b, length: ty, limit: maxFrames, what: "frame") }
            if tx < 1 || ty < tx { throw .noMonotonicPath(item: b, tokens: tx, frames: ty) }
        }
        let plane = maxFrames * maxTokens
        nonisolated(unsafe) let source = values, target = path
        Parallel.forRanges(batch, minChunk: 1) { items in
            // Per chunk: two score rows and one "step back a token" flag per cell.
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: 2 * maxTokens)
            let moves = UnsafeMutablePointer<UInt8>.allocate(capacity: plane)
            defer { rows.deallocate(); moves.deallocate() }
            for b in items {
                (target + b * plane).update(repeating: 0, count: plane)
                alignOne(values: source + b * plane, path: target + b * plane, stride: maxTokens,
                         tokens: tokenLengths[b], frames: frameLengths[b], rows: rows, moves: moves)
            }
        }
    }

    /// One item. The reference accumulates `value[y, x] += max(value[y-1, x-1], value[y-1, x])` in place
    /// and backtracks comparing the same accumulated entries of row y-1; keeping two rolling rows and
    /// the comparison outcome per cell gives the same decisions with far less memory traffic.
    private static func alignOne(values: UnsafePointer<Float>, path: UnsafeMutablePointer<Float>, stride: Int,
                                 tokens tx: Int, frames ty: Int,
                                 rows: UnsafeMutablePointer<Float>, moves: UnsafeMutablePointer<UInt8>) {
        var prev = rows, cur = rows + stride
        let neg = maskedValue
        for y in 0..<ty {
            let lo = max(0, tx &+ y &- ty), hi = min(tx, y &+ 1)  // band of reachable tokens
            let row = values + y &* stride
            let move = moves + y &* stride
            var x = lo
            if x == 0 {
                // Token 0 can only continue itself; at y == 0 the path starts here with score 0.
                let vCur = y == 0 ? neg : prev[0]
                let vPrev: Float = y == 0 ? 0 : neg
                cur[0] = row[0] + max(vPrev, vCur)
                move[0] = 0
                x = 1
            }
            // Interior cells: both predecessors exist (x < y).
            let interiorEnd = min(hi, y)
            while x < interiorEnd {
                let vCur = prev[x], vPrev = prev[x &- 1]
                cur[x] = row[x] + max(vPrev, vCur)
                move[x] = vCur < vPrev ? 1 : 0
                x &+= 1
            }
            if x < hi {
                // Diagonal cell x == y: the same token cannot have been active on row y-1.
                cur[x] = row[x] + max(prev[x &- 1], neg)
                move[x] = 1
            }
            swap(&prev, &cur)
        }
        var index = tx &- 1
        var y = ty &- 1
        while y >= 0 {
            path[y &* stride &+ index] = 1
            if index != 0 && moves[y &* stride &+ index] != 0 { index &-= 1 }
            y &-= 1
        }
    }

    /// Frames per token of a path: `attn.sum(2)`, shape [B, 1, Tx].
    public static func durations(path: Tensor) throws(AlignmentError) -> Tensor {
        guard path.rank == 4, path.shape[1] == 1 else { throw .badShape(found: path.shape, expected: "[B, 1, Ty, Tx]") }
        let batch = path.shape[0], frames = path.shape[2], tokens = path.shape[3]
        let out = Tensor(zeros: [batch, 1, tokens])
        let p = path.pointer, w = out.pointer
        for b in 0..<batch {
            for y in 0..<frames {
                let row = p + (b &* frames &+ y) &* tokens
                for x in 0..<tokens { w[b &* tokens &+ x] += row[x] }
            }
        }
        return out
    }

    /// Path from durations, as the reference `generate_path(duration, mask)` with
    /// mask = sequence_mask(tokenLengths) ⊗ sequence_mask(frameLengths): frame t belongs to token i
    /// iff cum[i-1] <= t < cum[i], cum = cumsum(durations) (accumulated in double like torch's CPU cumsum).
    ///
    /// - Parameters:
    ///   - durations: [B, 1, Tx] or [B, Tx] frames per token (integers in practice: ceil'ed or MAS counts).
    ///   - frames: Ty of the output (the reference uses max(frameLengths)).
    /// - Returns: [B, 1, Ty, Tx] with 0/1 entries.
    public static func generatePath(durations: Tensor, tokenLengths: [Int], frameLengths: [Int], frames: Int) throws(AlignmentError) -> Tensor {
        guard durations.rank >= 2, durations.shape.dropFirst().dropLast().allSatisfy({ $0 == 1 }) else {
            throw .badShape(found: durations.shape, expected: "[B, 1, Tx] or [B, Tx]")
        }
        let batch = durations.shape[0], tokens = durations.shape[durations.rank - 1]
        guard tokenLengths.count == batch else { throw .batchMismatch(expected: batch, found: tokenLengths.count, what: "token lengths") }
        guard frameLengths.count == batch else { throw .batchMismatch(expected: batch, found: frameLengths.count, what: "frame lengths") }
        for b in 0..<batch {
            if tokenLengths[b] < 0 || tokenLengths[b] > tokens { throw .lengthOutOfRange(item: b, length: tokenLengths[b], limit: tokens, what: "token") }
            if frameLengths[b] < 0 || frameLengths[b] > frames { throw .lengthOutOfRange(item: b, length: frameLengths[b], limit: frames, what: "frame") }
        }
        let out = Tensor(zeros: [batch, 1, frames, tokens])
        let d = durations.pointer, p = out.pointer
        for b in 0..<batch {
            var sum: Double = 0
            var previous: Float = 0
            for i in 0..<tokens {
                sum += Double(d[b &* tokens &+ i])
                let cum = Float(sum)
                defer { previous = cum }
                guard i < tokenLengths[b] else { continue }
                // [t < cum] - [t < previous] for t < frameLengths[b]; comparisons in Float as the reference.
                for t in 0..<frameLengths[b] {
                    let ft = Float(t)
                    let v: Float = (ft < cum ? 1 : 0) - (ft < previous ? 1 : 0)
                    if v != 0 { p[(b &* frames &+ t) &* tokens &+ i] = v }
                }
            }
        }
        return out
    }

    /// Output frames per item at inference: `clamp_min(sum(w_ceil), 1)` truncated to an integer.
    /// `durations` is [B, 1, Tx] or [B, Tx].
    public static func frameCounts(durations: Tensor) -> [Int] {
        let batch = durations.shape.first ?? 0
        guard batch > 0 else { return [] }
        let tokens = durations.count / batch
        return (0..<batch).map { b in
            var s: Float = 0
            for i in 0..<tokens { s += durations.pointer[b * tokens + i] }
            return s.isFinite ? Int(max(s, 1)) : 1
        }
    }

    /// Start frames of the random training slices, as `rand_slice_segments`:
    /// `floor(u * (length - segment + 1))` with u ~ U[0, 1) one per item, computed in float32.
    public static func segmentStarts(uniform: [Float], frameLengths: [Int], segmentFrames: Int) throws(AlignmentError) -> [Int] {
        guard uniform.count == frameLengths.count else { throw .batchMismatch(expected: frameLengths.count, found: uniform.count, what: "uniform draws") }
        var starts: [Int] = []
        for (b, (u, length)) in zip(uniform, frameLengths).enumerated() {
            guard length >= segmentFrames else { throw .itemShorterThanSegment(item: b, frames: length, segment: segmentFrames) }
            let span = Float(length - segmentFrames + 1)
            let start = Int(max(0, min(u * span, span - 1)).rounded(.towardZero))
            starts.append(start)
        }
        return starts
    }
}
