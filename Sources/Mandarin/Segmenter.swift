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
        let base = scalars.startIndex
        best.removeAll(keepingCapacity: true)
        best.append(contentsOf: repeatElement(0, count: n + 1))
        next.removeAll(keepingCapacity: true)
        next.append(contentsOf: repeatElement(0, count: n + 1))
        for i in stride(from: n - 1, through: 0, by: -1) {
            var key = WordKey()
            var bestEnd = i + 1
            var bestScore = -logTotal + best[i + 1]
            if key.append(scalars[base + i].value) {
                let single = find(key)
                if single >= 0 {
                    if isWord(single) { bestScore = max(logFrequency[single], 0) - logTotal + best[i + 1] }
                    var j = i + 1
                    while j < n, key.append(scalars[base + j].value) {
                        let e = find(key)
                        if e < 0 { break }
                        j += 1
                        if isWord(e) {
                            let score = logFrequency[e] - logTotal + best[j]
                            if score >= bestScore { bestScore = score; bestEnd = j }
                        }
                    }
                }
            }
            best[i] = bestScore
            next[i] = bestEnd
        }
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
