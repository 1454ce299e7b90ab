/// The rules that turn dictionary readings into Biaobei's surface syllables. Each works on the
/// whole line in place, in the order `Analysis.run` calls them.
enum G2PRules {
    static let pronouns: Set<String> = ["我", "你", "他", "她", "它", "我们", "你们", "他们", "她们", "它们", "咱们", "咱",
                                        "大家", "自己", "谁", "人家", "您"]
    /// Numerals and demonstratives: a following 只/行/种 is a measure word.
    static let counters: Set<Character> = Set("一二两三四五六七八九十百千万几这那哪每半某多整各个")
    static let degreeAdverbs: Set<String> = ["很", "太", "更", "最", "多", "真", "挺", "好", "特别", "非常", "比较", "较",
                                             "越", "那么", "这么", "不", "够", "极", "相当", "有点", "多么", "还", "也", "都", "又", "得"]
    static let particles: Set<String> = ["的", "了", "着", "吗", "呢", "吧", "啊", "呀", "啦", "嘛", "哦", "哟", "喽", "们", "么", "哇", "呗"]

    // MARK: polyphones

    /// Context rules for the most frequent single-character polyphones (words of one character
    /// only; longer words already have their reading from the lexicon).
    static func applyContextRules(_ a: inout Analysis, word w: Int) {
        let word = a.words[w]
        guard word.syllableCount == 1, word.end - word.start == 1 else { return }
        let slot = word.firstSyllable
        let prev = a.neighbour(of: w, offset: -1)?.text
        let next = a.neighbour(of: w, offset: 1)?.text
        let prevLast = prev?.last
        let nextFirst = next?.first
        func set(_ base: String, _ tone: Int) {
            a.slots[slot].syllable = Syllable(base: base, tone: tone)
            a.slots[slot].lexicalTone = tone
        }
        func nextIn(_ chars: String) -> Bool { nextFirst.map { chars.contains($0) } ?? false }
        func prevIn(_ chars: String) -> Bool { prevLast.map { chars.contains($0) } ?? false }

        switch word.text {
        case "为":
            // 以…为…, 被…为…, 成为/视为-like verb + 为: wei2; the preposition "for" is wei4.
            let before = a.words[max(0, w - 6)..<w].map(\.text).joined()
            if prev.map({ ["以", "被", "所", "成", "视", "作", "称", "选", "列", "改", "变", "化", "分", "转", "认", "定",
                           "评", "奉", "尊", "封", "立", "推", "译", "更", "最", "极", "颇", "较", "甚", "尤", "广", "大", "称之"].contains($0) }) ?? false
                || (before.contains("以") && !nextIn("了什")) {
                set("wei", 2)
            } else {
                set("wei", 4)
            }
        case "长":
            if let p = prev, degreeAdverbs.contains(p) { set("chang", 2) }
            else if nextIn("达约度期久远短条") { set("chang", 2) }
        case "得":
            // modal "must" after a subject (我们得走), "obtain" before 了/到 (他得了), else the particle
            let subjects: Set<String> = pronouns.union(["就", "还", "也", "都", "总", "必须", "非", "可", "才", "又"])
            let isSubject = prev.map { subjects.contains($0) } ?? true
            if next != nil, isSubject, nextIn("了到奖分益罪逞") {
                set("de", 2)
            } else if next != nil, prev != nil, isSubject, !nextIn("很太更非真不好快慢多少清明一") {
                set("dei", 3)
            } else {
                set("de", 5)
            }
        case "地":
            // adverbial marker after a multi-character word (认真地, 慢慢地); the noun otherwise
            if let p = prev, p.count >= 2, next != nil, !["这个", "那个", "土地", "各个"].contains(p) { set("de", 5) } else { set("di", 4) }
        case "了":
            if prevIn("不得") && (next == nil || nextIn("了吗呢啊吧")) { set("liao", 3) } else { set("le", 5) }
        case "着":
            if prevIn("睡找猜点烧够") && (next == nil || nextIn("了")) { set("zhao", 2) } else { set("zhe", 5) }
        case "还":
            if nextIn("钱债款账贷书清原礼愿价魂乡俗手嘴击") || prevIn("归偿退奉返送交") { set("huan", 2) } else { set("hai", 2) }
        case "行":
            if prevIn("一两几这那每三四五六七八九十第") || nextIn("字列距") { set("hang", 2) } else { set("xing", 2) }
        case "重":
            if nextIn("新来做写读建装修演返启播拍选组置设印审排算温游逢叠申回振提开考聚现整塑构获生")
                || prevIn("一两几多双层三九") { set("chong", 2) } else { set("zhong", 4) }
        case "教":
            if let n = next, pronouns.contains(n) || ["人", "学生", "孩子", "小孩", "书", "课", "他们", "大家"].contains(n) { set("jiao", 1) }
            else { set("jiao", 4) }
        case "只":
            if prevIn(String(counters)) { set("zhi", 1) } else { set("zhi", 3) }
        case "种":
            if nextIn("树花菜地田草粮瓜豆果植稻麦") && !prevIn(String(counters)) { set("zhong", 4) } else { set("zhong", 3) }
        case "数":
            if nextIn("一不着了过钱到星数") { set("shu", 3) } else { set("shu", 4) }
        case "觉":
            if prevIn("一个午大好懒了") { set("jiao", 4) } else { set("jue", 2) }
        case "似":
            if nextIn("的") { set("shi", 4) } else { set("si", 4) }
        case "倒":
            if prevIn("摔打推跌绊病累晕撞压砍放卧") || nextIn("闭台塌霉卖班") { set("dao", 3) } else { set("dao", 4) }
        case "冲":
            if let n = next, pronouns.contains(n) || nextIn("着") { set("chong", 4) }
        case "个":
            // Biaobei writes 个 mostly neutral after demonstratives and a few verbs; elsewhere full tone.
            if prevIn("这那几是有了像找") { set("ge", 5) } else { set("ge", 4) }
        case "相":
            if nextIn("貌片机") { set("xiang", 4) }
        case "少":
            if prevIn("年老阔恶") && prev?.count == 1 { set("shao", 4) }
        default:
            break
        }
    }

    // MARK: neutral tone

    /// Particles and the plural 们 are neutral when they stand as words of their own. Lexicon
    /// neutral tones (孩子 zi5, 什么 me5) are already in the readings. 个 is handled above.
    static func neutralTones(_ a: inout Analysis) {
        for w in a.words.indices where a.words[w].kind == .han && a.words[w].syllableCount == 1 {
            let text = a.words[w].text
            guard particles.contains(text) else { continue }
            let slot = a.words[w].firstSyllable
            // 了 read liao3 by the rule above, and 着 read zhao2, keep their tones.
            if a.slots[slot].syllable.base == "liao" || a.slots[slot].syllable.base == "zhao" { continue }
            a.slots[slot].syllable.tone = 5
        }
    }

    // MARK: 一 and 不

    /// The lexicon writes 一 and 不 with their sandhi tones inside some words (一定 yi2); reset to
    /// the citation tones so one rule decides them everywhere.
    static func resetYiBu(_ a: inout Analysis) {
        for k in a.slots.indices {
            let c = a.scalars[a.slots[k].charIndex]
            let s = a.slots[k].syllable
            if c == "一", s.base == "yi" { a.slots[k].syllable.tone = 1; a.slots[k].lexicalTone = 1 }
            if c == "不", s.base == "bu" { a.slots[k].syllable.tone = 4; a.slots[k].lexicalTone = 4 }
        }
    }

    static let numeralChars: Set<Unicode.Scalar> = Set("零〇一二三四五六七八九十两幺".unicodeScalars)
    static let digitChars: Set<Unicode.Scalar> = Set("零〇一二三四五六七八九幺".unicodeScalars)
    static let bigUnits: Set<Unicode.Scalar> = Set("十百千万亿".unicodeScalars)

    /// 一: yi1 in ordinals, digit strings, decimals, dates, inside numbers and at the end of a
    /// word or phrase; otherwise yi2 before tone 4 and yi4 before tones 1–3. 不: bu2 before tone 4.
    /// The tone that decides is the next syllable's citation tone (一个 → yi2 even when 个 is ge5).
    static func yiBuSandhi(_ a: inout Analysis) {
        for k in a.slots.indices {
            let ci = a.slots[k].charIndex
            let c = a.scalars[ci]
            let base = a.slots[k].syllable.base
            guard (c == "一" && base == "yi") || (c == "不" && base == "bu") else { continue }
            let w = a.slots[k].word
            let nextSlot: Analysis.Slot? = (k + 1 < a.slots.count && a.words[a.slots[k + 1].word].kind == .han
                                            && sameCluster(a, a.slots[k].word, a.slots[k + 1].word)) ? a.slots[k + 1] : nil
            var nextTone = nextSlot.map { citationTone(a, $0) }
            if let n = nextSlot, n.charIndex != ci + 1 { nextTone = nil }  // punctuation between
            if c == "不" {
                a.slots[k].syllable.tone = nextTone == 4 ? 2 : 4
                continue
            }
            let prev = a.charAt(ci - 1)
            let next = a.charAt(ci + 1)
            let wordEnd = a.words[w].end
            // word-final (唯一, 统一) unless the number goes on (之一|百 is 百分之一百)
            let isWordFinal = ci + 1 == wordEnd && a.words[w].end - a.words[w].start > 1 && !(next.map { bigUnits.contains($0) } ?? false)
            var keepFirst = false
            if nextTone == nil || isWordFinal { keepFirst = true }
            if let p = prev, p == "第" || p == "点" || digitChars.contains(p) || p == "十" || p == "月" { keepFirst = true }
            if let p = prev, (p == "百" || p == "千" || p == "万" || p == "亿"), next == "十" { keepFirst = true }
            if let n = next, digitChars.contains(n) { keepFirst = true }
            if next == "月" || next == "号" { keepFirst = true }
            if next == "日", let p = prev, numeralChars.contains(p) || p == "月" { keepFirst = true }
            if keepFirst {
                a.slots[k].syllable.tone = 1
            } else if let t = nextTone {
                a.slots[k].syllable.tone = t == 4 ? 2 : 4
            }
        }
    }

    /// Citation tone of a slot: its lexical tone, or (for a lexically neutral syllable) the first
    /// non-neutral reading of its character.
    static func citationTone(_ a: Analysis, _ slot: Analysis.Slot) -> Int {
        if slot.lexicalTone != 5 { return slot.lexicalTone }
        for r in a.lexicon.readings(of: a.scalars[slot.charIndex]) where r.tone != 5 { return r.tone }
        return 5
    }

    /// True when two words are in the same pause phrase with nothing but hanzi between them.
    static func sameCluster(_ a: Analysis, _ w1: Int, _ w2: Int) -> Bool {
        if w1 == w2 { return true }
        for k in (w1 + 1)...w2 where a.words[k].kind != .han { return false }
        return true
    }

    // MARK: third-tone sandhi

    /// Third-tone sandhi in Biaobei's surface convention (research notes §4.2).
    /// 1. Domains: two neighbouring words join when together they have ≤ 3 syllables and the
    ///    touching syllables are both tone 3 (我也|很好, 纸老虎, 展览馆); a domain holds at most two words.
    /// 2. Inside a domain (or a longer word): all-third 2 → 2 3; 3 → 2 2 3 for a 2+1 structure,
    ///    3 2 3 for 1+2; ≥ 4 → feet of two; mixed tones → pairwise left to right.
    /// 3. A residual pass over word boundaries in the same phrase: 3|3 → 2|3.
    static func thirdToneSandhi(_ a: inout Analysis) {
        var domains: [[Int]] = []
        var open = false
        for w in a.words.indices {
            let word = a.words[w]
            guard word.kind == .han, word.syllableCount > 0 else { open = false; continue }
            if open, let last = domains.last, last.count == 1 {
                let left = a.words[last[0]]
                let leftTone = a.slots[left.firstSyllable + left.syllableCount - 1].syllable.tone
                let rightTone = a.slots[word.firstSyllable].syllable.tone
                if left.syllableCount + word.syllableCount <= 3, leftTone == 3, rightTone == 3 {
                    domains[domains.count - 1].append(w)
                    open = false
                    continue
                }
            }
            domains.append([w])
            open = true
        }

        for domain in domains {
            let first = a.words[domain[0]].firstSyllable
            let count = domain.reduce(0) { $0 + a.words[$1].syllableCount }
            let range = first..<(first + count)
            guard count >= 2 else { continue }
            let allThird = range.allSatisfy { a.slots[$0].syllable.tone == 3 }
            if allThird {
                var tones = [Int](repeating: 3, count: count)
                switch count {
                case 2:
                    tones[0] = 2
                case 3:
                    let leftSize: Int
                    if domain.count == 2 {
                        leftSize = a.words[domain[0]].syllableCount
                    } else {
                        // one three-character word: is it 2+1 (展览馆) or 1+2 (纸老虎)?
                        let text = Array(a.words[domain[0]].text)
                        leftSize = (text.count == 3 && !a.lexicon.contains(String(text[0...1])) && a.lexicon.contains(String(text[1...2]))) ? 1 : 2
                    }
                    tones = leftSize == 1 ? [3, 2, 3] : [2, 2, 3]
                default:
                    var k = 0
                    while k + 1 < count {
                        if k + 3 == count { tones[k] = 2; tones[k + 1] = 2; break }  // odd tail: 2+1
                        tones[k] = 2
                        k += 2
                    }
                }
                for (o, t) in tones.enumerated() { a.slots[first + o].syllable.tone = t }
            } else {
                for k in range.dropLast() where a.slots[k].syllable.tone == 3 && a.slots[k + 1].syllable.tone == 3 {
                    a.slots[k].syllable.tone = 2
                }
            }
        }

        // residual pass across word boundaries within a phrase (hanzi only)
        for k in a.slots.indices.dropLast() {
            let w1 = a.slots[k].word, w2 = a.slots[k + 1].word
            guard w1 != w2, a.words[w1].kind == .han, a.words[w2].kind == .han, w2 == w1 + 1 else { continue }
            if a.slots[k].syllable.tone == 3 && a.slots[k + 1].syllable.tone == 3 { a.slots[k].syllable.tone = 2 }
        }
    }

    // MARK: erhua

    /// Words where 儿 keeps its own syllable er2 (a child, a son, …), not erhua.
    static let notErhua: Set<String> = ["女儿", "婴儿", "幼儿", "儿子", "儿童", "孤儿", "患儿", "男儿", "健儿", "胎儿",
                                        "混血儿", "少儿", "侄儿", "孙儿", "鸟儿", "宠儿", "弃儿", "新生儿", "早产儿", "幸运儿",
                                        "育儿", "乳儿", "小儿", "孩儿", "孤儿院", "儿", "花儿", "犬儿", "蝶儿", "雏儿", "骄儿",
                                        "娇儿", "爱儿", "生儿", "养儿", "妻儿", "儿女", "病儿", "私生儿", "低能儿"]

    /// A word-final 儿 read er2/er5 merges into the previous syllable (一会儿 → huir4, 哪儿 → nar3);
    /// a 儿 standing alone after a word merges too, unless the pair is in `notErhua`.
    static func erhua(_ a: inout Analysis) {
        for k in a.slots.indices.dropFirst() {
            guard a.scalars[a.slots[k].charIndex] == "儿", a.slots[k].syllable.base == "er" else { continue }
            let w = a.slots[k].word
            let word = a.words[w]
            let prevSlot = k - 1
            guard a.slots[prevSlot].charIndex == a.slots[k].charIndex - 1,
                  a.words[a.slots[prevSlot].word].kind == .han,
                  a.slots[prevSlot].syllable.base != "er", !a.slots[prevSlot].syllable.erhua else { continue }
            if word.end - word.start > 1 {
                guard a.slots[k].charIndex == word.end - 1, !notErhua.contains(word.text) else { continue }
            } else {
                let prevWord = a.words[a.slots[prevSlot].word].text
                if notErhua.contains(prevWord + "儿") || notErhua.contains(String(prevWord.suffix(1)) + "儿") { continue }
            }
            a.slots[prevSlot].syllable.erhua = true
            a.slots[k].mergedAway = true
        }
    }
}
