/// Text normalization: any text a user types → hanzi, Latin letters (spelled later from a fixed
/// table) and punctuation from the pause set. Rules, in the order they are tried at each position:
///
///  1. full-width folding (ＡＢＣ１２３％：．／－～ → ASCII), ideographic space → space
///  2. currency before a number (¥ ￥ $ € £ HK$)            ¥99 → 九十九元
///  3. signs: temperature below zero, negative numbers        -3℃ → 零下三摄氏度, -5 → 负五
///  4. dates  YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY/MM     → 二零二四年三月五日
///  5. times and scores  H:MM(:SS); 比分 context or N:M       → 十四点零五分 / 三比二
///  6. phone and ID numbers (mobile, landline, 400/800, context words, leading 0, ≥11 digits) → digits, 1 = 幺
///  7. percent / per-mille                                     12.5% → 百分之十二点五
///  8. fractions a/b                                           3/4 → 四分之三
///  9. years (digits + 年)                                     1998年 → 一九九八年
/// 10. decimals, ordinals (第N), months/days, cardinals up to 万亿, 两 before measure words
/// 11. units after a number (km kg km/h GB ℃ …)                2.5kg → 二点五千克
/// 12. ranges N-M, N~M (any of the above on both sides)        9:00-18:00 → 九点到十八点
/// 13. math symbols (+ = × ÷ > < ≥ ≤ ± ≈ ≠)
/// 14. Greek letters, circled numbers, & @ #
/// 15. punctuation and spaces kept as typed (PunctuationClass: pause → `sp`, quotes/brackets →
///     nothing); emoji and other symbols dropped
public struct TextNormalizer: Sendable {
    public init() {}

    public func normalize(_ text: String) -> String {
        TextNormalizer.string(normalizeScalars(text))
    }

    /// The normalized text as scalars (what the G2P works on; one character = one scalar).
    func normalizeScalars(_ text: String) -> [Unicode.Scalar] { normalizeReportingDrops(text).scalars }

    /// The normalized text as scalars, and the input scalars that rule 15 dropped (emoji, symbols,
    /// other scripts, control characters), in input order.
    func normalizeReportingDrops(_ text: String) -> (scalars: [Unicode.Scalar], dropped: [Unicode.Scalar]) {
        var original: [Unicode.Scalar] = []
        original.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars { original.append(u) }
        var scanner = Scanner(Self.fold(original), original: original)
        scanner.run()
        return (scanner.out, scanner.dropped)
    }

    // MARK: rule 1

    /// Full-width ASCII variants → ASCII; ideographic space → space. CJK punctuation that is already
    /// in the pause set (，。！？；：、) is folded too and mapped back by rule 15.
    static func fold(_ text: String) -> [Unicode.Scalar] { fold(Array(text.unicodeScalars)) }

    static func fold(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = scalars
        for k in out.indices {
            let v = out[k].value
            switch v {
            case 0xFF01...0xFF5E: out[k] = Unicode.Scalar(v - 0xFEE0) ?? out[k]
            case 0x3000, 0x00A0: out[k] = " "
            case 0x2212, 0x2013: out[k] = "-"  // minus sign, en dash
            default: break
            }
        }
        return out
    }

    /// Scalars → String through UTF-8 bytes (much faster than appending to a UnicodeScalarView).
    static func string(_ scalars: [Unicode.Scalar]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count * 3)
        for s in scalars { UTF8.encode(s) { bytes.append($0) } }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: tables

    static let currencyPrefix: [(String, String)] = [("HK$", "港元"), ("US$", "美元"), ("¥", "元"), ("￥", "元"), ("$", "美元"), ("€", "欧元"), ("£", "英镑"), ("₩", "韩元")]
    /// Unit symbols after a number, longest first within each spelling family.
    static let units: [(String, String)] = [
        ("km/h", "千米每小时"), ("m/s", "米每秒"), ("km²", "平方千米"), ("m²", "平方米"), ("cm²", "平方厘米"),
        ("m³", "立方米"), ("cm³", "立方厘米"), ("km", "千米"), ("cm", "厘米"), ("mm", "毫米"), ("nm", "纳米"),
        ("kg", "千克"), ("mg", "毫克"), ("ml", "毫升"), ("mL", "毫升"), ("mAh", "毫安时"), ("kWh", "千瓦时"),
        ("kW", "千瓦"), ("kHz", "千赫兹"), ("MHz", "兆赫兹"), ("GHz", "吉赫兹"), ("Hz", "赫兹"),
        ("KB", "千字节"), ("MB", "兆字节"), ("GB", "吉字节"), ("TB", "太字节"), ("ms", "毫秒"),
        ("min", "分钟"), ("℃", "摄氏度"), ("°C", "摄氏度"), ("°F", "华氏度"), ("°", "度"), ("㎡", "平方米"),
        ("m", "米"), ("g", "克"), ("t", "吨"), ("L", "升"), ("l", "升"), ("h", "小时"), ("s", "秒"),
        ("W", "瓦"), ("V", "伏"), ("A", "安"),
    ]
    /// Measure words before which the number 2 is read 两 (两个, 两斤), not 二.
    static let measureWords: Set<Unicode.Scalar> = Set("个斤本位次天年岁张条只件块台辆名人家所支把种点倍双对元角米克吨升层份页首部间套杯瓶碗句篇项道座棵匹头根节场遍趟周辈架艘枚颗粒片封盒包袋箱桶盘顿口户行列批群项笔门声步分秒毫千万亿".unicodeScalars)
    static let phoneContextScalars = phoneContext.map { Array($0.unicodeScalars) }
    static let scoreContextScalars = scoreContext.map { Array($0.unicodeScalars) }
    static let phoneContext = ["电话", "拨打", "热线", "号码", "尾号", "编号", "账号", "车次", "房间", "邮编", "手机", "致电", "呼叫",
                               "工号", "学号", "卡号", "单号", "分机", "QQ", "微信", "邮政编码"]
    static let scoreContext = ["比分", "比赛", "战胜", "击败", "打败", "负于", "获胜", "险胜", "大胜", "比数"]
    static let greek: [Unicode.Scalar: String] = [
        "α": "阿尔法", "β": "贝塔", "γ": "伽马", "δ": "德尔塔", "ε": "艾普西隆", "θ": "西塔", "λ": "兰姆达",
        "μ": "缪", "π": "派", "σ": "西格玛", "φ": "斐", "ω": "欧米伽", "Ω": "欧米伽", "Δ": "德尔塔",
    ]
    static let symbols: [Unicode.Scalar: String] = [
        "=": "等于", "×": "乘", "÷": "除以", "≥": "大于等于", "≤": "小于等于", "±": "正负", "≈": "约等于",
        "≠": "不等于", "&": "和", "@": "艾特", "#": "井号", "+": "加",
    ]
    /// Punctuation that is only text: quotes, brackets, separators. It stays in the normalized text
    /// but gives no pause; every other punctuation mark gives `sp` (see `PunctuationClass`).
    static let silentPunctuation: Set<Unicode.Scalar> = Set("“”‘’「」『』《》〈〉【】[]{}\"'·・•/\\|_*<>`^#".unicodeScalars)

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    // MARK: scanner

    struct Scanner {
        let s: [Unicode.Scalar]
        /// The input as typed (fold maps scalar to scalar, so indices agree).
        let original: [Unicode.Scalar]
        var i = 0
        var out: [Unicode.Scalar] = []
        /// Input scalars that carry no sound and were left out (rule 15).
        var dropped: [Unicode.Scalar] = []

        init(_ s: [Unicode.Scalar], original: [Unicode.Scalar]) {
            self.s = s
            self.original = original
            out.reserveCapacity(s.count + 8)
        }

        mutating func emit(_ text: String) { out.append(contentsOf: text.unicodeScalars) }
        mutating func emit(_ c: Character) { out.append(contentsOf: c.unicodeScalars) }

        /// Scalars other than digits that can begin a number expression (currency, signs).
        static func canStartNumber(_ c: Unicode.Scalar) -> Bool {
            switch c {
            case "0"..."9", "¥", "￥", "$", "€", "£", "₩", "H", "U", "-", "+": return true
            default: return false
            }
        }

        func at(_ k: Int) -> Unicode.Scalar? { k >= 0 && k < s.count ? s[k] : nil }
        static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0.value >= 48 && $0.value <= 57 } ?? false }
        static func isLatin(_ c: Unicode.Scalar?) -> Bool {
            guard let v = c?.value else { return false }
            return (v >= 65 && v <= 90) || (v >= 97 && v <= 122)
        }
        static func isHan(_ c: Unicode.Scalar?) -> Bool {
            guard let v = c?.value else { return false }
            return (v >= 0x3400 && v <= 0x9FFF) || (v >= 0xF900 && v <= 0xFAFF) || v == 0x3007
        }
        func matches(_ literal: String, at k: Int) -> Bool {
            var j = k
            for u in literal.unicodeScalars {
                guard j < s.count, s[j] == u else { return false }
                j += 1
            }
            return true
        }
        /// True when one of `words` occurs in the `count` scalars before position k.
        func contextHas(_ words: [[Unicode.Scalar]], before k: Int, within count: Int) -> Bool {
            let lo = max(0, k - count)
            for w in words where w.count <= k - lo {
                var start = lo
                while start + w.count <= k {
                    var j = 0
                    while j < w.count, s[start + j] == w[j] { j += 1 }
                    if j == w.count { return true }
                    start += 1
                }
            }
            return false
        }

        mutating func run() {
            while i < s.count {
                let c = s[i]
                if Self.canStartNumber(c), let (text, end) = numberExpression(at: i) {
                    emit(text)
                    i = end
                } else if Self.isHan(c) {
                    out.append(c)
                    i += 1
                } else if Self.isLatin(c) {
                    out.append(c)  // spelled from the letter table by the G2P
                    i += 1
                } else {
                    symbol(c)
                    i += 1
                }
            }
        }

        /// Rules 13–15 for one scalar that no number rule consumed.
        mutating func symbol(_ c: Unicode.Scalar) {
            if let end = citationEnd(at: i) { i = end - 1; return }  // [16] (NumberContexts.swift)
            if let word = TextNormalizer.greek[c] ?? TextNormalizer.symbols[c] { emit(word); return }
            if c.value >= 0x2460 && c.value <= 0x2473 {  // ① … ⑳
                emit(NumberReading.cardinal(String(c.value - 0x2460 + 1)))
                return
            }
            switch c {
            case ">", "<":
                if Self.isDigit(nextNonSpace(after: i)) { emit(c == ">" ? "大于" : "小于"); return }
            case "*":
                if Self.isDigit(nextNonSpace(after: i)) && lastIsNumber { emit("乘"); return }
            default:
                break
            }
            // Punctuation and spaces stay exactly as typed, so the normalized text of plain Chinese
            // text is the text itself; PunctuationClass decides which of them are pauses.
            if TextNormalizer.isPunctuation(c) || c.properties.isWhitespace || TextNormalizer.silentPunctuation.contains(c) {
                out.append(original[i])
            } else {
                dropped.append(original[i])  // emoji and other symbols carry no sound
            }
        }


        var lastIsNumber: Bool {
            guard let last = out.last else { return false }
            return G2PRules.numeralChars.contains(last) || "百千万亿".unicodeScalars.contains(last)
        }

        func nextNonSpace(after k: Int) -> Unicode.Scalar? {
            var j = k + 1
            while j < s.count, s[j] == " " { j += 1 }
            return at(j)
        }

        // MARK: number expressions (rules 2–12)

        /// A digit run with optional `,` thousands groups and one decimal point: (text, end index).
        func readNumber(at k: Int) -> (String, Int)? {
            guard Self.isDigit(at(k)) else { return nil }
            var j = k
            var text = ""
            while Self.isDigit(at(j)) { text.unicodeScalars.append(s[j]); j += 1 }
            // 1,000,000 — only exact 3-digit groups count as thousands separators.
            while at(j) == ",", Self.isDigit(at(j + 1)), Self.isDigit(at(j + 2)), Self.isDigit(at(j + 3)), !Self.isDigit(at(j + 4)) {
                text.unicodeScalars.append(contentsOf: s[(j + 1)...(j + 3)])
                j += 4
            }
            if at(j) == ".", Self.isDigit(at(j + 1)) {
                text += "."
                j += 1
                while Self.isDigit(at(j)) { text.unicodeScalars.append(s[j]); j += 1 }
            }
            return (text, j)
        }

        /// Tries every number rule at k; nil when no number starts here.
        func numberExpression(at k: Int) -> (String, Int)? {
            // rule 2: currency before the number
            for (symbol, name) in TextNormalizer.currencyPrefix where matches(symbol, at: k) {
                var j = k + symbol.unicodeScalars.count
                while at(j) == " " { j += 1 }
                if let (text, end) = readNumber(at: j) {
                    var reading = NumberReading.plainCardinal(text)
                    if text == "2" { reading = "两" }
                    return (reading + name, end)
                }
            }
            if let dash = dashBeforeNumber(at: k) { return dash }  // NumberContexts.swift
            // rule 3: signs
            if s[k] == "-" || s[k] == "+", Self.isDigit(at(k + 1)),
               !(Self.isDigit(at(k - 1)) || Self.isLatin(at(k - 1))) {
                guard let (body, end) = quantity(at: k + 1, signed: true) else { return nil }
                let isTemperature = body.hasSuffix("度")
                let sign = s[k] == "+" ? "正" : (isTemperature ? "零下" : "负")
                return (sign + body, end)
            }
            guard Self.isDigit(s[k]) else { return nil }
            if let number = contextualNumber(at: k) { return number }  // NumberContexts.swift
            guard let (first, end) = quantity(at: k, signed: false) else { return nil }
            // rule 12: ranges
            if let sep = at(end), sep == "-" || sep == "~" || sep == "～" || sep == "—" {
                var j = end + 1
                if sep == "—", at(j) == "—" { j += 1 }
                if Self.isDigit(at(j)), let (second, end2) = quantity(at: j, signed: false) {
                    var left = first
                    if second.hasPrefix("百分之"), !left.hasPrefix("百分之") { left = "百分之" + left }
                    return (left + "到" + second, end2)
                }
            }
            return (first, end)
        }

        /// One number with everything attached to it (rules 4–11), starting at a digit.
        func quantity(at k: Int, signed: Bool) -> (String, Int)? {
            if !signed, let date = date(at: k) { return date }
            guard let (num, afterNum) = readNumber(at: k) else { return nil }
            let isInteger = !num.utf8.contains(UInt8(ascii: "."))

            // rule 5: times and scores
            if !signed, isInteger, num.count <= 2, at(afterNum) == ":", let (minutes, afterMinutes) = readInteger(at: afterNum + 1) {
                let isScore = contextHas(TextNormalizer.scoreContextScalars, before: k, within: 12)
                if minutes.count == 2, let h = Int(num), let m = Int(minutes), h <= 24, m <= 59, !isScore {
                    var text = (h == 2 ? "两" : NumberReading.plainCardinal(num)) + "点"
                    if m > 0 { text += (m < 10 ? "零" : "") + NumberReading.plainCardinal(minutes) + "分" }
                    var end = afterMinutes
                    if at(end) == ":", let (seconds, afterSeconds) = readInteger(at: end + 1), seconds.count == 2, let sec = Int(seconds), sec <= 59 {
                        if sec > 0 {
                            if m == 0 { text += "零分" }
                            text += NumberReading.plainCardinal(seconds) + "秒"
                        }
                        end = afterSeconds
                    }
                    return (text, end)
                }
                if minutes.count <= 3 {
                    return (NumberReading.plainCardinal(num) + "比" + NumberReading.plainCardinal(minutes), afterMinutes)
                }
            }
            // rule 6: phone and ID numbers
            if !signed, isInteger, let (digits, end) = phoneNumber(at: k) {
                return (NumberReading.digits(digits, yao: true), end)
            }
            // rule 7: percent / per-mille
            if at(afterNum) == "%" { return ("百分之" + NumberReading.plainCardinal(num), afterNum + 1) }
            if at(afterNum) == "‰" { return ("千分之" + NumberReading.plainCardinal(num), afterNum + 1) }
            // rule 8: fractions
            if isInteger, at(afterNum) == "/", let (den, afterDen) = readInteger(at: afterNum + 1), Int(den) != 0,
               at(afterDen) != "/" {
                return (NumberReading.fraction(numerator: num, denominator: den), afterDen)
            }
            // rule 9: years
            if isInteger, at(afterNum) == "年", num.count == 4 || (num.count == 2 && at(afterNum + 1) == "代") {
                return (NumberReading.digits(num) + "年", afterNum + 1)
            }
            // rule 10: decimals, ordinals, dates, counting
            var reading: String
            let next = at(afterNum)
            if !isInteger {
                reading = NumberReading.decimal(num)
            } else if isOrdinal(at: k) {  // 第N, and the later numbers of 第1、2名 (NumberContexts.swift)
                reading = NumberReading.plainCardinal(num)
            } else if next == "月" || next == "日" || next == "号" {
                reading = NumberReading.plainCardinal(num)
            } else {
                reading = NumberReading.cardinal(num)
                if num == "2", takesLiang(at: afterNum) { reading = "两" }
            }
            // rule 11: units
            var end = afterNum
            var j = afterNum
            while at(j) == " " { j += 1 }
            let unitStart = at(j)
            let mayBeUnit = Self.isLatin(unitStart) || unitStart == "℃" || unitStart == "°" || unitStart == "㎡"
            for (symbol, name) in TextNormalizer.units where mayBeUnit && matches(symbol, at: j) {
                let after = j + symbol.unicodeScalars.count
                if Self.isLatin(at(after)) { continue }  // part of a longer word
                if num == "2", isInteger, !name.hasSuffix("度") { reading = "两" }
                if name == "千米每小时" { return ("每小时" + reading + "千米", after) }
                reading += name
                end = after
                break
            }
            return (reading, end)
        }

        /// Rule 4: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD (optionally followed by 日/号), YYYY-MM, YYYY/MM.
        func date(at k: Int) -> (String, Int)? {
            guard let (num, afterNum) = readInteger(at: k), num.count == 4, let sep = at(afterNum), sep == "-" || sep == "/" || sep == ".",
                  let (month, afterMonth) = readInteger(at: afterNum + 1), month.count <= 2, let m = Int(month), (1...12).contains(m) else {
                return nil
            }
            let year = NumberReading.digits(num) + "年" + NumberReading.plainCardinal(month) + "月"
            if at(afterMonth) == sep, let (day, afterDay) = readInteger(at: afterMonth + 1), day.count <= 2,
               let d = Int(day), (1...31).contains(d) {
                var end = afterDay
                var suffix = "日"
                if at(end) == "日" || at(end) == "号" { suffix = String(Character(s[end])); end += 1 }
                return (year + NumberReading.plainCardinal(day) + suffix, end)
            }
            if sep != ".", month.count == 2, !Self.isDigit(at(afterMonth)), at(afterMonth) != sep {
                return (year, at(afterMonth) == "月" ? afterMonth + 1 : afterMonth)
            }
            return nil
        }

        func readInteger(at k: Int) -> (String, Int)? {
            guard Self.isDigit(at(k)) else { return nil }
            var j = k
            var text = ""
            while Self.isDigit(at(j)) { text.unicodeScalars.append(s[j]); j += 1 }
            return (text, j)
        }

        /// Phone-like digit strings: (digits only, end index).
        func phoneNumber(at k: Int) -> (String, Int)? {
            // digits with optional single dashes or spaces between groups: 010-12345678, 400-123-4567
            var j = k
            var digits = ""
            var groups = 0
            while true {
                guard let (g, e) = readInteger(at: j) else { break }
                digits += g
                groups += 1
                j = e
                if (at(j) == "-" || at(j) == " "), Self.isDigit(at(j + 1)), groups < 4 { j += 1; continue }
                break
            }
            if Self.isDigit(at(j)) || at(j) == "." || at(j) == "%" { return nil }
            guard let (firstGroup, firstEnd) = readInteger(at: k) else { return nil }
            let n = digits.count
            let mobile = n == 11 && digits.hasPrefix("1") && "3456789".contains(digits[digits.index(after: digits.startIndex)])
            let landline = groups >= 2 && firstGroup.hasPrefix("0") && (3...4).contains(firstGroup.count) && (10...12).contains(n)
            let service = groups == 3 && (firstGroup == "400" || firstGroup == "800") && n == 10
            if mobile || landline || service { return (digits, j) }
            if n >= 3, !(at(j) == "年" || at(j) == "月" || at(j) == "日"),
               contextHas(TextNormalizer.phoneContextScalars, before: k, within: 8)
                || (k >= 3 && s[k - 3] == "+" && s[k - 2] == "8" && s[k - 1] == "6") {
                return (digits, j)
            }
            // single group: a leading 0 or a run too long to be a quantity
            if groups == 1 || firstEnd == j {
                if firstGroup.count >= 2 && firstGroup.hasPrefix("0") { return (firstGroup, firstEnd) }
                if firstGroup.count >= 11 { return (firstGroup, firstEnd) }
            }
            return nil
        }
    }
}
