import XCTest
import Foundation
import Audio
import Mandarin
import Corpus

final class ImporterTests: XCTestCase {
    private func tone(seconds: Double, rate: Int) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { Float(0.3 * sin(2 * Double.pi * 220 * Double($0) / Double(rate))) }
    }

    func testBiaobeiLabelsAreUsedAsGiven() throws {
        let tmp = try temporaryDirectory("import-biaobei")
        let (corpus, entries) = try MiniCorpus.make(in: tmp, name: "BZNSYP", faults: false)
        let imported = try CorpusImporter.load(.biaobei(corpus.root))
        XCTAssertEqual(imported.utterances.count, entries.count)
        XCTAssertEqual(imported.utterances[0].speaker, "BZNSYP")
        // 们 is labelled men5 here; the G2P would say the same, so check a label the G2P would not give:
        // the labels' own surface tones are kept verbatim.
        for (u, e) in zip(imported.utterances, entries) {
            XCTAssertEqual(u.pinyin?.joined(separator: " "), e.pinyin)
            XCTAssertEqual(u.origin, "\(corpus.labelFile.path):\(corpus.line(of: e.id, in: entries))")
        }
        XCTAssertThrowsError(try CorpusImporter.load(.biaobei(corpus.root), speaker: "a b"))
    }

    func testLJSpeechCharactersAndMalformedLines() throws {
        let root = try temporaryDirectory("import-ljs")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("wavs"), withIntermediateDirectories: true)
        for id in ["LJ001-0001", "LJ001-0002", "LJ001-0003", "LJ001-0004"] {
            try AudioFile.write(tone(seconds: 0.5, rate: 22050), sampleRate: 22050, to: root.appendingPathComponent("wavs/\(id).wav"))
        }
        let metadata = """
            LJ001-0001|Printing, in 1912, is “the” art|Printing, in nineteen twelve, is “the” art
            LJ001-0002|Café — déjà vu|Café — déjà vu
            this line has no separators
            LJ001-0003|Chapter 3|Chapter 3
            LJ001-0004|Hello [world]|
            LJ001-0005|no audio|no audio
            LJ001-0001|again|again

            """
        try Data(metadata.utf8).write(to: root.appendingPathComponent("metadata.csv"))
        let imported = try CorpusImporter.load(.ljspeech(root), speaker: "lj")
        XCTAssertEqual(imported.inventory, .latinCharactersV1)
        XCTAssertEqual(imported.utterances.map(\.text), ["printing, in nineteen twelve, is \"the\" art", "cafe - deja vu", "hello (world)"])
        let u = imported.utterances[1]
        XCTAssertEqual(u.tokens, u.phones.map { SymbolInventory.latinCharactersV1.symbols.firstIndex(of: $0)! })
        XCTAssertEqual(imported.issues.map(\.line), [3, 4, 6, 7])
        XCTAssertTrue(imported.issues[0].message.contains("3 fields"))
        XCTAssertTrue(imported.issues[1].message.contains("'3'") && imported.issues[1].message.contains("write numbers out"))
        XCTAssertTrue(imported.issues[2].message.contains("LJ001-0005.wav"))
        XCTAssertTrue(imported.issues[3].message.contains("duplicate"))
        XCTAssertEqual(SymbolInventory.latinCharactersV1.count, 39)
        XCTAssertEqual(SymbolInventory.latinCharactersV1.symbols[0], "<pad>")
    }

    func testFilelistGoesThroughTheMandarinFrontend() throws {
        let root = try temporaryDirectory("import-filelist")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("audio"), withIntermediateDirectories: true)
        for name in ["a", "b", "c"] {
            try AudioFile.write(tone(seconds: 0.6, rate: 16000), sampleRate: 16000, to: root.appendingPathComponent("audio/\(name).wav"))
        }
        let list = """
            # comment
            audio/a.wav|spk1|请等一会儿。
            audio/b.wav|spk2|今天是2024年3月5日。
            audio/c.wav|spk1
            audio/c.wav|bad speaker|你好
            audio/missing.wav|spk1|你好
            audio/a.wav|spk1|重复
            audio/c.wav|spk1|hello!

            """
        let file = root.appendingPathComponent("list.txt")
        try Data(list.utf8).write(to: file)
        let imported = try CorpusImporter.load(.filelist(file))
        XCTAssertEqual(imported.utterances.map(\.key), ["spk1/a", "spk2/b", "spk1/c"])
        let frontend = try MandarinFrontend.bundled()
        XCTAssertEqual(imported.utterances[0].phones, frontend.process("请等一会儿。").tokens)
        XCTAssertEqual(imported.utterances[0].pinyin, ["qing2", "deng3", "yi2", "huir4"])
        XCTAssertEqual(imported.utterances[1].tokens, try frontend.tokenIDs("今天是2024年3月5日。"))
        XCTAssertEqual(imported.issues.map(\.line), [4, 5, 6, 7])
        XCTAssertThrowsError(try CorpusImporter.load(.filelist(file), speaker: "x"))

        // Prepare: speakers named by the file, audio resampled from 16 kHz.
        let out = root.appendingPathComponent("data")
        let report = try Preparer.prepare(.filelist(file), into: out, options: options())
        XCTAssertEqual(report.prepared, 3)
        XCTAssertEqual(try DataFolder(out).readSpeakers().map(\.name), ["spk1", "spk2"])
        XCTAssertEqual(try DataFolder(out).readIssues().count, 4)
    }

    func testCorpusSourceParsing() throws {
        XCTAssertEqual(try CorpusSource(parsing: "biaobei:/x/BZNSYP"), .biaobei(URL(fileURLWithPath: "/x/BZNSYP")))
        XCTAssertEqual(try CorpusSource(parsing: "filelist:/x/l.txt").description, "filelist:/x/l.txt")
        XCTAssertThrowsError(try CorpusSource(parsing: "/x/BZNSYP"))
        XCTAssertThrowsError(try CorpusSource(parsing: "aishell:/x"))
        XCTAssertThrowsError(try CorpusSource(parsing: "biaobei:"))
        XCTAssertEqual(CorpusSource.biaobei(URL(fileURLWithPath: "/x/my corpus")).defaultSpeaker, "my_corpus")
    }
}
