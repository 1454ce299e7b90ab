import Foundation
import Mandarin
import XCTest

final class InventoryTests: XCTestCase {
    let inventory = PhonemeInventory.v1

    func testVersionedIdsAreStable() throws {
        XCTAssertEqual(inventory.version, "zh-v1")
        XCTAssertEqual(inventory.count, 220)
        XCTAssertEqual(Array(inventory.symbols.prefix(9)), ["<pad>", "sil", "sp", "#1", "#2", "#3", "#4", "^", "b"])
        XCTAssertEqual(try inventory.id(of: "s"), 28)
        XCTAssertEqual(try inventory.id(of: "a1"), 29)
        XCTAssertEqual(try inventory.id(of: "ai1"), 34)
        XCTAssertEqual(try inventory.id(of: "vn5"), 218)
        XCTAssertEqual(try inventory.id(of: "rr"), 219)
        XCTAssertEqual(Set(inventory.symbols).count, inventory.count, "symbols are unique")
        for (i, s) in inventory.symbols.enumerated() { XCTAssertEqual(try inventory.symbol(of: i), s) }
    }

    func testSyllableToTokens() throws {
        let cases: [(String, [String])] = [
            ("hang2", ["h", "ang2"]), ("yi1", ["^", "i1"]), ("wu3", ["^", "u3"]), ("yu2", ["^", "v2"]),
            ("yuan2", ["^", "van2"]), ("ju4", ["j", "v4"]), ("que4", ["q", "ve4"]), ("xun2", ["x", "vn2"]),
            ("lv4", ["l", "v4"]), ("nve4", ["n", "ve4"]), ("liu2", ["l", "iou2"]), ("gui4", ["g", "uei4"]),
            ("dun1", ["d", "uen1"]), ("zi3", ["z", "ii3"]), ("shi4", ["sh", "iii4"]), ("ri4", ["r", "iii4"]),
            ("er2", ["^", "er2"]), ("huir4", ["h", "uei4", "rr"]), ("wanr2", ["^", "uan2", "rr"]), ("a5", ["^", "a5"]),
            ("weng1", ["^", "ueng1"]), ("yo1", ["^", "iou1"]), ("ng1", ["^", "en1"]), ("lo5", ["l", "o5"]),
        ]
        for (syllable, tokens) in cases {
            XCTAssertEqual(try PhonemeInventory.tokens(forSyllable: syllable), tokens, syllable)
        }
    }

    func testUnknownInputIsATypedError() {
        for bad in ["hao6", "hao", "xyz3", "Hao3", "zhii1", "3", "", "bv2"] {
            XCTAssertThrowsError(try PhonemeInventory.tokens(forSyllable: bad), bad) { error in
                XCTAssertEqual(error as? MandarinError, .unknownSyllable(bad))
            }
        }
        XCTAssertThrowsError(try inventory.id(of: "x9")) { XCTAssertEqual($0 as? MandarinError, .unknownToken("x9")) }
        XCTAssertThrowsError(try PhonemeInventory.pinyin(fromTokens: ["h"]))
        XCTAssertThrowsError(try PhonemeInventory.pinyin(fromTokens: ["a1"]))
        XCTAssertThrowsError(try PhonemeInventory.pinyin(fromTokens: ["b", "iii1"]))
        XCTAssertThrowsError(try PhonemeInventory.pinyin(fromTokens: ["qq", "a1"])) { XCTAssertEqual($0 as? MandarinError, .unknownToken("qq")) }
    }

    /// Every reading in the bundled lexicon has tokens, and tokens → pinyin gives it back
    /// (canonical spellings only: yo/ng/lo-style interjections map many-to-one by design).
    func testLexiconSyllablesRoundTrip() throws {
        let lexicon = frontend.lexicon
        var spellings = Set<String>()
        for word in lexicon.phraseWords() { for s in lexicon.phraseReading(word) ?? [] { spellings.insert(s.description) } }
        var scalar: UInt32 = 0x3400
        while scalar < 0xFB00 {
            if let u = Unicode.Scalar(scalar) { for s in lexicon.readings(of: u) { spellings.insert(s.description) } }
            scalar += 1
        }
        XCTAssertGreaterThan(spellings.count, 1300)
        var manyToOne = 0
        for s in spellings {
            let tokens = try PhonemeInventory.tokens(forSyllable: s)
            XCTAssertNoThrow(try inventory.ids(of: tokens), s)
            let back = try PhonemeInventory.pinyin(fromTokens: tokens)
            if back != [s] { manyToOne += 1 }
        }
        XCTAssertLessThan(manyToOne, 20, "only rare interjection spellings may come back canonical")
        // erhua forms of every base round-trip too
        XCTAssertEqual(try PhonemeInventory.pinyin(fromTokens: ["sil", "h", "uei4", "rr", "sp", "^", "i2", "sil"]), ["huir4", "yi2"])
    }
}
