import Foundation
import Mandarin
import XCTest

/// What the frontend reports as dropped, and when text has nothing to say.
final class SpeakableTextTests: XCTestCase {
    func testDroppedSymbolIsReportedNotPrinted() {
        let r = frontend.process("你好☃")
        XCTAssertEqual(r.pinyin, ["ni2", "hao3"])
        XCTAssertEqual(r.dropped, [DroppedCharacter(scalar: "☃", reason: .unsupported)])
        XCTAssertEqual(DroppedCharacter.summary(r.dropped), ["dropped 1 character not in the inventory: '☃' (U+2603)"])
        XCTAssertTrue(r.isSpeakable)
        XCTAssertNil(r.unspeakableReason)
    }

    func testWhatNormalizationReadsIsNotDropped() {
        for text in ["¥99", "温度-3℃", "3/4", "α+β=γ", "①", "今天是2024-03-05。", "“你好”，《书》"] {
            XCTAssertEqual(frontend.process(text).dropped, [], text)
        }
        XCTAssertEqual(frontend.process("℃").dropped.map(\.scalar), ["℃"])   // a unit with no number before it
    }

    func testSummaryCountsAndLimitsDistinctCharacters() {
        let r = frontend.process("好😀😀🎉🚀🌟🔥💧🍎\u{7}")
        XCTAssertEqual(r.dropped.count, 9)
        XCTAssertEqual(DroppedCharacter.summary(r.dropped),
                       ["dropped 9 characters not in the inventory: '😀' (U+1F600), '🎉' (U+1F389), '🚀' (U+1F680), '🌟' (U+1F31F), '🔥' (U+1F525), … (3 more distinct)"])
        XCTAssertEqual(DroppedCharacter(scalar: "\u{7}", reason: .unsupported).display, "U+0007")
    }

    func testUndecodableBytesAreNamedAsSuch() throws {
        let text = String(decoding: [0xFF, 0xFE, 0xFD] as [UInt8], as: UTF8.self)   // what argv and readLine give
        let r = frontend.process(text)
        XCTAssertEqual(r.dropped, Array(repeating: DroppedCharacter(scalar: "\u{FFFD}", reason: .undecodable), count: 3))
        XCTAssertFalse(r.isSpeakable)
        XCTAssertTrue(try XCTUnwrap(r.unspeakableReason).contains("not valid UTF-8"))
        XCTAssertEqual(DroppedCharacter.summary(r.dropped).first?.hasPrefix("dropped 3 undecodable byte sequences (U+FFFD)"), true)
    }

    func testNothingSpeakableHasAReasonForEachCause() throws {
        XCTAssertEqual(frontend.process("").unspeakableReason, "nothing to say: the text is empty")
        XCTAssertEqual(frontend.process("  \n").unspeakableReason, "nothing to say: the text is empty (only spaces or line breaks)")
        XCTAssertTrue(try XCTUnwrap(frontend.process("，。！……").unspeakableReason).contains("only punctuation"))
        let emoji = try XCTUnwrap(frontend.process("😀 🎉").unspeakableReason)
        XCTAssertTrue(emoji.contains("no character of the text can be spoken"), emoji)
        XCTAssertTrue(emoji.contains("'😀' (U+1F600)"), emoji)
        XCTAssertTrue(frontend.process("A").isSpeakable)
        XCTAssertTrue(frontend.process("5").isSpeakable)
    }

    func testHanziWithoutAReadingAreReported() throws {
        // A lexicon of one character: every other hanzi has no reading.
        let lexicon = try Lexicon(chars: Data("你\tni3\n".utf8), words: Data(), overrides: Data())
        let r = MandarinFrontend(lexicon: lexicon).process("你好")
        XCTAssertEqual(r.pinyin, ["ni3"])
        XCTAssertEqual(r.dropped, [DroppedCharacter(scalar: "好", reason: .noReading)])
        XCTAssertTrue(DroppedCharacter.summary(r.dropped)[0].hasPrefix("dropped 1 hanzi without a reading in the lexicon: '好' (U+597D)"))
    }
}
