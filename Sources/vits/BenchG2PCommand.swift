import ArgumentParser
import Foundation
import Mandarin

/// `vits bench g2p`: lexicon load time, memory and throughput of the Mandarin frontend on 10,000
/// generated sentences (see `BenchSentences`); scripts/bench/g2p_pypinyin.py times pypinyin on the
/// same sentences (`--write-sentences`).
struct BenchG2PCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g2p",
        abstract: "Time the Mandarin frontend (normalize + G2P + tokens) on 10,000 sentences.",
        discussion: """
            Example: vits bench g2p --json
                     vits bench g2p --write-sentences /tmp/g2p_sentences.txt   (input for scripts/bench/g2p_pypinyin.py)
            """)

    @Option(help: "Number of sentences.")
    var count = 10_000

    @Option(help: "Timed passes over the sentences; the median is reported.")
    var repeats = 5

    @Option(help: "Write the sentences to this file (one per line) and exit.")
    var writeSentences: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let cpuStart = clock()
        let frontend: MandarinFrontend
        do { frontend = try MandarinFrontend.bundled() } catch { throw ValidationError(error.description) }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        // CPU time too: on a shared machine wall time includes waiting for a core.
        let loadCPUSeconds = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
        let rssAfterLoad = residentMegabytes()

        let sentences = BenchSentences.make(count: count, words: frontend.lexicon.phraseWords())
        if let path = writeSentences {
            try (sentences.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(sentences.count) sentences to \(path)")
            return
        }
        let characters = sentences.reduce(0) { $0 + $1.count }
        var times: [Double] = []
        var cpuTimes: [Double] = []
        var syllables = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpu = clock()
            syllables = 0
            for s in sentences { syllables += frontend.process(s).pinyin.count }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            cpuTimes.append(Double(clock() - cpu) / Double(CLOCKS_PER_SEC))
        }
        times.sort()
        cpuTimes.sort()
        let median = times[times.count / 2]
        let cpuMedian = cpuTimes[cpuTimes.count / 2]
        let peak = peakMegabytes()
        if json {
            print("{\"bench\": \"g2p\", \"sentences\": \(sentences.count), \"characters\": \(characters), \"syllables\": \(syllables), "
                  + "\"seconds\": \(fmt(median)), \"cpu_seconds\": \(fmt(cpuMedian)), \"sentences_per_second\": \(fmt(Double(sentences.count) / median)), "
                  + "\"microseconds_per_sentence\": \(fmt(median / Double(sentences.count) * 1e6)), "
                  + "\"load_seconds\": \(fmt(loadSeconds)), \"load_cpu_seconds\": \(fmt(loadCPUSeconds)), \"rss_mb_after_load\": \(fmt(rssAfterLoad)), \"peak_rss_mb\": \(fmt(peak))}")
        } else {
            print("g2p: \(sentences.count) sentences (\(characters) characters, \(syllables) syllables)")
            print("  median of \(times.count): \(fmt(median)) s (\(fmt(cpuMedian)) s CPU) = \(fmt(median / Double(sentences.count) * 1e6)) µs/sentence, \(fmt(Double(sentences.count) / median)) sentences/s")
            print("  lexicon load: \(fmt(loadSeconds * 1000)) ms (\(fmt(loadCPUSeconds * 1000)) ms CPU), resident after load: \(fmt(rssAfterLoad)) MB, peak: \(fmt(peak)) MB")
        }
    }

    func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

    func statusField(_ name: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
    func residentMegabytes() -> Double { statusField("VmRSS:") }
    func peakMegabytes() -> Double { statusField("VmHWM:") }
}

/// A deterministic benchmark corpus: sentences of 3–8 phrase-table words drawn with a fixed
/// linear congruential generator, with commas, a sentence-final mark and, in one sentence of ten,
/// a number, a percentage or a date for the normalizer. Same count → same sentences on every machine.
enum BenchSentences {
    static func make(count: Int, words: [String]) -> [String] {
        guard !words.isEmpty else { return [] }
        var state: UInt64 = 0x5EED_2024
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let enders = ["。", "。", "。", "？", "！"]
        var out: [String] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            var s = ""
            let n = 3 + next(6)
            for k in 0..<n {
                s += words[next(words.count)]
                if k == n / 2, next(3) == 0 { s += "，" }
            }
            switch next(10) {
            case 0: s += "共\(next(20000))人"
            case 1: s += "增长了\(next(100)).\(next(10))%"
            case 2: s += "于\(1990 + next(35))年\(1 + next(12))月\(1 + next(28))日"
            default: break
            }
            out.append(s + enders[next(enders.count)])
        }
        return out
    }
}
