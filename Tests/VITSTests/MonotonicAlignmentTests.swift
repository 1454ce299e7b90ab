import Foundation
import XCTest
import Engine
import VITS

final class MonotonicAlignmentTests: XCTestCase {
    /// Float32 score of a path given as the token of each frame, summed frame by frame like the search.
    private func score(_ values: [Float], tokens: Int, assignment: [Int]) -> Float {
        var s: Float = 0
        for (y, x) in assignment.enumerated() { s = values[y * tokens + x] + s }
        return s
    }

    /// Every monotonic path over `frames` × `tokens`: token of frame 0 is 0, of the last frame is
    /// tokens-1, and each step stays or advances by one.
    private func allPaths(frames: Int, tokens: Int) -> [[Int]] {
        var paths: [[Int]] = []
        func extend(_ prefix: [Int]) {
            if prefix.count == frames {
                if prefix.last == tokens - 1 { paths.append(prefix) }
                return
            }
            let last = prefix.last!
            let remaining = frames - prefix.count
            if tokens - 1 - last <= remaining - 1 { extend(prefix + [last]) }  // stay, if the rest still fits
            if last + 1 < tokens { extend(prefix + [last + 1]) }
        }
        extend([0])
        return paths
    }

    /// Token of each valid frame of item `b` of a [B,1,Ty,Tx] path; nil when a frame has not exactly one token.
    private func assignment(_ path: Tensor, item b: Int, frames ty: Int) -> [Int]? {
        let maxTy = path.shape[2], tx = path.shape[3]
        var out: [Int] = []
        for y in 0..<ty {
            let row = (0..<tx).filter { path.pointer[(b * maxTy + y) * tx + $0] != 0 }
            guard row.count == 1 else { return nil }
            out.append(row[0])
        }
        return out
    }

    func testMatchesBruteForceOnRandomInputs() throws {
        var rng = TestRandom(state: 20240601)
        var checkedUnique = 0
        for trial in 0..<300 {
            let tx = rng.int(1...5), ty = rng.int(tx...9)
            // Pad to bigger sizes with junk that must never be read.
            let maxTx = tx + rng.int(0...2), maxTy = ty + rng.int(0...3)
            var values = [Float](repeating: 1e6, count: maxTy * maxTx)
            var dense = [Float](repeating: 0, count: ty * tx)
            // Coarse values (multiples of 1/4) make exact ties common, so the tie rule is exercised too.
            let coarse = trial % 3 == 0
            for y in 0..<ty {
                for x in 0..<tx {
                    let v = coarse ? Float(rng.int(0...8)) * -0.25 : -8 * rng.uniform()
                    values[y * maxTx + x] = v
                    dense[y * tx + x] = v
                }
            }
            let input = Tensor(shape: [1, maxTy, maxTx], data: values)
            let path = try MonotonicAlignment.maximumPath(input, tokenLengths: [tx], frameLengths: [ty])
            let chosen = try XCTUnwrap(assignment(path, item: 0, frames: ty), "trial \(trial): not one token per frame")
            XCTAssertEqual(path.scalars.reduce(0, +), Float(ty), "trial \(trial): cells outside the valid region set")

            let candidates = allPaths(frames: ty, tokens: tx)
            XCTAssertTrue(candidates.contains(chosen), "trial \(trial): chosen path is not monotonic: \(chosen)")
            let scores = candidates.map { score(dense, tokens: tx, assignment: $0) }
            let best = scores.max()!
            XCTAssertEqual(score(dense, tokens: tx, assignment: chosen), best, "trial \(trial): not a maximum")
            let winners = candidates.indices.filter { scores[$0] == best }
            if winners.count == 1 {
                XCTAssertEqual(chosen, candidates[winners[0]], "trial \(trial)")
                checkedUnique += 1
            }
        }
        XCTAssertGreaterThan(checkedUnique, 150)
    }

    /// With equal scores everywhere the reference backtrack keeps the current token unless forced,
    /// so the last token takes every frame it can and earlier tokens get one frame each.
    func testTiesKeepTheCurrentToken() throws {
        let input = Tensor(zeros: [1, 5, 3])
        let path = try MonotonicAlignment.maximumPath(input, tokenLengths: [3], frameLengths: [5])
        XCTAssertEqual(assignment(path, item: 0, frames: 5), [0, 1, 2, 2, 2])
        XCTAssertEqual(try MonotonicAlignment.durations(path: path).scalars, [1, 1, 3])
    }

    func testBatchEqualsItemsAlone() throws {
        var rng = TestRandom(state: 7)
        let batch = 5, maxTy = 40, maxTx = 12
        let tokenLengths = (0..<batch).map { _ in rng.int(1...maxTx) }
        let frameLengths = tokenLengths.map { rng.int($0...maxTy) }
        let values = (0..<(batch * maxTy * maxTx)).map { _ in -4 * rng.uniform() }
        let together = try MonotonicAlignment.maximumPath(Tensor(shape: [batch, maxTy, maxTx], data: values),
                                                          tokenLengths: tokenLengths, frameLengths: frameLengths)
        for b in 0..<batch {
            let plane = Array(values[(b * maxTy * maxTx)..<((b + 1) * maxTy * maxTx)])
            let alone = try MonotonicAlignment.maximumPath(Tensor(shape: [1, maxTy, maxTx], data: plane),
                                                           tokenLengths: [tokenLengths[b]], frameLengths: [frameLengths[b]])
            XCTAssertEqual(Array(together.scalars[(b * maxTy * maxTx)..<((b + 1) * maxTy * maxTx)]), alone.scalars, "item \(b)")
        }
    }

    func testRecordedFixtureAlignments() throws {
        for name in Fixtures.fixtureNames {
            let f = try AlignmentFixture.load(name)
            let negCent = Tensor(shape: f.train.shape, data: Fixtures.floats(bits: f.train.neg_cent_bits))
            let path = try MonotonicAlignment.maximumPath(negCent, tokenLengths: f.train.x_lengths, frameLengths: f.train.spec_lengths)
            XCTAssertEqual(path.shape, [f.train.shape[0], 1, f.train.shape[1], f.train.shape[2]])
            XCTAssertEqual(path.scalars, f.train.attn.map(Float.init), "\(name): MAS path differs from the reference attn")
            XCTAssertEqual(try MonotonicAlignment.durations(path: path).scalars, Fixtures.floats(bits: f.train.w_bits), "\(name): w")

            let starts = try MonotonicAlignment.segmentStarts(uniform: Fixtures.floats(bits: f.train.slice_uniform_bits),
                                                              frameLengths: f.train.spec_lengths, segmentFrames: f.train.segment_frames)
            XCTAssertEqual(starts, f.train.ids_slice, "\(name): ids_slice")

            // Inference: durations (w_ceil) → path, and the frame counts.
            let b = f.infer.shape[0], ty = f.infer.shape[2], tx = f.infer.shape[3]
            let wCeil = Tensor(shape: [b, 1, tx], data: Fixtures.floats(bits: f.infer.w_ceil_bits))
            XCTAssertEqual(MonotonicAlignment.frameCounts(durations: wCeil), f.infer.y_lengths, "\(name): y_lengths")
            let generated = try MonotonicAlignment.generatePath(durations: wCeil, tokenLengths: f.infer.x_lengths,
                                                                frameLengths: f.infer.y_lengths, frames: ty)
            XCTAssertEqual(generated.scalars, f.infer.attn.map(Float.init), "\(name): generate_path")
            // And MAS durations turned back into a path give the MAS path again.
            let w = try MonotonicAlignment.durations(path: path)
            let again = try MonotonicAlignment.generatePath(durations: w, tokenLengths: f.train.x_lengths,
                                                            frameLengths: f.train.spec_lengths, frames: f.train.shape[1])
            XCTAssertEqual(again.scalars, path.scalars, "\(name): generate_path(durations(MAS path))")
        }
    }

    func testGeneratePathByHand() throws {
        // Token 1 has no frames; item 0's frames stop at 4 (mask), item 1 has only 2 tokens.
        let d = Tensor(shape: [2, 1, 3], data: [2, 0, 3, 1, 2, 9])
        let p = try MonotonicAlignment.generatePath(durations: d, tokenLengths: [3, 2], frameLengths: [4, 3], frames: 5)
        XCTAssertEqual(p.shape, [2, 1, 5, 3])
        XCTAssertEqual(p.scalars, [
            1, 0, 0,  1, 0, 0,  0, 0, 1,  0, 0, 1,  0, 0, 0,
            1, 0, 0,  0, 1, 0,  0, 1, 0,  0, 0, 0,  0, 0, 0,
        ])
    }

    func testImpossibleLengthsAreTypedErrors() {
        let t = Tensor(zeros: [2, 4, 3])
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(t, tokenLengths: [3, 3], frameLengths: [4, 2])) {
            XCTAssertEqual($0 as? AlignmentError, .noMonotonicPath(item: 1, tokens: 3, frames: 2))
        }
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(t, tokenLengths: [0, 3], frameLengths: [4, 4]))
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(t, tokenLengths: [3], frameLengths: [4, 4]))
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(t, tokenLengths: [3, 4], frameLengths: [4, 4]))
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(t, tokenLengths: [3, 3], frameLengths: [4, 5]))
        XCTAssertThrowsError(try MonotonicAlignment.maximumPath(Tensor(zeros: [4, 3]), tokenLengths: [3], frameLengths: [4]))
        XCTAssertThrowsError(try MonotonicAlignment.segmentStarts(uniform: [0.5], frameLengths: [31], segmentFrames: 32)) {
            XCTAssertEqual($0 as? AlignmentError, .itemShorterThanSegment(item: 0, frames: 31, segment: 32))
        }
        XCTAssertEqual(try MonotonicAlignment.segmentStarts(uniform: [0.999999], frameLengths: [32], segmentFrames: 32), [0])
    }
}
