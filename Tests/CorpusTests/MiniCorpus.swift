import Foundation
import XCTest
import Audio
import Corpus
import Cores

/// A miniature Biaobei-layout corpus written at test time: tone + noise "speech" of plausible
/// lengths at 48 kHz, a label file with a BOM and CRLF line endings, erhua, and (optionally) one
/// utterance per fault the doctor must find.
struct MiniCorpus {
    let root: URL
    let labelFile: URL

    struct Entry {
        let id: String, text: String, pinyin: String
        let seconds: Double
        var kind = Kind.speech
        enum Kind { case speech, silent, clipped, missing, rate44k }
    }

    /// Good utterances.
    static let good: [Entry] = [
        Entry(id: "000001", text: "今天#1天气#2特别好#4。", pinyin: "jin1 tian1 tian1 qi4 te4 bie2 hao3", seconds: 2.0),
        Entry(id: "000002", text: "请等#1一会儿#4。", pinyin: "qing2 deng3 yi2 huir4", seconds: 1.2),
        Entry(id: "000003", text: "外面#1下着#1小雨#3，出门#1记得#1带伞#4。",
              pinyin: "wai4 mian4 xia4 zhe5 xiao2 yu3 chu1 men2 ji4 de5 dai4 san3", seconds: 3.0),
        Entry(id: "000011", text: "明天#1见#4。", pinyin: "ming2 tian1 jian4", seconds: 1.5),
        Entry(id: "000012", text: "我们#1去#1公园#4。", pinyin: "wo3 men5 qu4 gong1 yuan2", seconds: 1.6),
    ]

    /// One utterance per doctor fault (and one malformed label entry, 000008).
    static let faulty: [Entry] = [
        Entry(id: "000004", text: "我们#1走吧#4。", pinyin: "wo3 men5 zou3 ba5", seconds: 1.5, kind: .silent),
        Entry(id: "000005", text: "他#1很高兴#4。", pinyin: "ta1 hen3 gao1 xing4", seconds: 1.5, kind: .clipped),
        Entry(id: "000006", text: "你好#4。", pinyin: "ni2 hao3", seconds: 1.0, kind: .missing),
        Entry(id: "000007", text: "天气#1很好#4。", pinyin: "tian1 qi4 hen2 hao3", seconds: 1.4, kind: .rate44k),
        Entry(id: "000008", text: "ＰＫ#1比赛#4。", pinyin: "P IY1 bi3 sai4", seconds: 1.0),   // malformed pinyin
        Entry(id: "000009", text: "好#4。", pinyin: "hao3", seconds: 0.25),                     // too short: 21 frames
        Entry(id: "000010", text: "再见#4。", pinyin: "zai4 jian4", seconds: 12.0),             // too long, too slow
    ]

    /// Line of the text line of `id` in the label file (1-based; a BOM does not add a line).
    func line(of id: String, in entries: [Entry]) -> Int {
        (entries.firstIndex { $0.id == id } ?? 0) * 2 + 1
    }

    static func make(in parent: URL, name: String, faults: Bool, seed: UInt64 = 1) throws -> (MiniCorpus, [Entry]) {
        let root = parent.appendingPathComponent(name)
        let wave = root.appendingPathComponent("Wave"), labels = root.appendingPathComponent("ProsodyLabeling")
        try FileManager.default.createDirectory(at: wave, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
        let entries = (faults ? good + faulty : good).sorted { $0.id < $1.id }
        var text = "\u{FEFF}"
        for e in entries { text += "\(e.id)\t\(e.text)\r\n\t\(e.pinyin)\r\n" }
        let labelFile = labels.appendingPathComponent("000001-010000.txt")
        try Data(text.utf8).write(to: labelFile)
        var rng = SplitMix64(seed: seed)
        for e in entries where e.kind != .missing {
            let rate = e.kind == .rate44k ? 44100 : 48000
            let n = Int(e.seconds * Double(rate))
            var x = [Float](repeating: 0, count: n)
            if e.kind != .silent {
                let f0 = 110 + Double(rng.next(below: 80))
                for i in 0..<n {
                    let t = Double(i) / Double(rate)
                    let envelope = 0.5 - 0.5 * cos(2 * Double.pi * 3 * t)   // syllable-like bursts
                    let noise = Double(rng.next(below: 2001)) / 1000 - 1
                    var v = envelope * (0.25 * sin(2 * .pi * f0 * t) + 0.1 * sin(2 * .pi * 3.1 * f0 * t)) + 0.02 * noise
                    if e.kind == .clipped { v = max(-1, min(1, v * 6)) }
                    x[i] = Float(v)
                }
            }
            try AudioFile.write(x, sampleRate: rate, to: wave.appendingPathComponent(e.id + ".wav"))
        }
        return (MiniCorpus(root: root, labelFile: labelFile), entries)
    }
}

func makeTemporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-tests-\(name)-\(getpid())")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension XCTestCase {
    /// A fresh folder, removed when the test ends.
    func temporaryDirectory(_ name: String) throws -> URL {
        let url = try makeTemporaryDirectory(name)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

func options(speaker: String? = nil, seed: UInt64 = 1234) -> PrepareOptions {
    var o = PrepareOptions()
    o.speaker = speaker
    o.seed = seed
    return o
}
