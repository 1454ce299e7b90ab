import Foundation
import Mandarin
import XCTest

/// Every split rule of `TextChunker`, and the bound on chunk length for arbitrary text.
final class TextChunkerTests: XCTestCase {
    func chunks(_ text: String, max: Int, lexicon: Bool = true) -> [String] {
        TextChunker(maxLength: max, lexicon: lexicon ? frontend.lexicon : nil).chunks(text)
    }

    func testRule1SentencesAreAlwaysSplitAndNeverMerged() {
        // The sentence ends and line breaks that VoiceSynthesizer.sentences has always used.
        XCTAssertEqual(chunks("第一句。第二句！第三句？\n第四句；fifth! sixth?  \n\n 最后", max: 100),
                       ["第一句。", "第二句！", "第三句？", "第四句；", "fifth!", "sixth?", "最后"])
        XCTAssertEqual(chunks("你好。你好。", max: 100), ["你好。", "你好。"])
        XCTAssertEqual(chunks("你好，世界", max: 100), ["你好，世界"])
        XCTAssertEqual(chunks(" \n\n ", max: 100), [])
        XCTAssertEqual(chunks("", max: 100), [])
        // Closing quotes and brackets stay with their sentence.
        XCTAssertEqual(chunks("他说：“走吧。”然后走了。（完）", max: 100), ["他说：“走吧。”", "然后走了。", "（完）"])
        XCTAssertEqual(chunks("He said \"go!\" and left.", max: 100), ["He said \"go!\"", "and left."])
    }

    func testRule2ClausesArePackedGreedily() {
        let s = "春天来了，花都开了，鸟也叫了。"      // three clauses of five characters
        XCTAssertEqual(chunks(s, max: 15), [s])
        XCTAssertEqual(chunks(s, max: 8), ["春天来了，", "花都开了，", "鸟也叫了。"])
        XCTAssertEqual(chunks(s, max: 10), ["春天来了，花都开了，", "鸟也叫了。"])
        // Other pause marks cut too; opening brackets do not end a clause.
        // Brackets stay with their word (rule 3): （北京） is never cut after （ or before ）.
        XCTAssertEqual(chunks("甲乙丙丁：戊己庚辛、壬癸子丑（北京）", max: 6),
                       ["甲乙丙丁：", "戊己庚辛、", "壬癸子丑", "（北京）"])
    }

    func testRule2LeavesASCIIMarksInsideNumbersAlone() {
        // 1,000,000 and 3.5 and 9:00 are not clause ends; the full-width comma is.
        let pieces = chunks("总数是1,000,000个，约3.5吨，9:00到。", max: 12)
        XCTAssertEqual(pieces.joined(), "总数是1,000,000个，约3.5吨，9:00到。")
        for p in pieces { XCTAssertLessThanOrEqual(p.count, 12, p) }
        XCTAssertTrue(pieces.contains { $0.contains("1,000,000") }, "\(pieces)")
        XCTAssertTrue(pieces.contains { $0.contains("3.5") }, "\(pieces)")
        XCTAssertTrue(pieces.contains { $0.contains("9:00") }, "\(pieces)")
        // ASCII marks between letters or digits are no clause ends; before a space they are.
        XCTAssertEqual(chunks("a,b 1,2 x, y", max: 5), ["a,b", "1,2", "x,", "y"])
    }

    func testRule3WordsFromTheSegmenter() {
        // 3,000 characters without punctuation: 你好 is one word, so cuts fall between words and
        // greedy packing fills every chunk to exactly 100.
        let text = String(repeating: "你好", count: 1500)
        let pieces = chunks(text, max: 100)
        XCTAssertEqual(pieces.count, 30)
        XCTAssertTrue(pieces.allSatisfy { $0 == String(repeating: "你好", count: 50) })
        XCTAssertEqual(chunks(text, max: 99).first, String(repeating: "你好", count: 49))   // never 你|好
        // The segmenter's words: 中华人民共和国 stays whole where a character-wise cut would not.
        XCTAssertEqual(frontend.lexicon.segment("我爱中华人民共和国"), ["我", "爱", "中华人民共和国"])
        XCTAssertEqual(chunks("我爱中华人民共和国", max: 8), ["我爱", "中华人民共和国"])
        XCTAssertEqual(chunks("我爱中华人民共和国", max: 8, lexicon: false), ["我爱中华人民共和", "国"])
        // Spaces and the hanzi / other-script boundary are word ends.
        XCTAssertEqual(chunks("我爱Python编程", max: 6), ["我爱", "Python", "编程"])
        let english = "hello world this is a long English sentence without any punctuation at all"
        let words = chunks(english, max: 20)
        XCTAssertEqual(words.joined(separator: " "), english)
        XCTAssertTrue(words.allSatisfy { $0.count <= 20 }, "\(words)")
        XCTAssertEqual(words.first, "hello world this is")
    }

    func testRule4HardCutInsideLongWords() {
        let digits = String(repeating: "1234567890", count: 5)
        XCTAssertEqual(chunks(digits, max: 20), ["12345678901234567890", "12345678901234567890", "1234567890"])
        // Grapheme clusters are never cut: the family emoji is one character.
        XCTAssertEqual(chunks("ab👨‍👩‍👧cd", max: 3), ["ab👨‍👩‍👧", "cd"])
    }

    /// Random text from an alphabet of hanzi, letters, digits, spaces, punctuation and line breaks:
    /// chunks are non-empty, trimmed, at most `max` long, and hold every non-space character in order.
    func testArbitraryTextIsCoveredByBoundedChunks() {
        let alphabet: [Character] = Array("你好中国人民天气很我们是的了，。！？、：；,.!?:;-  \n\"“”（）abcXYZ0123456789☃😀")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for trial in 0..<200 {
            let length = next() % 400
            let text = String((0..<length).map { _ in alphabet[next() % alphabet.count] })
            let max = 8 + next() % 60
            let pieces = chunks(text, max: max)
            for p in pieces {
                XCTAssertFalse(p.isEmpty)
                XCTAssertLessThanOrEqual(p.count, max, "trial \(trial)")
                XCTAssertEqual(p, p.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            XCTAssertEqual(pieces.joined().filter { !$0.isWhitespace }, text.filter { !$0.isWhitespace }, "trial \(trial): \(text)")
        }
    }
}
