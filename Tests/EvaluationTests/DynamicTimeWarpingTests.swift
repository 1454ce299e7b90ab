import XCTest
import Evaluation

final class DynamicTimeWarpingTests: XCTestCase {
    /// One-dimensional sequences whose optimal alignment is known by hand: b repeats a's second
    /// element, so the path must map both copies to it and stay diagonal elsewhere.
    func testRepeatedElementIsAbsorbed() {
        let a: [Double] = [0, 1, 2, 3]
        let b: [Double] = [0, 1, 1, 2, 3]
        let path = DynamicTimeWarping.path(a, b, dimension: 1)
        XCTAssertEqual(path.map { [$0.0, $0.1] }, [[0, 0], [1, 1], [1, 2], [2, 3], [3, 4]])
    }

    /// Identical sequences align on the diagonal.
    func testIdenticalSequencesAlignDiagonally() {
        let a: [Double] = [0, 0, 1, 5, 5, 2, 3, 3]   // two-dimensional rows
        let path = DynamicTimeWarping.path(a, a, dimension: 2)
        XCTAssertEqual(path.map { [$0.0, $0.1] }, [[0, 0], [1, 1], [2, 2], [3, 3]])
    }

    /// A slower copy (every element doubled) maps two of its frames onto each original frame.
    func testTimeStretchedCopy() {
        let a: [Double] = [1, 4, 9]
        let b: [Double] = [1, 1, 4, 4, 9, 9]
        let path = DynamicTimeWarping.path(a, b, dimension: 1)
        XCTAssertEqual(path.count, 6)
        for (i, j) in path { XCTAssertEqual(a[i], b[j]) }
        XCTAssertEqual(path.first?.0, 0); XCTAssertEqual(path.last?.1, 5)
    }
}
