import Mandarin
import XCTest

/// Segmentation, polyphones, neutral tone, sandhi and erhua, one behaviour per test.
final class G2PRuleTests: XCTestCase {
    func testSegmentationPrefersLikelyWords() throws {
        let lexicon = frontend.lexicon
        XCTAssertEqual(lexicon.segment("他去银行取钱"), ["他", "去", "银行", "取", "钱"])
        XCTAssertEqual(lexicon.segment("研究生命起源"), ["研究", "生命", "起源"])
        XCTAssertEqual(lexicon.segment("结婚的和尚未结婚的"), ["结婚", "的", "和", "尚未", "结婚", "的"])
    }

    func testPhraseReadingsBeatCharacterDefaults() {
        XCTAssertEqual(py("银行"), "yin2 hang2")
        XCTAssertEqual(py("行业"), "hang2 ye4")
        XCTAssertEqual(py("重庆"), "chong2 qing4")
        XCTAssertEqual(py("音乐"), "yin1 yue4")
    }

    func testContextRulesForSingleCharacterPolyphones() {
        XCTAssertEqual(py("我们得去了"), "wo3 men5 dei3 qu4 le5")             // modal 得
        XCTAssertEqual(py("我们得走了"), "wo3 men5 dei2 zou3 le5")            // … with 3-3 sandhi
        XCTAssertEqual(py("他跑得很快"), "ta1 pao3 de5 hen3 kuai4")           // particle 得
        XCTAssertEqual(py("绳子很长"), "sheng2 zi5 hen3 chang2")              // 长 after a degree adverb
        XCTAssertEqual(py("老师教我们"), "lao3 shi1 jiao1 wo3 men5")          // 教 with an object
        XCTAssertEqual(py("他还钱"), "ta1 huan2 qian2")                       // 还 + money
        XCTAssertEqual(py("他还在"), "ta1 hai2 zai4")
        XCTAssertEqual(py("一只猫"), "yi4 zhi1 mao1")                         // measure word 只
        XCTAssertEqual(py("认真地学习"), "ren4 zhen1 de5 xue2 xi2")           // adverbial 地
        XCTAssertEqual(py("以他为荣"), "yi3 ta1 wei2 rong2")                   // 以…为…
        XCTAssertEqual(py("第三行"), "di4 san1 hang2")                        // measure word 行
        XCTAssertEqual(py("重写一遍"), "chong2 xie3 yi2 bian4")               // 重 = again
    }

    func testNeutralTones() {
        XCTAssertEqual(py("我的书"), "wo3 de5 shu1")
        XCTAssertEqual(py("好吗"), "hao3 ma5")
        XCTAssertEqual(py("东西"), "dong1 xi5")                               // override file
        XCTAssertEqual(py("这个"), "zhe4 ge5")
    }

    func testThirdToneSandhiDomains() {
        XCTAssertEqual(py("你好"), "ni2 hao3")                                // inside a word
        XCTAssertEqual(py("我想"), "wo2 xiang3")                              // across two monosyllables
        XCTAssertEqual(py("展览馆"), "zhan2 lan2 guan3")                      // 2+1
        XCTAssertEqual(py("纸老虎"), "zhi3 lao2 hu3")                         // 1+2
        XCTAssertEqual(py("我也很好"), "wo2 ye3 hen2 hao3")                   // two feet
        XCTAssertEqual(py("姐姐"), "jie3 jie5")                               // neutral blocks sandhi
        XCTAssertEqual(py("好，好"), "hao3 hao3")                             // not across punctuation
    }

    func testYiSandhi() {
        XCTAssertEqual(py("一定"), "yi2 ding4")       // before tone 4
        XCTAssertEqual(py("一天"), "yi4 tian1")       // before tone 1
        XCTAssertEqual(py("一起"), "yi4 qi3")         // before tone 3
        XCTAssertEqual(py("一个"), "yi2 ge4")         // before 个 (tone 4)
        XCTAssertEqual(py("第一"), "di4 yi1")         // ordinal
        XCTAssertEqual(py("统一"), "tong3 yi1")       // word-final
        XCTAssertEqual(py("十一"), "shi2 yi1")        // inside a number
        XCTAssertEqual(py("1991年"), "yi1 jiu2 jiu3 yi1 nian2")   // digit string
        XCTAssertEqual(py("3.1"), "san1 dian3 yi1")   // after 点
        XCTAssertEqual(py("1月1日"), "yi1 yue4 yi1 ri4")          // dates
        XCTAssertEqual(py("试一试"), "shi4 yi2 shi4") // V一V: Biaobei uses normal sandhi
        XCTAssertEqual(py("100"), "yi4 bai3")         // cardinal
    }

    func testBuSandhi() {
        XCTAssertEqual(py("不是"), "bu2 shi4")
        XCTAssertEqual(py("不好"), "bu4 hao3")
        XCTAssertEqual(py("好不好"), "hao3 bu4 hao3")
        XCTAssertEqual(py("去不去"), "qu4 bu2 qu4")
        XCTAssertEqual(py("不"), "bu4")
    }

    func testErhuaMergesIntoThePreviousSyllable() {
        XCTAssertEqual(py("一会儿"), "yi2 huir4")
        XCTAssertEqual(py("哪儿"), "nar3")
        XCTAssertEqual(py("一点儿"), "yi4 dianr3")
        XCTAssertEqual(py("女儿"), "nv3 er2")          // lexicalised: not erhua
        XCTAssertEqual(py("儿童"), "er2 tong2")
        let r = frontend.process("等一会儿")
        XCTAssertEqual(r.tokens, ["sil", "d", "eng3", "^", "i2", "h", "uei4", "rr", "sil"])
        XCTAssertEqual(r.chars.map { $0.pinyin }, ["deng3", "yi1", "hui4", "huir4"])
    }

    func testCharsFollowTheNormalizedText() {
        let r = frontend.process("他考了第2名，F1赛车。")
        XCTAssertEqual(r.normalized, "他考了第二名，F一赛车。")
        XCTAssertEqual(String(r.chars.map { $0.char }), r.normalized)
        XCTAssertEqual(r.chars[6].pinyin, nil)                       // ，
        XCTAssertEqual(r.chars[7].pinyin, "ai2 fu5")                  // letter name
        XCTAssertEqual(r.chars[1].pinyin, "kao3")                     // reading before sandhi
        XCTAssertEqual(r.pinyin.count, r.tokens.filter { PhonemeInventory.initials.contains($0) || $0 == "^" }.count)
    }

    func testTokensAndPauses() throws {
        let r = frontend.process("你好，世界！")
        XCTAssertEqual(r.tokens, ["sil", "n", "i2", "h", "ao3", "sp", "sh", "iii4", "j", "ie4", "sil"])
        let ids = try frontend.tokenIDs("你好")
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.last, 1)
        XCTAssertEqual(frontend.process("").tokens, ["sil", "sil"])
        XCTAssertEqual(frontend.process("，。").tokens, ["sil", "sil"])
    }
}
