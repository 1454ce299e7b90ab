import XCTest
import Engine

final class RandomTests: XCTestCase {
    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    func testPhiloxKnownAnswers() {
        let z = RandomGenerator.philox(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([z.0, z.1, z.2, z.3], [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let f = RandomGenerator.philox(counter: (.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([f.0, f.1, f.2, f.3], [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = RandomGenerator.philox(counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), key: (0xA409_3822, 0x299F_31D0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }

    func testSaveRestoreReplaysStream() throws {
        let g = RandomGenerator(seed: 0xDEAD_BEEF)
        _ = g.randn([1001]); _ = g.rand([7]); _ = g.randint(low: 0, high: 10, shape: [3])
        let saved = g.state, bytes = g.stateBytes
        let a1 = g.randn([513]), a2 = g.rand([64]), a3 = g.randint(low: -5, high: 5, shape: [9]), a4 = g.int(in: 0..<1000)
        for restored in [try RandomGenerator(state: saved), try RandomGenerator(stateBytes: bytes)] {
            XCTAssertEqual(restored.randn([513]).scalars, a1.scalars)
            XCTAssertEqual(restored.rand([64]).scalars, a2.scalars)
            XCTAssertEqual(restored.randint(low: -5, high: 5, shape: [9]), a3)
            XCTAssertEqual(restored.int(in: 0..<1000), a4)
            XCTAssertEqual(restored.state, g.state)
        }
        XCTAssertThrowsError(try RandomGenerator(stateBytes: [1, 2, 3]))
        XCTAssertThrowsError(try RandomGenerator(state: [1]))
    }

    func testSeedsAndDrawsDiffer() {
        XCTAssertNotEqual(RandomGenerator(seed: 1).rand([8]).scalars, RandomGenerator(seed: 2).rand([8]).scalars)
        let g = RandomGenerator(seed: 1)
        XCTAssertNotEqual(g.rand([8]).scalars, g.rand([8]).scalars)
    }

    func testParallelFillEqualsPiecewiseFill() {
        // A big fill (split over the cores) equals the same blocks drawn in two smaller fills.
        let big = RandomGenerator(seed: 3).randn([1 << 16])
        let g = RandomGenerator(seed: 3)
        let first = g.randn([1 << 15]), second = g.randn([1 << 15])
        XCTAssertEqual(big.scalars, first.scalars + second.scalars)
    }

    func testMoments() {
        let n = 200_000
        let z = RandomGenerator(seed: 5).randn([n]).scalars.map(Double.init)
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let kurt = z.map { pow($0 - mean, 4) }.reduce(0, +) / Double(n) / (variance * variance)
        XCTAssertEqual(mean, 0, accuracy: 0.01)        // σ/√n = 0.0022
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        XCTAssertEqual(kurt, 3, accuracy: 0.06)
        let u = RandomGenerator(seed: 6).rand([n]).scalars.map(Double.init)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let um = u.reduce(0, +) / Double(n)
        XCTAssertEqual(um, 0.5, accuracy: 0.003)
        XCTAssertEqual(u.map { ($0 - um) * ($0 - um) }.reduce(0, +) / Double(n), 1.0 / 12, accuracy: 0.001)
        let r = RandomGenerator(seed: 7).randint(low: 3, high: 9, shape: [60_000]).values
        XCTAssertTrue(r.allSatisfy { $0 >= 3 && $0 < 9 })
        for v in Int32(3)..<9 { XCTAssertEqual(Double(r.filter { $0 == v }.count) / 60_000, 1.0 / 6, accuracy: 0.01) }
        let perm = RandomGenerator(seed: 8).permutation(100)
        XCTAssertEqual(perm.sorted(), Array(0..<100))
        XCTAssertNotEqual(perm, Array(0..<100))
    }
}

extension RandomTests {
    /// Rows of a draw (data-parallel replicas) equal those rows of the whole draw, for row lengths
    /// that do and do not fill whole 4-value blocks, and advance the counter as the whole draw does.
    func testRowsOfADrawEqualTheWholeDrawsRows() {
        for shape in [[4, 3, 5], [6, 2, 2], [3, 1], [5, 7]] {
            let rowLength = shape.dropFirst().reduce(1, *)
            for rows in [0..<1, 1..<3, 0..<shape[0], (shape[0] - 1)..<shape[0]] {
                for kind in ["normal", "uniform"] {
                    let whole = RandomGenerator(seed: 42), part = RandomGenerator(seed: 42)
                    _ = whole.rand([3]); _ = part.rand([3])          // an odd starting counter
                    let all = kind == "normal" ? whole.randn(shape) : whole.rand(shape)
                    let mine = kind == "normal" ? part.randn(rows: rows, of: shape) : part.rand(rows: rows, of: shape)
                    XCTAssertEqual(mine.shape, [rows.count] + shape.dropFirst(), "\(kind) \(shape) \(rows)")
                    XCTAssertEqual(mine.scalars, Array(all.scalars[rows.lowerBound * rowLength..<rows.upperBound * rowLength]),
                                   "\(kind) rows \(rows) of \(shape)")
                    XCTAssertEqual(part.state, whole.state, "counter after \(kind) rows \(rows) of \(shape)")
                    XCTAssertEqual(part.randn([5]).scalars, whole.randn([5]).scalars)
                }
            }
        }
    }
}
