/// Numbers that name years, decades, generations and seasons, and ranges and lists of them. These
/// are read digit by digit (一九九八年) or, for decades, as a cardinal (八十年代), where the general
/// rules would count them (一千九百九十八). Found by reading the digit-bearing sentences of the CPP
/// polyphone set (g2pM, dev and test splits) through the frontend.
///
/// The scanner asks `contextualNumber(at:)` before its own number rules at a digit; nil means
/// "none of these", and the general rules (TextNormalizer rules 4–12) read the number.
extension TextNormalizer.Scanner {
    /// Separators between the years of a range (read 到) or of a list (kept as typed).
    static func yearRangeSeparator(_ c: Unicode.Scalar?) -> Bool {
        c == "-" || c == "~" || c == "～" || c == "—" || c == "－"
    }
    static func yearListSeparator(_ c: Unicode.Scalar?) -> Bool {
        c == "、" || c == "," || c == "，" || c == "和" || c == "与" || c == "及" || c == "或" || c == "至" || c == "到"
    }
    /// Words after a year number that make it a year without 年: 2014赛季, 1969年度 is covered by 年.
    static let seasonNouns: [[Unicode.Scalar]] = ["赛季", "财年", "学年"].map { Array($0.unicodeScalars) }
    static let yearNouns: [[Unicode.Scalar]] = ["赛季", "财年", "学年", "年度", "年"].map { Array($0.unicodeScalars) }

    func matchesAny(_ words: [[Unicode.Scalar]], at k: Int) -> Bool {
        words.contains { w in w.indices.allSatisfy { at(k + $0) == w[$0] } }
    }

    /// An integer of exactly `digits` digits at k that is not part of a longer number or a decimal.
    func integer(at k: Int, digits: ClosedRange<Int>) -> (String, Int)? {
        guard !Self.isDigit(at(k - 1)), let (num, end) = readInteger(at: k), digits.contains(num.count) else { return nil }
        if at(end) == ".", Self.isDigit(at(end + 1)) { return nil }
        if at(end) == ",", Self.isDigit(at(end + 1)) { return nil }
        return (num, end)
    }

    /// A plausible calendar year of four digits (1000–2099).
    static func isFourDigitYear(_ num: String) -> Bool {
        guard num.count == 4, let v = Int(num) else { return false }
        return (1000...2099).contains(v)
    }

    func contextualNumber(at k: Int) -> (String, Int)? {
        if let score = dashScore(at: k) { return score }
        if let year = isolatedYear(at: k) { return year }
        if let grouped = spaceGroupedNumber(at: k) { return grouped }
        if let range = spacedRange(at: k) { return range }
        if let decade = decadeOrGeneration(at: k) { return decade }
        if let era = ancientYear(at: k) { return era }
        if let season = seasonSpan(at: k) { return season }
        if let head = yearListHead(at: k) { return head }
        return nil
    }

    /// 80年代 → 八十年代 (18世纪80年代 → 十八世纪八十年代); 10年代 and 00年代 are said digit by digit
    /// (一零年代). 90后, 00后 (a generation) → 九零后, 零零后.
    func decadeOrGeneration(at k: Int) -> (String, Int)? {
        guard let (num, end) = integer(at: k, digits: 2...2), at(k - 1) != "第" else { return nil }
        if at(end) == "年", at(end + 1) == "代" {
            let reading = num.hasSuffix("0") && num >= "20" ? NumberReading.plainCardinal(num) : NumberReading.digits(num)
            return (reading + "年代", end + 2)
        }
        // A generation is followed by 后 and then not by a time word: "30后" in "30后的第二天" is rare,
        // but "90后女孩", "00后。" are common.
        if at(end) == "后", !Self.isDigit(at(end + 1)), num.hasSuffix("0") || num.hasSuffix("5") {
            return (NumberReading.digits(num), end)
        }
        return nil
    }

    /// Years before the modern era in their usual written contexts are read digit by digit:
    /// 公元前221年, 前367年, （757年）.
    func ancientYear(at k: Int) -> (String, Int)? {
        guard let (num, end) = integer(at: k, digits: 3...3), at(end) == "年", at(end + 1) != "代" else { return nil }
        let afterEra = at(k - 1) == "前" || (at(k - 1) == "元" && at(k - 2) == "公")
        let inParentheses = at(k - 1) == "（" || at(k - 1) == "("
        guard afterEra || inParentheses else { return nil }
        return (NumberReading.digits(num) + "年", end + 1)
    }

    /// 2014赛季 → 二零一四赛季; seasons written with two years: 2014-15赛季, 2016/17赛季, 1989-90年 → 二零一四到一五赛季. The
    /// second year may be abbreviated to its last two digits.
    func seasonSpan(at k: Int) -> (String, Int)? {
        guard let (first, end) = integer(at: k, digits: 4...4), Self.isFourDigitYear(first) else { return nil }
        if matchesAny(Self.seasonNouns, at: end) { return (NumberReading.digits(first), end) }
        guard let sep = at(end), Self.yearRangeSeparator(sep) || sep == "/",
              let (second, end2) = integer(at: end + 1, digits: 2...2) else { return nil }
        guard matchesAny(Self.yearNouns, at: end2) else { return nil }
        return (NumberReading.digits(first) + "到" + NumberReading.digits(second), end2)
    }

    /// The first year of a range or list that ends in a year word (1998-2003年, 1998～2003年,
    /// 1998至2003年, 1998、1999和2000年), or a range of two years in parentheses (a lifespan:
    /// （1899－1975）). Returns the first year (with 到 for a dash or tilde range); the scanner then
    /// reads the rest, each year again through this rule or the 年 rule.
    func yearListHead(at k: Int) -> (String, Int)? {
        guard let (first, end) = integer(at: k, digits: 4...4), Self.isFourDigitYear(first),
              let sep = at(end), Self.yearRangeSeparator(sep) || Self.yearListSeparator(sep) else { return nil }
        let isRange = Self.yearRangeSeparator(sep)
        let sepEnd = sep == "—" && at(end + 1) == "—" ? end + 2 : end + 1
        let reading = NumberReading.digits(first)
        let consumed = isRange ? (reading + "到", sepEnd) : (reading, end)
        // lifespan in parentheses: (1899-1975), （1131—1162）
        if isRange, at(k - 1) == "（" || at(k - 1) == "(" || at(k - 1) == "，" || at(k - 1) == ",",
           let (second, end2) = integer(at: sepEnd, digits: 4...4), Self.isFourDigitYear(second),
           at(end2) == "）" || at(end2) == ")", second > first {
            return (reading + "到" + NumberReading.digits(second), end2)
        }
        // walk the list: year (separator year)* followed by a year word
        var j = sepEnd
        for _ in 0..<12 {
            guard let (next, nextEnd) = integer(at: j, digits: 4...4), Self.isFourDigitYear(next) else { return nil }
            if matchesAny(Self.yearNouns, at: nextEnd) { return consumed }
            guard let s = at(nextEnd), Self.yearRangeSeparator(s) || Self.yearListSeparator(s) else { return nil }
            j = s == "—" && at(nextEnd + 1) == "—" ? nextEnd + 2 : nextEnd + 1
        }
        return nil
    }
}

/// Citation markers of encyclopedia text: "…的综合审评[16]。" The bracketed reference number is
/// not read. Only a marker of 1–3 digits that ends the text or is followed by punctuation counts,
/// so bracketed numbers inside a name ([5]圈烯) are still read.
extension TextNormalizer.Scanner {
    /// The index after a citation marker starting with `[` at k, or nil.
    func citationEnd(at k: Int) -> Int? {
        guard at(k) == "[", let (num, end) = readInteger(at: k + 1), num.count <= 3, at(end) == "]" else { return nil }
        guard let next = at(end + 1) else { return end + 1 }
        return TextNormalizer.isPunctuation(next) && next != "[" || next == " " ? end + 1 : nil
    }
}

/// Ordinals and the counting 两.
extension TextNormalizer.Scanner {
    /// True for a number right after 第, and for the later numbers of an ordinal list or range:
    /// 第1、2名 → 第一、二名, 第1-2名 → 第一到二名 (not 两名).
    func isOrdinal(at k: Int) -> Bool {
        var j = k - 1
        for _ in 0..<8 {
            guard let c = at(j) else { return false }
            if c == "第" { return true }
            guard c == "、" || c == "-" || c == "~" || c == "至" || c == "到" || c == "和" || c == "或" || c == "及" || c == ",",
                  Self.isDigit(at(j - 1)) else { return false }
            j -= 1
            while Self.isDigit(at(j)) { j -= 1 }
        }
        return false
    }

    /// Whether a lone 2 ending at `afterNum` is counted 两: before a measure word (两个, 两斤), but
    /// not in 2年级 (二年级), where 年 belongs to the grade word.
    func takesLiang(at afterNum: Int) -> Bool {
        guard let n = at(afterNum), TextNormalizer.measureWords.contains(n) else { return false }
        if n == "年", at(afterNum + 1) == "级" { return false }
        return true
    }
}

/// A `-` that is neither inside a number range (rule 12) nor a sign: after a date or unit word it
/// joins two quantities (1951年8月-1955年9月, 30℃-50℃, 1546 -1610年 → 到); between two small
/// numbers in a match report it is a score (2-0击败 → 二比零); after another Han character it is
/// the hyphen of a name (米格-19, 钴-56 → 米格十九, 钴五十六) and is not read. A `-` after a
/// verb or preposition (气温-3℃, 降至-4度, 为-13) stays a sign.
extension TextNormalizer.Scanner {
    static let quantityEnds: Set<Unicode.Scalar> = Set("年月日号时分秒点岁纪代万亿里米克吨℃%°".unicodeScalars)
    static let signContext: Set<Unicode.Scalar> = Set("为至到是达约低于温在和与或及降升减加从由等负正零下".unicodeScalars)
    static let scoreVerbsAfter: [[Unicode.Scalar]] = ["击败", "战胜", "获胜", "取胜", "负于", "落败", "告负", "力克", "大胜", "险胜", "逆转", "战平", "打平", "输给", "赢"].map { Array($0.unicodeScalars) }

    /// Reading of a `-` at k that is followed by a digit, or nil to leave it to the sign rule.
    func dashBeforeNumber(at k: Int) -> (String, Int)? {
        guard s[k] == "-", Self.isDigit(at(k + 1)), k > 0 else { return nil }
        var p = k - 1
        while p > 0, at(p) == " " { p -= 1 }
        guard let prev = at(p) else { return nil }
        if Self.isDigit(prev) { return p < k - 1 ? ("到", k + 1) : nil }  // "1546 -1610年"
        if Self.quantityEnds.contains(prev), (max(0, p - 8)..<p).contains(where: { Self.isDigit(at($0)) }) {
            return ("到", k + 1)
        }
        if Self.isHan(prev), p == k - 1, !Self.signContext.contains(prev) { return ("", k + 1) }
        return nil
    }

    /// N-M as a score: both sides at most two digits and a match verb right after or a score word
    /// before (2-0击败江苏苏宁, 比分1-1).
    func dashScore(at k: Int) -> (String, Int)? {
        guard let (a, end) = integer(at: k, digits: 1...2), at(end) == "-",
              let (b, end2) = integer(at: end + 1, digits: 1...2), at(end2) != "-" else { return nil }
        if let unit = at(end2), Self.quantityEnds.contains(unit) || TextNormalizer.measureWords.contains(unit) { return nil }
        var j = end2
        while at(j) == " " { j += 1 }
        let verbAfter = matchesAny(Self.scoreVerbsAfter, at: j) || matchesAny(Self.scoreVerbsAfter, at: j + 1)
        guard verbAfter || contextHas(TextNormalizer.scoreContextScalars, before: k, within: 12) else { return nil }
        return (NumberReading.plainCardinal(a) + "比" + NumberReading.plainCardinal(b), end2)
    }

    /// A year alone in parentheses after a reign year or a name: 嘉靖二十五年（1546） → 一五四六;
    /// a year separated from 年 by a space: 1991 年 → 一九九一年.
    func isolatedYear(at k: Int) -> (String, Int)? {
        guard let (num, end) = integer(at: k, digits: 4...4), Self.isFourDigitYear(num) else { return nil }
        if at(k - 1) == "（" || at(k - 1) == "(", at(end) == "）" || at(end) == ")" {
            return (NumberReading.digits(num), end)
        }
        if at(end) == " ", at(end + 1) == "年" { return (NumberReading.digits(num) + "年", end + 2) }
        return nil
    }

    /// A range written with spaces around the dash: 1546 -1610年 → 一五四六到一六一零年,
    /// 16 - 23厘米 → 十六到二十三厘米.
    func spacedRange(at k: Int) -> (String, Int)? {
        guard let (firstNum, firstNumEnd) = readInteger(at: k) else { return nil }
        var j = firstNumEnd
        while at(j) == " " { j += 1 }
        guard let sep = at(j), Self.yearRangeSeparator(sep) else { return nil }
        var m = j + 1
        while at(m) == " " { m += 1 }
        guard m > firstNumEnd + 1, Self.isDigit(at(m)) else { return nil }  // at least one space
        if let (secondNum, secondEnd) = integer(at: m, digits: 4...4), Self.isFourDigitYear(firstNum),
           Self.isFourDigitYear(secondNum), at(secondEnd) == "年" {
            return (NumberReading.digits(firstNum) + "到" + NumberReading.digits(secondNum) + "年", secondEnd + 1)
        }
        guard let (first, _) = quantity(at: k, signed: false), let (second, end) = quantity(at: m, signed: false) else { return nil }
        var e = end
        while at(e) == " " { e += 1 }
        // 5 - 3 = 2 and 8 ÷ (3 - 8 ÷ 3) are arithmetic
        if let op = at(e), "=÷×*/+".unicodeScalars.contains(op) { return nil }
        if let before = at(k - 1), before == "(" || before == "（" || before == " " && at(k - 2).map({ "=÷×*/+(".unicodeScalars.contains($0) }) == true { return nil }
        return (first + "到" + second, end)
    }

    /// Thousands groups separated by spaces: 16 000公顷 → 一万六千公顷. Only exact three-digit
    /// groups after a first group of one to three digits count.
    func spaceGroupedNumber(at k: Int) -> (String, Int)? {
        guard let (head, end) = integer(at: k, digits: 1...3), at(end) == " " else { return nil }
        var digits = head
        var j = end
        while at(j) == " ", let (g, e) = readInteger(at: j + 1), g.count == 3 {
            digits += g
            j = e
        }
        guard j > end, !(at(j) == "." && Self.isDigit(at(j + 1))) else { return nil }
        var reading = NumberReading.cardinal(digits)
        if let (unit, after) = unitAfterNumber(at: j) { reading += unit; j = after }
        return (reading, j)
    }

    /// A unit symbol or a Han character right after a number: only Han text is left to the
    /// scanner, unit symbols are read as rule 11 reads them.
    func unitAfterNumber(at j: Int) -> (String, Int)? {
        for (symbol, name) in TextNormalizer.units where matches(symbol, at: j) {
            let after = j + symbol.unicodeScalars.count
            if Self.isLatin(at(after)) { continue }
            return (name, after)
        }
        return nil
    }
}
