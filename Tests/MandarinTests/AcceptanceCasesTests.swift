import Mandarin
import XCTest

/// The acceptance table of issue 4 (research notes §8): every core case must match exactly; the
/// stretch cases are printed, not asserted.
final class AcceptanceCasesTests: XCTestCase {
    func rows(_ name: String) throws -> [(String, String)] {
        try fixture(name).split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t")
            return f.count == 2 ? (String(f[0]), String(f[1])) : nil
        }
    }

    func testCoreCases() throws {
        let cases = try rows("frontend_cases.tsv")
        XCTAssertEqual(cases.count, 56)
        var misses: [String] = []
        for (text, expected) in cases {
            let got = py(text)
            if got != expected { misses.append("\(text)\n   want \(expected)\n   got  \(got)") }
        }
        XCTAssertTrue(misses.isEmpty, "\(misses.count) of \(cases.count) cases differ:\n" + misses.joined(separator: "\n"))
    }

    func testStretchCasesAreReported() throws {
        let cases = try rows("frontend_cases_stretch.tsv")
        XCTAssertEqual(cases.count, 6)
        var passed = 0
        for (text, expected) in cases {
            let got = py(text)
            if got == expected { passed += 1 }
            print("stretch \(got == expected ? "PASS" : "MISS") \(text) | want \(expected) | got \(got)")
        }
        print("stretch cases: \(passed)/\(cases.count)")
    }
}
