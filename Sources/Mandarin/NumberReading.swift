/// How Mandarin reads digit strings: cardinals up to 万亿, digit by digit, decimals, fractions.
/// All functions take ASCII digit strings and return hanzi.
public enum NumberReading {
    static let digitHanzi: [Character] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]

    /// Digit by digit: `"2024" → 二零二四`; with `yao`, 1 is read 幺 as in phone numbers.
    public static func digits(_ digits: some StringProtocol, yao: Bool = false) -> String {
        var out = ""
        for ch in digits {
            guard let d = ch.wholeNumberValue, d < 10 else { continue }
            out.append(yao && d == 1 ? "幺" : digitHanzi[d])
        }
        return out
    }

    /// Cardinal reading up to 16 digits (万亿): `"10" → 十`, `"105" → 一百零五`, `"15000" → 一万五千`,
    /// `"100010" → 十万零一十`. A single leading 2 before 千/万/亿 is read 两 (两千, 两万) as speakers do;
    /// 十 at the very start drops its 一 (十五, not 一十五). Longer inputs fall back to `digits`.
    public static func cardinal(_ text: some StringProtocol) -> String {
        var ds = Array(text.compactMap { $0.wholeNumberValue })
        while ds.count > 1, ds.first == 0 { ds.removeFirst() }
        if ds.isEmpty { return "" }
        if ds.count > 16 { return digits(text) }
        if ds == [0] { return "零" }
        let groupUnits: [String] = ["", "万", "亿", "万亿"]
        let placeUnits: [String] = ["千", "百", "十", ""]
        var out = ""
        var pendingZero = false
        let groupCount = (ds.count + 3) / 4
        let padded = [Int](repeating: 0, count: groupCount * 4 - ds.count) + ds
        for g in 0..<groupCount {
            let group = padded[(g * 4)..<(g * 4 + 4)]
            if group.allSatisfy({ $0 == 0 }) {
                if !out.isEmpty { pendingZero = true }
                continue
            }
            for (p, d) in group.enumerated() {
                if d == 0 {
                    if !out.isEmpty { pendingZero = true }
                    continue
                }
                if pendingZero { out += "零"; pendingZero = false }
                out.append(digitHanzi[d])
                out += placeUnits[p]
            }
            // 1,2345,0000,0000 is 一万二千三百四十五亿: the top group of a 万亿 number says 万 and
            // leaves 亿 to the next group when that group has digits.
            var unit = groupUnits[groupCount - 1 - g]
            if unit == "万亿", padded[4..<8].contains(where: { $0 != 0 }) { unit = "万" }
            out += unit
            // A unit of 万/亿 ends the group; zeros inside the next group will add their own 零.
            pendingZero = false
            // …but a next group below 1000 (e.g. 1,0500) needs 零 before it.
            if g + 1 < groupCount, padded[(g + 1) * 4] == 0, padded[((g + 1) * 4)..<((g + 1) * 4 + 4)].contains(where: { $0 != 0 }) {
                pendingZero = true
            }
        }
        if out.hasPrefix("一十") { out.removeFirst() }
        // 2 directly before 千/万/亿 is counted 两 (两千, 一万两千, 两亿), but not after 十 (十二万).
        var chars = Array(out)
        for k in chars.indices where chars[k] == "二" && k + 1 < chars.count && "千万亿".contains(chars[k + 1]) && (k == 0 || chars[k - 1] != "十") {
            chars[k] = "两"
        }
        return String(chars)
    }

    /// `"12.5" → 十二点五`, `"0.25" → 零点二五`; the part after the point is read digit by digit.
    public static func decimal(_ text: some StringProtocol) -> String {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return cardinal(text) }
        var integer = cardinal(parts[0].isEmpty ? "0" : parts[0])
        // 两 is for counting; a decimal keeps 二 (2.5 = 二点五).
        if integer.hasPrefix("两") { integer = "二" + integer.dropFirst() }
        return integer + "点" + digits(parts[1])
    }

    /// `numerator/denominator → 四分之三` for 3/4.
    public static func fraction(numerator: some StringProtocol, denominator: some StringProtocol) -> String {
        plainCardinal(denominator) + "分之" + plainCardinal(numerator)
    }

    /// Cardinal or decimal without the counting 两 (percentages, fractions, ordinals, dates).
    static func plainCardinal(_ text: some StringProtocol) -> String {
        if text.utf8.contains(UInt8(ascii: ".")) { return decimal(text) }
        let r = cardinal(text)
        return r.hasPrefix("两") ? "二" + r.dropFirst() : r
    }
}
