import XCTest
import Corpus
import Cores

final class BucketSamplerTests: XCTestCase {
    private let lengths = [50, 120, 310, 35, 999, 20, 450, 455, 460, 301, 299, 1200, 40, 41, 42]
    private let boundaries = [32, 300, 400, 500, 600, 700, 800, 900, 1000]

    func testBucketsFollowLeftOpenRightClosedBoundaries() throws {
        let s = try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: 2, seed: 1)
        XCTAssertEqual(s.dropped, [5, 11])                          // 20 ≤ 32, 1200 > 1000
        XCTAssertEqual(s.buckets, [[0, 1, 3, 10, 12, 13, 14], [2, 9], [6, 7, 8], [4]])
    }

    func testEpochCoversEveryKeptUtteranceWithCorrectPaddingAndSameBucketBatches() throws {
        let s = try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: 2, seed: 7)
        let batches = s.batches(epoch: 3)
        XCTAssertEqual(batches.count, s.batchesPerEpoch)
        XCTAssertEqual(batches.count, 4 + 1 + 2 + 1)
        let bucketOf = Dictionary(uniqueKeysWithValues: s.buckets.enumerated().flatMap { b, ids in ids.map { ($0, b) } })
        for batch in batches {
            XCTAssertEqual(batch.count, 2)
            XCTAssertEqual(Set(batch.map { bucketOf[$0]! }).count, 1, "a batch mixes buckets: \(batch)")
        }
        XCTAssertEqual(Set(batches.joined()), Set(s.buckets.joined()))
    }

    func testDeterministicPerEpochAndDifferentAcrossEpochs() throws {
        let a = try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: 2, seed: 42)
        let b = try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: 2, seed: 42)
        XCTAssertEqual(a.batches(epoch: 5), b.batches(epoch: 5))
        XCTAssertNotEqual(a.batches(epoch: 5), a.batches(epoch: 6))
        let c = try BucketSampler(lengths: lengths, boundaries: boundaries, batchSize: 2, seed: 43)
        XCTAssertNotEqual(a.batches(epoch: 5), c.batches(epoch: 5))
    }

    func testRejectsBadArguments() {
        XCTAssertThrowsError(try BucketSampler(lengths: [10], boundaries: [32, 300], batchSize: 2, seed: 0))
        XCTAssertThrowsError(try BucketSampler(lengths: [100], boundaries: [300, 32], batchSize: 2, seed: 0))
        XCTAssertThrowsError(try BucketSampler(lengths: [100], boundaries: [32, 300], batchSize: 0, seed: 0))
    }

    func testShuffleIsUniformEnough() {
        // Each of 4 items lands in position 0 about a quarter of the time.
        var rng = SplitMix64(seed: 9)
        var counts = [0, 0, 0, 0]
        for _ in 0..<40_000 { var a = [0, 1, 2, 3]; rng.shuffle(&a); counts[a[0]] += 1 }
        for c in counts { XCTAssertEqual(Double(c) / 40_000, 0.25, accuracy: 0.01) }
    }
}
