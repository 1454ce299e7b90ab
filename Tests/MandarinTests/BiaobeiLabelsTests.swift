import Foundation
import Mandarin
import XCTest

final class BiaobeiLabelsTests: XCTestCase {
    /// labels_sample.txt: BOM, CRLF, trailing spaces, a blank line, erhua, and one of each fault.
    func testSampleFile() throws {
        let file = BiaobeiLabels.parse(try fixture("labels_sample.txt"))
        XCTAssertEqual(file.utterances.map(\.id), ["100001", "100002", "100003", "100005", "100008", "100009", "100010"])
        XCTAssertEqual(file.issues.map(\.line), [8, 12, 13, 15, 18, 21])
        XCTAssertEqual(file.issues.map(\.skipped), [true, true, true, true, true, false])
        XCTAssertEqual(file.issues[0].id, "100004")
        XCTAssertTrue(file.issues[0].message.contains("no pinyin line"))
        XCTAssertTrue(file.issues[1].message.contains("yinn1"))
        XCTAssertTrue(file.issues[2].message.contains("#1–#4"))
        XCTAssertNil(file.issues[3].id)
        XCTAssertTrue(file.issues[4].message.contains("duplicate"))

        let first = file.utterances[0]
        XCTAssertEqual(first.text, "今天天气很好。")
        XCTAssertEqual(first.line, 1)
        XCTAssertEqual(first.prosody, [.init(offset: 2, level: 1), .init(offset: 4, level: 2), .init(offset: 6, level: 4)])
        XCTAssertEqual(first.syllables.map(\.description), ["jin1", "tian1", "tian1", "qi4", "hen2", "hao3"])
        XCTAssertEqual(first.tokens, ["sil", "j", "in1", "t", "ian1", "t", "ian1", "q", "i4", "h", "en2", "h", "ao3", "sil"])

        let second = file.utterances[1]
        XCTAssertEqual(second.text, "我们一起去公园，好吗？")
        XCTAssertEqual(second.tokens.filter { $0 == "sp" }.count, 1, "one pause at the comma, none at the end")
        XCTAssertEqual(Array(second.tokens.suffix(3)), ["m", "a5", "sil"])

        let erhua = file.utterances[2]
        XCTAssertEqual(erhua.syllables.map(\.description), ["qing2", "deng3", "yi2", "huir4"])
        XCTAssertEqual(Array(erhua.tokens.suffix(4)), ["h", "uei4", "rr", "sil"])
        XCTAssertTrue(file.issues.filter { !$0.skipped }.allSatisfy { $0.id == "100009" }, "会儿 aligns with huir4")

        let quoted = file.utterances[3]
        XCTAssertEqual(quoted.tokens, ["sil", "t", "a1", "sh", "uo1", "sp", "h", "ao3", "d", "e5", "sil"])
        XCTAssertEqual(file.utterances[4].syllables.count, 5, "a full-width letter takes one syllable")
        XCTAssertEqual(file.utterances[6].tokens.filter { $0 == "rr" }.count, 2)
    }

    func testLineEndingsDoNotMatter() {
        let unix = "000001\t你好#1世界#4。\n\tni2 hao3 shi4 jie4\n"
        let windows = "\u{FEFF}000001\t你好#1世界#4。  \r\n\tni2 hao3 shi4 jie4 \r\n"
        let a = BiaobeiLabels.parse(unix), b = BiaobeiLabels.parse(windows)
        XCTAssertEqual(a.utterances, b.utterances)
        XCTAssertTrue(a.issues.isEmpty && b.issues.isEmpty)
    }

    func testMissingFileIsATypedError() {
        let url = URL(fileURLWithPath: "/nonexistent/ProsodyLabeling/000001-010000.txt")
        XCTAssertThrowsError(try BiaobeiLabels.parse(contentsOf: url)) { error in
            guard case .unreadableFile(let path, _) = error as? MandarinError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
        }
    }

    func testEmptyAndGarbageInputNeverCrash() {
        XCTAssertTrue(BiaobeiLabels.parse("").utterances.isEmpty)
        let garbage = BiaobeiLabels.parse("\t\t\n###\n123\n000001\t\n\t\n")
        XCTAssertTrue(garbage.utterances.isEmpty)
        XCTAssertFalse(garbage.issues.isEmpty)
    }
}
