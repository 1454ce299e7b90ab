extension Lexicon {
    /// Maximum-probability segmentation of a run of hanzi (jieba's DAG + dynamic programming,
    /// without its HMM for unknown words). Returns the end offset (exclusive) of every word.
    ///
    /// best[i] = max over words w = text[i..<j] of (ln f(w) − ln F + best[j]); ties go to the
    /// longer word, as in jieba. A single character is always a candidate (frequency ≥ 1).
    /// The DAG is never stored: each start extends its key one character at a time and stops as
    /// soon as the key is not even a prefix of a dictionary word.
    func segment(_ scalars: ArraySlice<Unicode.Scalar>, into ends: inout [Int], scratch best: inout [Float], _ next: inout [Int]) {
        let n = scalars.count
        ends.removeAll(keepingCapacity: true)
        if n == 0 { return }
        if n == 1 { ends.append(1); return }

        best.removeAll(keepingCapacity: true)
        best.append(contentsOf: repeatElement(0, count: n + 1))
        next.removeAll(keepingCapacity: true)
        next.append(contentsOf: repeatElement(0, count: n + 1))
        scalars.withUnsafeBufferPointer { text in
        best.withUnsafeMutableBufferPointer { best in
        next.withUnsafeMutableBufferPointer { next in
        table.withUnsafeBufferPointer { table in
        for i in stride(from: n - 1, through: 0, by: -1) {
            var key = WordKey()
            var bestEnd = i + 1
            var bestScore = -logTotal + best[i + 1]
            let v = text[i].value
            if key.append(v) {
                let single = v >= Lexicon.charBase && v < Lexicon.charLimit ? Int(singleEntry[Int(v - Lexicon.charBase)]) : find(key)
                if single >= 0 {
                    if isWord(single) { bestScore = max(logFrequency[single], 0) - logTotal + best[i + 1] }
                    var j = i + 1
                    extend: while j < n, key.append(text[j].value) {
                        var slot = Lexicon.hash(key.lo, key.hi) & slotMask
                        while true {
                            let s = table[slot]
                            if s.entry < 0 { break extend }
                            if s.lo == key.lo && s.hi == key.hi {
                                j += 1
                                if s.logFrequency > -.infinity {
                                    let score = s.logFrequency - logTotal + best[j]
                                    if score >= bestScore { bestScore = score; bestEnd = j }
                                }
                                break
                            }
                            slot = (slot &+ 1) & slotMask
                        }
                    }
                }
            }
            best[i] = bestScore
            next[i] = bestEnd
        }
        }}}}

        var i = 0
        while i < n { i = next[i]; ends.append(i) }
    }

    /// Segments a string (for tests and tools): the words in order.
    public func segment(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var ends: [Int] = [], best: [Float] = [], next: [Int] = []
        segment(scalars[...], into: &ends, scratch: &best, &next)
        var words: [String] = []
        var start = 0
        for end in ends {
            var w = String.UnicodeScalarView()
            w.append(contentsOf: scalars[start..<end])
            words.append(String(w))
            start = end
        }
        return words
    }
}
