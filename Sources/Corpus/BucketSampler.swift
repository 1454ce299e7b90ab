import Cores

/// Length-bucketed batching as the reference VITS trains (`DistributedBucketSampler`, one replica):
/// utterances are grouped into buckets by spectrogram length (`boundaries` in frames, a length ℓ
/// falls in bucket i when boundaries[i] < ℓ ≤ boundaries[i+1]); each bucket is padded to a multiple of
/// the batch size by repeating its own items; every epoch shuffles within buckets, cuts batches, and
/// shuffles the batch order. Utterances outside all buckets are dropped (reported by `dropped`).
///
/// Determinism: an epoch's batches depend only on (seed, epoch) — so a resumed run recomputes the
/// same order and skips to its saved position. The permutation RNG is our own (SplitMix64), not
/// torch's, so orders differ from the reference's while following the same rules.
public struct BucketSampler: Sendable {
    public let batchSize: Int
    public let seed: UInt64
    /// Indices per non-empty bucket, in input order.
    public let buckets: [[Int]]
    /// Indices whose length fell outside every bucket.
    public let dropped: [Int]

    public init(lengths: [Int], boundaries: [Int], batchSize: Int, seed: UInt64) throws {
        guard batchSize >= 1 else { throw CorpusError.invalidArgument("batch size must be ≥ 1 (got \(batchSize))") }
        guard boundaries.count >= 2, zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw CorpusError.invalidArgument("bucket boundaries must be at least two strictly increasing frame counts (got \(boundaries))")
        }
        var buckets = [[Int]](repeating: [], count: boundaries.count - 1)
        var dropped: [Int] = []
        for (i, length) in lengths.enumerated() {
            // first boundary ≥ length, minus one → the bucket index (left-open, right-closed)
            if length > boundaries[0], length <= boundaries[boundaries.count - 1],
               let upper = boundaries.firstIndex(where: { $0 >= length }) {
                buckets[upper - 1].append(i)
            } else {
                dropped.append(i)
            }
        }
        self.buckets = buckets.filter { !$0.isEmpty }
        self.dropped = dropped
        self.batchSize = batchSize
        self.seed = seed
        if self.buckets.isEmpty {
            throw CorpusError.invalidArgument("no utterance fits the bucket boundaries \(boundaries) (all \(lengths.count) dropped)")
        }
    }

    /// Batches per epoch (the same every epoch).
    public var batchesPerEpoch: Int {
        buckets.reduce(0) { $0 + ($1.count + batchSize - 1) / batchSize }
    }

    /// The batches of `epoch`, each a list of utterance indices.
    public func batches(epoch: Int) -> [[Int]] {
        var rng = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
        var all: [[Int]] = []
        for bucket in buckets {
            var ids = bucket
            rng.shuffle(&ids)
            // pad to a multiple of batchSize by cycling through the shuffled bucket
            let remainder = (batchSize - ids.count % batchSize) % batchSize
            for k in 0..<remainder { ids.append(ids[k % bucket.count]) }
            for start in stride(from: 0, to: ids.count, by: batchSize) {
                all.append(Array(ids[start..<start + batchSize]))
            }
        }
        rng.shuffle(&all)
        return all
    }
}
