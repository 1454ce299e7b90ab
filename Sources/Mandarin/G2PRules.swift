/// The rules that turn dictionary readings into Biaobei's surface syllables. Each works on the
/// whole line in place, in the order `Analysis.run` calls them.
enum G2PRules {
    static func keys(_ words: [String]) -> Set<WordKey> { Set(words.compactMap { WordKey($0) }) }
    static func scalars(_ chars: String) -> Set<Unicode.Scalar> { Set(chars.unicodeScalars) }

    static let pronouns = keys(["我", "你", "他", "她", "它", "我们", "你们", "他们", "她们", "它们", "咱们", "咱",
                                "大家", "自己", "谁", "人家", "您"])
    static let modalSubjects = pronouns.union(keys(["就", "还", "也", "都", "总", "必须", "非", "可", "才", "又"]))
    static let teachObjects = pronouns.union(keys(["人", "学生", "孩子", "小孩", "书", "课"]))
    /// Numerals and demonstratives: a following 只/行/种 is a measure word.
    static let counters = scalars("一二两三四五六七八九十百千万几这那哪每半某多整各个")
    static let degreeAdverbs = keys(["很", "太", "更", "最", "多", "真", "挺", "好", "特别", "非常", "比较", "较",
                                     "越", "那么", "这么", "不", "够", "极", "相当", "有点", "多么", "还", "也", "都", "又", "得"])
    static let weiVerbs = keys(["以", "被", "所", "成", "视", "作", "称", "选", "列", "改", "变", "化", "分", "转", "认", "定",
                                "评", "奉", "尊", "封", "立", "推", "译", "更", "最", "极", "颇", "较", "甚", "尤", "广", "大",
                                "名", "誉", "命名", "称之", "结", "拜", "沦", "划"])
    static let notAdverbialDe = keys(["这个", "那个", "土地", "各个"])
    static func isParticle(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "的", "了", "着", "吗", "呢", "吧", "啊", "呀", "啦", "嘛", "哦", "哟", "喽", "们", "么", "哇", "呗": return true
        default: return false
        }
    }

    // MARK: polyphones

    /// Context rules for the most frequent single-character polyphones. They apply to a character
    /// whose reading came from the character table (a one-character word, or a character inside a
    /// word that has no phrase reading such as 重写); phrase readings are left alone. Neighbours are
    /// the adjacent words for a one-character word, the adjacent characters inside a longer word.
    static func applyContextRules(_ a: inout Analysis, slot: Int) {
        let ci = a.slots[slot].charIndex
        let w = a.slots[slot].word
        let word = a.words[w]
        let c = a.scalars[ci]
        var p: Range<Int>?
        var n: Range<Int>?
        if ci > word.start { p = (ci - 1)..<ci } else if let k = a.neighbour(of: w, offset: -1) { p = a.words[k].start..<a.words[k].end }
        if ci + 1 < word.end { n = (ci + 1)..<(ci + 2) } else if let k = a.neighbour(of: w, offset: 1) { n = a.words[k].start..<a.words[k].end }
        let prevKey = p.flatMap { a.key($0) }
        let nextKey = n.flatMap { a.key($0) }
        let prevLast: Unicode.Scalar? = p.map { a.scalars[$0.upperBound - 1] }
        let nextFirst: Unicode.Scalar? = n.map { a.scalars[$0.lowerBound] }
        let hasNext = n != nil
        func set(_ base: String, _ tone: Int) {
            guard let code = a.lexicon.code(base, tone) else { return }
            a.slots[slot].code = code
            a.slots[slot].lexicalTone = UInt8(tone)
        }
        func nextIn(_ chars: String) -> Bool { nextFirst.map { chars.unicodeScalars.contains($0) } ?? false }
        func prevIn(_ chars: String) -> Bool { prevLast.map { chars.unicodeScalars.contains($0) } ?? false }
        func prevIs(_ set: Set<WordKey>) -> Bool { prevKey.map { set.contains($0) } ?? false }
        func nextIs(_ set: Set<WordKey>) -> Bool { nextKey.map { set.contains($0) } ?? false }

        switch c {
        case "为":
            // 以…为…, 被…为…, 视/称/选 + 为: wei2 ("to be, as"); the preposition "for" is wei4.
            var yiBefore = false
            for k in max(0, ci - 6)..<ci where a.scalars[k] == "以" { yiBefore = true }
            // X 为 N ("is N"), 为主/为止, 图为 (captions), and 为 ending a phrase (所作所为) are wei2 too.
            if nextIn("了什此何我他她您自") { set("wei", 4) }
            else if prevIs(weiVerbs) || yiBefore || !hasNext || nextIn("一二三四五六七八九十百千万两几零主止") || prevIn("图皆身沦之")
            { set("wei", 2) } else { set("wei", 4) }
        case "长":
            if prevIs(degreeAdverbs) || nextIn("达约度期久远短条") { set("chang", 2) }
        case "得":
            // modal "must" after a subject (我们得走), "obtain" before 了/到 (他得了), else the particle
            let isSubject = p == nil || prevIs(modalSubjects)
            if hasNext, isSubject, nextIn("了到奖分益罪逞") {
                set("de", 2)
            } else if hasNext, p != nil, isSubject, !nextIn("很太更非真不好快慢多少清明一") {
                set("dei", 3)
            } else {
                set("de", 5)
            }
        case "地":
            // adverbial marker after a multi-character word (认真地, 慢慢地); the noun otherwise
            if let p, p.count >= 2, hasNext, !prevIs(notAdverbialDe) { set("de", 5) } else { set("di", 4) }
        case "了":
            if prevIn("不得") && (!hasNext || nextIn("了吗呢啊吧")) { set("liao", 3) } else { set("le", 5) }
        case "着":
            if prevIn("睡找猜点烧够") && (!hasNext || nextIn("了")) { set("zhao", 2) } else { set("zhe", 5) }
        case "还":
            if nextIn("钱债款账贷书清原礼愿价魂乡俗手嘴击") || prevIn("归偿退奉返送交") { set("huan", 2) } else { set("hai", 2) }
        case "行":
            if prevIn("一两几这那每三四五六七八九十第") || nextIn("字列距") { set("hang", 2) } else { set("xing", 2) }
        case "重":
            if nextIn("新来做写读建装修演返启播拍选组置设印审排算温游逢叠申回振提开考聚现整塑构获生")
                || prevIn("一两几多双层三九") { set("chong", 2) } else { set("zhong", 4) }
        case "教":
            if nextIs(teachObjects) { set("jiao", 1) } else { set("jiao", 4) }
        case "只":
            if let last = prevLast, counters.contains(last) { set("zhi", 1) } else { set("zhi", 3) }
        case "种":
            if nextIn("树花菜地田草粮瓜豆果植稻麦"), !(prevLast.map { counters.contains($0) } ?? false) { set("zhong", 4) } else { set("zhong", 3) }
        case "数":
            if nextIn("一不着了过钱到星数") { set("shu", 3) } else { set("shu", 4) }
        case "觉":
            if prevIn("一个午大好懒了") { set("jiao", 4) } else { set("jue", 2) }
        case "似":
            if nextIn("的") { set("shi", 4) } else { set("si", 4) }
        case "倒":
            if prevIn("摔打推跌绊病累晕撞压砍放卧") || nextIn("闭台塌霉卖班") { set("dao", 3) } else { set("dao", 4) }
        case "冲":
            if nextIs(pronouns) || nextIn("着") { set("chong", 4) }
        case "个":
            // Biaobei writes the classifier 个 neutral more often than not (381 ge5 : 305 ge4 in its
            // 10k labels); the full tone wins only after 一 (by a hair) and the distributives 整每各哪单.
            if prevIn("一整每各哪单") { set("ge", 4) } else { set("ge", 5) }
        case "子":
            // a suffix at the end of an unlisted word (…子) is neutral; on its own it is zi3 (一子, 孔子)
            if let p, p.upperBound == ci, p.count == 1, ci + 1 == word.end, word.length > 1 { set("zi", 5) } else { set("zi", 3) }
        case "相":
            if nextIn("貌片机") { set("xiang", 4) }
        default:
            break
        }
    }

    // MARK: neutral tone

    /// Particles and the plural 们 are neutral when they stand as words of their own. Lexicon
    /// neutral tones (孩子 zi5, 什么 me5) are already in the readings. 个 is handled above.
    static func neutralTones(_ a: inout Analysis) {
        for w in a.words.indices where a.words[w].kind == .han && a.words[w].length == 1 && a.words[w].syllableCount == 1 {
            guard isParticle(a.scalars[a.words[w].start]) else { continue }
            let slot = a.words[w].firstSyllable
            // 了 read liao3 and 着 read zhao2 by the rules above keep their tones.
            let base = a.slots[slot].code.base
            if base == a.lexicon.known.liao || base == a.lexicon.known.zhao { continue }
            a.slots[slot].code.tone = 5
        }
    }

    // MARK: 一 and 不

    /// The lexicon writes 一 and 不 with their sandhi tones inside some words (一定 yi2); reset to
    /// the citation tones so one rule decides them everywhere.
    static func resetYiBu(_ a: inout Analysis) {
        let yi = a.lexicon.known.yi, bu = a.lexicon.known.bu
        for k in a.slots.indices {
            let c = a.scalars[a.slots[k].charIndex]
            if c == "一", a.slots[k].code.base == yi { a.slots[k].code.tone = 1; a.slots[k].lexicalTone = 1 }
            if c == "不", a.slots[k].code.base == bu { a.slots[k].code.tone = 4; a.slots[k].lexicalTone = 4 }
        }
    }

    static let numeralChars = scalars("零〇一二三四五六七八九十两幺")
    static let digitChars = scalars("零〇一二三四五六七八九幺")
    static let bigUnits = scalars("十百千万亿")

    /// 一: yi1 in ordinals, digit strings, decimals, dates, inside numbers and at the end of a
    /// word or phrase; otherwise yi2 before tone 4 and yi4 before tones 1–3. 不: bu2 before tone 4.
    /// The tone that decides is the next syllable's citation tone (一个 → yi2 even when 个 is ge5).
    static func yiBuSandhi(_ a: inout Analysis) {
        let yi = a.lexicon.known.yi, bu = a.lexicon.known.bu
        for k in a.slots.indices {
            let ci = a.slots[k].charIndex
            let c = a.scalars[ci]
            let base = a.slots[k].code.base
            guard (c == "一" && base == yi) || (c == "不" && base == bu) else { continue }
            var nextTone: UInt8?
            if k + 1 < a.slots.count, a.slots[k + 1].charIndex == ci + 1, a.words[a.slots[k + 1].word].kind == .han {
                nextTone = citationTone(a, a.slots[k + 1])
            }
            if c == "不" {
                a.slots[k].code.tone = nextTone == 4 ? 2 : 4
                continue
            }
            let prev = a.charAt(ci - 1)
            let next = a.charAt(ci + 1)
            let w = a.words[a.slots[k].word]
            // word-final (唯一, 统一) unless the number goes on (之一|百 is 百分之一百)
            let isWordFinal = ci + 1 == w.end && w.length > 1 && !(next.map { bigUnits.contains($0) } ?? false)
            var keepFirst = nextTone == nil || isWordFinal
            if let p = prev, p == "第" || p == "点" || p == "十" || p == "月" || digitChars.contains(p) { keepFirst = true }
            if let p = prev, p == "百" || p == "千" || p == "万" || p == "亿", next == "十" { keepFirst = true }
            if let n = next, digitChars.contains(n) { keepFirst = true }
            if next == "月" || next == "号" { keepFirst = true }
            // 一点一二 written in hanzi is a decimal: 一 before 点 + digit keeps yi1
            if next == "点", let after = a.charAt(ci + 2), digitChars.contains(after) { keepFirst = true }
            if next == "日", let p = prev, numeralChars.contains(p) || p == "月" { keepFirst = true }
            if keepFirst {
                a.slots[k].code.tone = 1
            } else if let t = nextTone {
                a.slots[k].code.tone = t == 4 ? 2 : 4
            }
        }
    }

    /// Citation tone of a slot: its lexical tone, or (for a lexically neutral syllable) the first
    /// non-neutral reading of its character.
    static func citationTone(_ a: Analysis, _ slot: Analysis.Slot) -> UInt8 {
        if slot.lexicalTone != 5 { return slot.lexicalTone }
        if let r = a.lexicon.charReading(a.scalars[slot.charIndex].value) {
            for p in r where a.lexicon.pool[p].tone != 5 { return a.lexicon.pool[p].tone }
        }
        return 5
    }

    // MARK: third-tone sandhi

    /// Third-tone sandhi in Biaobei's surface convention (research notes §4.2).
    /// 1. Domains: two neighbouring words join when together they have ≤ 3 syllables and the
    ///    touching syllables are both tone 3 (我也|很好, 纸老虎, 展览馆); a domain holds at most two words.
    /// 2. Inside a domain (or a longer word): all-third 2 → 2 3; 3 → 2 2 3 for a 2+1 structure,
    ///    3 2 3 for 1+2; ≥ 4 → feet of two; mixed tones → pairwise left to right.
    /// 3. A residual pass over word boundaries in the same phrase: 3|3 → 2|3.
    static func thirdToneSandhi(_ a: inout Analysis) {
        var w = 0
        while w < a.words.count {
            let word = a.words[w]
            guard word.kind == .han, word.syllableCount > 0 else { w += 1; continue }
            var domainWords = 1
            if w + 1 < a.words.count {
                let right = a.words[w + 1]
                if right.kind == .han, right.syllableCount > 0, word.syllableCount + right.syllableCount <= 3,
                   a.slots[word.firstSyllable + word.syllableCount - 1].code.tone == 3,
                   a.slots[right.firstSyllable].code.tone == 3 {
                    domainWords = 2
                }
            }
            let first = word.firstSyllable
            var count = word.syllableCount
            if domainWords == 2 { count += a.words[w + 1].syllableCount }
            applyDomain(&a, first: first, count: count, leftSize: domainWords == 2 ? word.syllableCount : nil, word: w)
            w += domainWords
        }

        // residual pass across word boundaries within a phrase (hanzi only)
        for k in a.slots.indices.dropLast() {
            let w1 = a.slots[k].word, w2 = a.slots[k + 1].word
            guard w2 == w1 + 1, a.words[w1].kind == .han, a.words[w2].kind == .han else { continue }
            if a.slots[k].code.tone == 3 && a.slots[k + 1].code.tone == 3 { a.slots[k].code.tone = 2 }
        }
    }

    static func applyDomain(_ a: inout Analysis, first: Int, count: Int, leftSize: Int?, word w: Int) {
        guard count >= 2 else { return }
        let range = first..<(first + count)
        if range.allSatisfy({ a.slots[$0].code.tone == 3 }) {
            var tones = [UInt8](repeating: 3, count: count)
            switch count {
            case 2:
                tones[0] = 2
            case 3:
                var left = leftSize ?? 2
                if leftSize == nil {
                    // one three-character word: 2+1 (展览馆) unless only its last two form a word (纸老虎)
                    let s = a.words[w].start
                    let headIsWord = a.key(s..<(s + 2)).map { let e = a.lexicon.find($0); return e >= 0 && a.lexicon.isWord(e) } ?? false
                    let tailIsWord = a.key((s + 1)..<(s + 3)).map { let e = a.lexicon.find($0); return e >= 0 && a.lexicon.isWord(e) } ?? false
                    left = (!headIsWord && tailIsWord) ? 1 : 2
                }
                tones = left == 1 ? [3, 2, 3] : [2, 2, 3]
            default:
                var k = 0
                while k + 1 < count {
                    if k + 3 == count { tones[k] = 2; tones[k + 1] = 2; break }  // odd tail: 2+1
                    tones[k] = 2
                    k += 2
                }
            }
            for (o, t) in tones.enumerated() { a.slots[first + o].code.tone = t }
        } else {
            for k in range.dropLast() where a.slots[k].code.tone == 3 && a.slots[k + 1].code.tone == 3 {
                a.slots[k].code.tone = 2
            }
        }
    }

    // MARK: erhua

    /// Words where 儿 keeps its own syllable er2 (a child, a son, …), not erhua.
    static let notErhua = keys(["女儿", "婴儿", "幼儿", "儿子", "儿童", "孤儿", "患儿", "男儿", "健儿", "胎儿",
                                "混血儿", "少儿", "侄儿", "孙儿", "鸟儿", "宠儿", "弃儿", "新生儿", "早产儿", "幸运儿",
                                "育儿", "乳儿", "小儿", "孩儿", "花儿", "犬儿", "雏儿", "娇儿", "爱儿", "生儿", "养儿",
                                "妻儿", "病儿", "私生儿", "低能儿", "健儿", "骄儿"])

    /// A word-final 儿 read er2/er5 merges into the previous syllable (一会儿 → huir4, 哪儿 → nar3);
    /// a 儿 standing alone after a word merges too, unless the pair is in `notErhua`.
    static func erhua(_ a: inout Analysis) {
        let er = a.lexicon.known.er
        for k in a.slots.indices.dropFirst() {
            let ci = a.slots[k].charIndex
            guard a.scalars[ci] == "儿", a.slots[k].code.base == er else { continue }
            let word = a.words[a.slots[k].word]
            let prev = k - 1
            guard a.slots[prev].charIndex == ci - 1, a.words[a.slots[prev].word].kind == .han,
                  a.slots[prev].code.base != er, !a.slots[prev].code.erhua, !a.slots[prev].mergedAway else { continue }
            if word.length > 1 {
                guard ci == word.end - 1, let key = a.key(word.start..<word.end), !notErhua.contains(key) else { continue }
            } else {
                let prevWord = a.words[a.slots[prev].word]
                if let key = a.key(prevWord.start..<(prevWord.end + 1)), notErhua.contains(key) { continue }
                if let key = a.key((ci - 1)..<(ci + 1)), notErhua.contains(key) { continue }
            }
            a.slots[prev].code.erhua = true
            a.slots[k].mergedAway = true
        }
    }
}
