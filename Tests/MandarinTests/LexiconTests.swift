import Foundation
import Mandarin
import XCTest

final class LexiconTests: XCTestCase {
    func testBundledLexiconSize() throws {
        let lexicon = frontend.lexicon
        XCTAssertGreaterThan(lexicon.wordCount, 150_000)
        XCTAssertGreaterThan(lexicon.phraseCount, 45_000)
        XCTAssertGreaterThan(lexicon.characterCount, 26_000)
        XCTAssertGreaterThan(lexicon.overrideCount, 10)
        XCTAssertEqual(lexicon.readings(of: "行").map(\.description).prefix(2), ["xing2", "hang2"])
        XCTAssertEqual(lexicon.phraseReading("银行")?.map(\.description), ["yin2", "hang2"])
        XCTAssertEqual(lexicon.phraseReading("东西")?.map(\.description), ["dong1", "xi5"], "override applied")
    }

    func testSmallLexiconFromData() throws {
        let chars = Data("行\txing2,hang2\n银\tyin2\n".utf8)
        let words = Data("银行\t100\tyin2 hang2\n行\t50\t\n".utf8)
        let overrides = Data("# comment\n行银\thang2 yin2\t7\n".utf8)
        let lexicon = try Lexicon(chars: chars, words: words, overrides: overrides)
        XCTAssertEqual(lexicon.wordCount, 2)
        XCTAssertTrue(lexicon.contains("行银"))
        XCTAssertEqual(lexicon.segment("银行行"), ["银行", "行"])
    }

    func testMalformedResourcesNameFileAndLine() {
        let good = Data("银\tyin2\n".utf8)
        XCTAssertThrowsError(try Lexicon(chars: Data("银\tyin2\n行\txing\n".utf8), words: Data(), overrides: Data())) {
            XCTAssertEqual($0 as? MandarinError, .resource(name: "zh_chars.txt", line: 2, reason: "expected 'char<TAB>reading,reading…' for a CJK character"))
        }
        XCTAssertThrowsError(try Lexicon(chars: good, words: Data("银行\tmany\t\n".utf8), overrides: Data())) {
            XCTAssertEqual($0 as? MandarinError, .resource(name: "zh_words.txt", line: 1, reason: "frequency is not a positive integer"))
        }
        XCTAssertThrowsError(try Lexicon(chars: good, words: Data("\n银行\t5\tyin2\n".utf8), overrides: Data())) {
            XCTAssertEqual($0 as? MandarinError, .resource(name: "zh_words.txt", line: 2, reason: "reading does not have one syllable per character"))
        }
        XCTAssertThrowsError(try Lexicon(chars: good, words: Data("银行\t5\tyin2 hxng2\n".utf8), overrides: Data())) {
            XCTAssertEqual($0 as? MandarinError, .resource(name: "zh_words.txt", line: 1, reason: "malformed pinyin reading"), "not in the inventory")
        }
        XCTAssertThrowsError(try Lexicon(chars: good, words: Data(), overrides: Data("银行\n".utf8))) {
            XCTAssertEqual($0 as? MandarinError, .resource(name: "zh_overrides.txt", line: 1, reason: "expected 'word<TAB>pinyin[<TAB>freq]'"))
        }
    }

    func testConcurrentUseGivesTheSameResults() {
        let texts = ["他去银行取钱。", "请等一会儿。", "今天是2024年3月5日。", "我也很好。"]
        let expected = texts.map { frontend.process($0) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values = [G2PResult?](repeating: nil, count: 64)
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let r = frontend.process(texts[i % texts.count])
            results.lock.lock()
            results.values[i] = r
            results.lock.unlock()
        }
        for i in 0..<64 { XCTAssertEqual(results.values[i], expected[i % texts.count]) }
    }
}
