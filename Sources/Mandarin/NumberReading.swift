/// How Mandarin reads digit strings: cardinals up to 万亿, digit by digit, decimals, fractions.
/// All functions take ASCII digit strings and return hanzi.
public enum NumberReading {

    /// Digit by digit: `"2024" → 二零二四`; with `yao`, 1 is read 幺 as in phone numbers.
    public static func digits(_ digits: some StringProtocol, yao: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        for b in digits.utf8 where b >= 48 && b <= 57 {
            out.append(yao && b == 49 ? "幺" : digitScalars[Int(b - 48)])
        }
        return String(out)
    }

    static let digitScalars: [Unicode.Scalar] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
    static let placeScalars: [Unicode.Scalar?] = ["千", "百", "十", nil]

    /// Cardinal reading up to 16 digits (万亿): `"10" → 十`, `"105" → 一百零五`, `"15000" → 一万五千`,
    /// `"100010" → 十万零一十`. 2 directly before 千/万/亿 is counted 两 (两千, 一万两千, 两亿) as
    /// speakers do, but not after 十 (十二万); 十 at the very start drops its 一 (十五, not 一十五).
    /// Longer inputs fall back to `digits`. Works on bytes and scalars: it runs for every number.
    public static func cardinal(_ text: some StringProtocol) -> String {
        // digits, most significant first, leading zeros dropped (a fixed buffer: no allocation)
        var ds = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var tooLong = false
        withUnsafeMutableBytes(of: &ds) { raw in
            let d = raw.bindMemory(to: Int.self)
            for b in text.utf8 where b >= 48 && b <= 57 {
                if n == 0 && b == 48 { continue }
                if n == 16 { tooLong = true; return }
                d[n] = Int(b - 48)
                n += 1
            }
        }
        if tooLong { return digits(text) }
        if n == 0 { return text.utf8.contains(48) ? "零" : "" }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(2 * n + 4)
        withUnsafeBytes(of: &ds) { raw in
            let d = raw.bindMemory(to: Int.self)
            var pendingZero = false
            let groups = (n + 3) / 4
            let pad = groups * 4 - n
            // digit at padded position p (0 for the padding in front)
            func digit(_ p: Int) -> Int { p < pad ? 0 : d[p - pad] }
            func groupIsZero(_ g: Int) -> Bool { (0..<4).allSatisfy { digit(g * 4 + $0) == 0 } }
            for g in 0..<groups {
                if groupIsZero(g) {
                    if !out.isEmpty { pendingZero = true }
                    continue
                }
                for p in 0..<4 {
                    let v = digit(g * 4 + p)
                    if v == 0 {
                        if !out.isEmpty { pendingZero = true }
                        continue
                    }
                    if pendingZero { out.append("零"); pendingZero = false }
                    out.append(digitScalars[v])
                    if let unit = placeScalars[p] { out.append(unit) }
                }
                // 1,2345,0000,0000 is 一万二千三百四十五亿: the top group of a 万亿 number says 万 and
                // leaves 亿 to the next group when that group has digits.
                switch groups - 1 - g {
                case 1: out.append("万")
                case 2: out.append("亿")
                case 3:
                    out.append("万")
                    if groupIsZero(1) { out.append("亿") }
                default: break
                }
                // A unit of 万/亿 ends the group; zeros inside the next group add their own 零, but a
                // next group below 1000 (1,0500) needs one in front.
                pendingZero = g + 1 < groups && digit((g + 1) * 4) == 0 && !groupIsZero(g + 1)
            }
        }
        if out.count >= 2, out[0] == "一", out[1] == "十" { out.removeFirst() }
        for k in out.indices where out[k] == "二" && k + 1 < out.count
            && (out[k + 1] == "千" || out[k + 1] == "万" || out[k + 1] == "亿") && (k == 0 || out[k - 1] != "十") {
            out[k] = "两"
        }
        return TextNormalizer.string(out)
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
