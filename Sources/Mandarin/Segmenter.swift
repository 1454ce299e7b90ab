extension Lexicon {
    /// Maximum-probability segmentation of a run of hanzi (jieba's DAG + dynamic programming,
    /// without its HMM for unknown words). Returns the end offset (exclusive) of every word.
    ///
    /// best[i] = max over words w = text[i..<j] of (ln f(w) − ln F + best[j]); ties go to the
    /// longer word, as in jieba. A single character is always a candidate (frequency ≥ 1).
    func segment(_ scalars: ArraySlice<Unicode.Scalar>) -> [Int] {
        let n = scalars.count
        if n == 0 { return [] }
        if n == 1 { return [1] }
        let base = scalars.startIndex
        var best = [Float](repeating: 0, count: n + 1)
        var next = [Int](repeating: 0, count: n + 1)
        let maxLength = maxWordLength
        for i in stride(from: n - 1, through: 0, by: -1) {
            var word = String(scalars[base + i])
            let single = entries[word]
            let singleLog: Float = single.map { $0.isWord ? max($0.logFrequency, 0) : 0 } ?? 0
            var bestScore = singleLog - logTotal + best[i + 1]
            var bestEnd = i + 1
            if single != nil {
                var j = i + 1
                while j < n, j - i < maxLength {
                    word.unicodeScalars.append(scalars[base + j])
                    guard let e = entries[word] else { break }
                    j += 1
                    if e.isWord {
                        let score = e.logFrequency - logTotal + best[j]
                        if score >= bestScore { bestScore = score; bestEnd = j }
                    }
                }
            }
            best[i] = bestScore
            next[i] = bestEnd
        }
        var ends: [Int] = []
        var i = 0
        while i < n { i = next[i]; ends.append(i) }
        return ends
    }

    /// Segments a string (for tests and tools): the words in order.
    public func segment(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        var start = 0
        for end in segment(scalars[...]) {
            var w = String.UnicodeScalarView()
            w.append(contentsOf: scalars[start..<end])
            words.append(String(w))
            start = end
        }
        return words
    }
}
