import Mandarin
import XCTest

/// One test per normalization rule, in the order TextNormalizer applies them.
final class NormalizerTests: XCTestCase {
    func testRule01FullWidthFolding() {
        XCTAssertEqual(tn("ＡＢ１２３"), "AB一百二十三")
        XCTAssertEqual(tn("１４：３０"), "十四点三十分")
        XCTAssertEqual(tn("百分之５０％"), "百分之百分之五十")
    }

    func testRule02Currency() {
        XCTAssertEqual(tn("¥99"), "九十九元")
        XCTAssertEqual(tn("￥1,200"), "一千二百元")
        XCTAssertEqual(tn("$5.5"), "五点五美元")
        XCTAssertEqual(tn("€30"), "三十欧元")
        XCTAssertEqual(tn("$2"), "两美元")
        XCTAssertEqual(tn("花了30元"), "花了三十元")
        XCTAssertEqual(tn("2元"), "两元")
    }

    func testRule03SignsAndTemperatures() {
        XCTAssertEqual(tn("气温-3℃"), "气温零下三摄氏度")
        XCTAssertEqual(tn("25°C"), "二十五摄氏度")
        XCTAssertEqual(tn("-5"), "负五")
        XCTAssertEqual(tn("-0.5"), "负零点五")
        XCTAssertEqual(tn("+3"), "正三")
    }

    func testRule04Dates() {
        XCTAssertEqual(tn("2024年3月5日"), "二零二四年三月五日")
        XCTAssertEqual(tn("2024-03-05"), "二零二四年三月五日")
        XCTAssertEqual(tn("2024/3/5"), "二零二四年三月五日")
        XCTAssertEqual(tn("2024.3.5"), "二零二四年三月五日")
        XCTAssertEqual(tn("2023/10"), "二零二三年十月")
        XCTAssertEqual(tn("2月2日"), "二月二日")
    }

    func testRule05TimesAndScores() {
        XCTAssertEqual(tn("14:30"), "十四点三十分")
        XCTAssertEqual(tn("14:05"), "十四点零五分")
        XCTAssertEqual(tn("8:05:09"), "八点零五分九秒")
        XCTAssertEqual(tn("9:00"), "九点")
        XCTAssertEqual(tn("2:00"), "两点")
        XCTAssertEqual(tn("比分是3:2"), "比分是三比二")
        XCTAssertEqual(tn("比赛以2:15告终"), "比赛以二比十五告终")
        XCTAssertEqual(tn("比例3:125"), "比例三比一百二十五")
    }

    func testRule06PhoneAndIDNumbers() {
        XCTAssertEqual(tn("13800138000"), "幺三八零零幺三八零零零")
        XCTAssertEqual(tn("010-12345678"), "零幺零幺二三四五六七八")
        XCTAssertEqual(tn("400-123-4567"), "四零零幺二三四五六七")
        XCTAssertEqual(tn("请拨打110"), "请拨打幺幺零")
        XCTAssertEqual(tn("尾号1234"), "尾号幺二三四")
        XCTAssertEqual(tn("编号007"), "编号零零七")
        XCTAssertEqual(tn("00078"), "零零零七八")
    }

    func testRule07PercentAndPerMille() {
        XCTAssertEqual(tn("12.5%"), "百分之十二点五")
        XCTAssertEqual(tn("100%"), "百分之一百")
        XCTAssertEqual(tn("3‰"), "千分之三")
        XCTAssertEqual(tn("-2%"), "负百分之二")
    }

    func testRule08Fractions() {
        XCTAssertEqual(tn("3/4"), "四分之三")
        XCTAssertEqual(tn("1/100"), "一百分之一")
    }

    func testRule09Years() {
        XCTAssertEqual(tn("1998年"), "一九九八年")
        XCTAssertEqual(tn("80年代"), "八十年代")
        XCTAssertEqual(tn("20年"), "二十年")
        XCTAssertEqual(tn("2年"), "两年")
    }

    func testRule10NumbersOrdinalsAndLiang() {
        XCTAssertEqual(tn("3.14"), "三点一四")
        XCTAssertEqual(tn("第3名"), "第三名")
        XCTAssertEqual(tn("第2名"), "第二名")
        XCTAssertEqual(tn("2斤"), "两斤")
        XCTAssertEqual(tn("2个"), "两个")
        XCTAssertEqual(tn("12个"), "十二个")
        XCTAssertEqual(tn("365天"), "三百六十五天")
        XCTAssertEqual(tn("1,000,000人"), "一百万人")
        XCTAssertEqual(tn("2"), "二")
    }

    func testRule11Units() {
        XCTAssertEqual(tn("2.5kg"), "二点五千克")
        XCTAssertEqual(tn("2kg"), "两千克")
        XCTAssertEqual(tn("5 km"), "五千米")
        XCTAssertEqual(tn("120km/h"), "每小时一百二十千米")
        XCTAssertEqual(tn("16GB"), "十六吉字节")
        XCTAssertEqual(tn("50m²"), "五十平方米")
        XCTAssertEqual(tn("3mins"), "三mins", "a unit must not be the start of a longer word")
    }

    func testRule12Ranges() {
        XCTAssertEqual(tn("10-20"), "十到二十")
        XCTAssertEqual(tn("3~5天"), "三到五天")
        XCTAssertEqual(tn("9:00-18:00"), "九点到十八点")
        XCTAssertEqual(tn("10%-20%"), "百分之十到百分之二十")
        XCTAssertEqual(tn("10-20%"), "百分之十到百分之二十")
    }

    func testRule13MathSymbols() {
        XCTAssertEqual(tn("1+1=2"), "一加一等于二")
        XCTAssertEqual(tn("6×7"), "六乘七")
        XCTAssertEqual(tn("8÷2"), "八除以二")
        XCTAssertEqual(tn("x>3"), "x大于三")
        XCTAssertEqual(tn("5≥3"), "五大于等于三")
        XCTAssertEqual(tn("±5"), "正负五")
    }

    func testRule14LettersAndSymbols() {
        XCTAssertEqual(tn("NBA"), "NBA", "letters stay; the G2P spells them")
        XCTAssertEqual(py("NBA"), "en1 bi4 ei1")
        XCTAssertEqual(py("GPS"), "ji4 pi4 ai2 si5")
        XCTAssertEqual(tn("α粒子"), "阿尔法粒子")
        XCTAssertEqual(tn("①"), "一")
        XCTAssertEqual(tn("A&B"), "A和B")
    }

    func testRule15Punctuation() {
        // kept as typed, so plain Chinese text normalizes to itself
        for text in ["你好,世界!", "真的?", "他说：“好。”", "等等...", "中-美", "《红楼梦》（节选）", "你好 世界"] {
            XCTAssertEqual(tn(text), text)
        }
        XCTAssertEqual(tn("你好😀"), "你好", "emoji carry no sound")
        // pause punctuation becomes sp (once), quotes, brackets and spaces nothing
        XCTAssertEqual(frontend.process("他说：“好。”").tokens, ["sil", "t", "a1", "sh", "uo1", "sp", "h", "ao3", "sil"])
        XCTAssertEqual(frontend.process("好,好!!").tokens, ["sil", "h", "ao3", "sp", "h", "ao3", "sil"])
        XCTAssertEqual(frontend.process("《你好》 世界").tokens, ["sil", "n", "i2", "h", "ao3", "sh", "iii4", "j", "ie4", "sil"])
    }
}

final class NumberReadingTests: XCTestCase {
    func testCardinals() {
        let cases: [(String, String)] = [
            ("0", "零"), ("7", "七"), ("10", "十"), ("15", "十五"), ("20", "二十"), ("105", "一百零五"), ("110", "一百一十"),
            ("1001", "一千零一"), ("1010", "一千零一十"), ("2000", "两千"), ("200", "二百"), ("15000", "一万五千"),
            ("100010", "十万零一十"), ("10500", "一万零五百"), ("20000", "两万"), ("100000000", "一亿"), ("100000001", "一亿零一"),
            ("120000000", "一亿两千万"), ("1234567890123", "一万两千三百四十五亿六千七百八十九万零一百二十三"), ("1000500000000", "一万零五亿"), ("1000000060000", "一万亿零六万"), ("120000", "十二万"),
        ]
        for (digits, expected) in cases { XCTAssertEqual(NumberReading.cardinal(digits), expected, digits) }
    }

    func testDigitsDecimalsFractions() {
        XCTAssertEqual(NumberReading.digits("2024"), "二零二四")
        XCTAssertEqual(NumberReading.digits("110", yao: true), "幺幺零")
        XCTAssertEqual(NumberReading.decimal("0.25"), "零点二五")
        XCTAssertEqual(NumberReading.decimal("2.5"), "二点五")
        XCTAssertEqual(NumberReading.fraction(numerator: "2", denominator: "3"), "三分之二")
    }
}
