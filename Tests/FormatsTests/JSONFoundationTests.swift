import XCTest
import Foundation
import Formats

/// `JSONNode.foundationValue`: a parsed document handed on as Foundation objects equals what
/// Foundation's own parser makes of the same text, and keeps integers exact where it does not.
final class JSONFoundationTests: XCTestCase {
    func testFoundationValueEqualsJSONSerializationsReading() throws {
        let text = #"""
        {"audio": {"sample_rate": 22050, "quality": "medium"}, "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": -8e-1},
         "phoneme_id_map": {"_": [0], "ə": [59], "\"": [3, 4]}, "speaker_id_map": {}, "flags": [true, false, null], "empty": [],
         "nested": [[1.5, -2], {"a": "b\nc"}]}
        """#
        let data = Data(text.utf8)
        let ours = try XCTUnwrap(JSONParser.parse(data).foundationValue as? [String: Any])
        let foundation = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(NSDictionary(dictionary: ours), NSDictionary(dictionary: foundation))
        // Re-serialized by JSONSerialization and read back: the same document.
        let written = try JSONSerialization.data(withJSONObject: ours, options: [.sortedKeys])
        XCTAssertEqual(try JSONParser.parse(written), try JSONParser.parse(try JSONSerialization.data(withJSONObject: foundation, options: [.sortedKeys])))
        XCTAssertEqual((ours["audio"] as? [String: Any])?["sample_rate"] as? Int, 22050)
        XCTAssertEqual((ours["inference"] as? [String: Any])?["noise_w"] as? Double, -0.8)
        XCTAssertTrue((ours["flags"] as? [Any])?[2] is NSNull)
    }

    func testIntegersStayExact() throws {
        let node = try JSONParser.parse(Data("[9007199254740993, -9007199254740993, 1.0, 1e2, 99999999999999999999]".utf8))
        let values = try XCTUnwrap(node.foundationValue as? [Any])
        XCTAssertEqual(values[0] as? Int, 9_007_199_254_740_993)   // 2^53 + 1: a Double would round it
        XCTAssertEqual(values[1] as? Int, -9_007_199_254_740_993)
        XCTAssertEqual(values[2] as? Double, 1.0)
        XCTAssertEqual(values[3] as? Double, 100)
        XCTAssertEqual(values[4] as? Double, 1e20)                 // past Int: the Double
    }
}
