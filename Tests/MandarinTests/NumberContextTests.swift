import Mandarin
import XCTest

/// Years, decades, generations, seasons and their ranges and lists (YearAndEraReading.swift), and
/// the number contexts found by reading the digit-bearing CPP sentences through the frontend.
final class NumberContextTests: XCTestCase {
    func testDecades() {
        XCTAssertEqual(tn("80年代"), "八十年代")
        XCTAssertEqual(tn("第一辆蒸汽电车在18世纪80年代开始运作"), "第一辆蒸汽电车在十八世纪八十年代开始运作")
        XCTAssertEqual(tn("20世纪90年代初"), "二十世纪九十年代初")
        XCTAssertEqual(tn("21世纪10年代"), "二十一世纪一零年代")
        XCTAssertEqual(tn("1980年代"), "一九八零年代")
    }

    func testGenerations() {
        XCTAssertEqual(tn("最美90后女孩"), "最美九零后女孩")
        XCTAssertEqual(tn("00后"), "零零后")
        XCTAssertEqual(tn("95后"), "九五后")
        XCTAssertEqual(tn("3天后"), "三天后", "a count of days is not a generation")
        XCTAssertEqual(tn("第90后"), "第九十后")
    }

    func testYearRanges() {
        XCTAssertEqual(tn("1998-2003年"), "一九九八到二零零三年")
        XCTAssertEqual(tn("1998～2003年"), "一九九八到二零零三年")
        XCTAssertEqual(tn("1998~2003年"), "一九九八到二零零三年")
        XCTAssertEqual(tn("1998——2003年"), "一九九八到二零零三年")
        XCTAssertEqual(tn("1998至2003年"), "一九九八至二零零三年")
        XCTAssertEqual(tn("1998、1999和2000年"), "一九九八、一九九九和二零零零年")
        XCTAssertEqual(tn("1000-2000米"), "一千到两千米", "a range of quantities stays a count")
    }

    func testLifespans() {
        XCTAssertEqual(tn("萧照（1131—1162）南宋画家"), "萧照（一一三一到一一六二）南宋画家")
        XCTAssertEqual(tn("(1784-1846)"), "(一七八四到一八四六)")
        XCTAssertEqual(tn("（1500-1200）"), "（一千五百到一千二百）", "a descending pair is not a lifespan")
    }

    func testSeasons() {
        XCTAssertEqual(tn("2014-15赛季"), "二零一四到一五赛季")
        XCTAssertEqual(tn("2016/17赛季"), "二零一六到一七赛季")
        XCTAssertEqual(tn("1969-70年度"), "一九六九到七零年度")
        XCTAssertEqual(tn("2004赛季"), "二零零四赛季")
    }

    func testAncientYears() {
        XCTAssertEqual(tn("至德二载（757年），"), "至德二载（七五七年），")
        XCTAssertEqual(tn("公元前703年"), "公元前七零三年")
        XCTAssertEqual(tn("于前367年参与"), "于前三六七年参与")
        XCTAssertEqual(tn("长达500年"), "长达五百年", "a duration stays a count")
    }
}

final class CitationMarkerTests: XCTestCase {
    func testCitationMarkersAreNotRead() {
        XCTAssertEqual(tn("可以参考综合审评[16]。"), "可以参考综合审评。")
        XCTAssertEqual(tn("治疗心脏病[23]"), "治疗心脏病")
        XCTAssertEqual(tn("[5]圈烯"), "[五]圈烯", "a bracketed number inside a name is read")
        XCTAssertEqual(tn("[2024]"), "[两千零二十四]", "four digits are not a citation")
    }
}

final class OrdinalTests: XCTestCase {
    func testOrdinalListsKeepEr() {
        XCTAssertEqual(tn("第1、2名"), "第一、二名")
        XCTAssertEqual(tn("第1-2名"), "第一到二名")
        XCTAssertEqual(tn("第2名"), "第二名")
        XCTAssertEqual(tn("第1名和2个人"), "第一名和两个人", "a count after an ordinal stays a count")
    }

    func testGradeIsNotCounted() {
        XCTAssertEqual(tn("2年级"), "二年级")
        XCTAssertEqual(tn("2年"), "两年")
    }
}

final class DashAndGroupingTests: XCTestCase {
    func testDashBetweenQuantities() {
        XCTAssertEqual(tn("1951年8月-1955年9月"), "一九五一年八月到一九五五年九月")
        XCTAssertEqual(tn("形成于42亿年-43亿年前"), "形成于四十二亿年到四十三亿年前")
        XCTAssertEqual(tn("温差可达30℃-50℃"), "温差可达三十摄氏度到五十摄氏度")
        XCTAssertEqual(tn("在1546 -1610年"), "在一五四六到一六一零年")
        XCTAssertEqual(tn("尾长16 -23厘米"), "尾长十六到二十三厘米")
    }

    func testDashAsSignOrHyphen() {
        XCTAssertEqual(tn("气温-3℃"), "气温零下三摄氏度")
        XCTAssertEqual(tn("可降至-4℃"), "可降至零下四摄氏度")
        XCTAssertEqual(tn("视星等为-13"), "视星等为负十三")
        XCTAssertEqual(tn("米格-19飞行员"), "米格十九飞行员")
        XCTAssertEqual(tn("钴-56"), "钴五十六")
    }

    func testScores() {
        XCTAssertEqual(tn("恒大2-0击败江苏"), "恒大二比零击败江苏")
        XCTAssertEqual(tn("比分1-1"), "比分一比一")
        XCTAssertEqual(tn("比赛在10-12日举行"), "比赛在十到十二日举行", "a date range is not a score")
        XCTAssertEqual(tn("2-3天"), "二到三天")
    }

    func testIsolatedYears() {
        XCTAssertEqual(tn("嘉靖二十五年（1546）都御史"), "嘉靖二十五年（一五四六）都御史")
        XCTAssertEqual(tn("1991 年"), "一九九一年")
        XCTAssertEqual(tn("（364）"), "（三百六十四）")
    }

    func testSpaceGroupedThousands() {
        XCTAssertEqual(tn("面积超过16 000公顷"), "面积超过一万六千公顷")
        XCTAssertEqual(tn("1 234 567"), "一百二十三万四千五百六十七")
        XCTAssertEqual(tn("第 2 期"), "第 二 期")
    }

    func testPostcodesAreDigits() {
        XCTAssertEqual(tn("邮政编码162893。"), "邮政编码幺六二八九三。")
        XCTAssertEqual(tn("代码页在前128个字符"), "代码页在前一百二十八个字符")
    }
}

final class SpacedRangeTests: XCTestCase {
    func testSpacedRanges() {
        XCTAssertEqual(tn("16 - 23厘米"), "十六到二十三厘米")
        XCTAssertFalse(tn("5 - 3 = 2").contains("到"), "arithmetic is not a range")
        XCTAssertFalse(tn("8 ÷ (3 - 8 ÷ 3) = 24").contains("到"), "arithmetic is not a range")
    }
}
