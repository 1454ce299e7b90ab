import XCTest
import Foundation
import Audio
import Features
import Formats
import Mandarin
import Corpus

final class PrepareTests: XCTestCase {
    func testPrepareWritesManifestWavsAndSpectrogramsExactly() throws {
        let tmp = try temporaryDirectory("prepare")
        let (corpus, entries) = try MiniCorpus.make(in: tmp, name: "spk", faults: true)
        let out = tmp.appendingPathComponent("data")
        let report = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())

        // 12 label entries: 000006 has no WAV, 000008 has a pinyin line that is not pinyin.
        XCTAssertEqual(report.imported, entries.count - 2)
        XCTAssertEqual(report.prepared, entries.count - 2)
        XCTAssertEqual(report.reused, 0)
        let issues = report.issues.filter(\.skipped).sorted { $0.line < $1.line }
        XCTAssertEqual(issues.map(\.id), ["000006", "000008"])
        XCTAssertEqual(issues[0].file, corpus.labelFile.path)
        XCTAssertEqual(issues[0].line, corpus.line(of: "000006", in: entries))
        XCTAssertTrue(issues[0].message.contains("000006.wav"), issues[0].message)
        XCTAssertEqual(issues[1].line, corpus.line(of: "000008", in: entries) + 1)   // the pinyin line
        XCTAssertTrue(issues[1].message.contains("'P'"), issues[1].message)

        let folder = DataFolder(out)
        let info = try folder.readInfo()
        XCTAssertEqual(info, DataInfo(sampleRate: 22050, nFFT: 1024, hopLength: 256, winLength: 1024, inventory: "zh-v1"))
        XCTAssertEqual(try folder.readInventory(), .mandarinV1)
        XCTAssertEqual(try folder.readSpeakers(), [SpeakerRecord(id: 0, name: "spk", source: "biaobei:" + corpus.root.path)])
        let manifest = try folder.readManifest()
        XCTAssertEqual(manifest.map(\.utterance), ["000001", "000002", "000003", "000004", "000005", "000007", "000009", "000010", "000011", "000012"])

        // Erhua entry: labels as given (not re-derived), tokens in zh-v1.
        let erhua = try XCTUnwrap(manifest.first { $0.utterance == "000002" })
        XCTAssertEqual(erhua.id, "spk/000002")
        XCTAssertEqual(erhua.text, "请等一会儿。")
        XCTAssertEqual(erhua.pinyin, ["qing2", "deng3", "yi2", "huir4"])
        XCTAssertEqual(erhua.phones, ["sil", "q", "ing2", "d", "eng3", "^", "i2", "h", "uei4", "rr", "sil"])
        XCTAssertEqual(erhua.tokens, try PhonemeInventory.v1.ids(of: erhua.phones))
        XCTAssertEqual(erhua.sourceLine, "\(corpus.labelFile.path):3")
        // Pause punctuation inside the text gives sp.
        XCTAssertEqual(manifest.first { $0.utterance == "000003" }?.phones.filter { $0 == "sp" }.count, 1)

        let spectrogram = try LinearSpectrogram(config: SpectrogramConfig(sampleRate: 22050, nFFT: 1024, hopLength: 256, winLength: 1024))
        for e in manifest {
            // The WAV is the source resampled once and rounded to 16 bits.
            let wav = try AudioFile.read(folder.file(e.wav))
            XCTAssertEqual(wav.sampleRate, 22050)
            XCTAssertEqual(wav.samples.count, e.samples)
            let source = try AudioFile.read(URL(fileURLWithPath: e.source))
            XCTAssertEqual(e.sourceRate, source.sampleRate)
            let resampled = try Resampler.resample(source.samples, from: source.sampleRate, to: 22050)
            XCTAssertEqual(resampled.count, wav.samples.count)
            var worst: Float = 0
            // inside the 16-bit range the WAV is the resampled signal to half a step (outside, it clips)
            for (a, b) in zip(resampled, wav.samples) where abs(a) < 32767 / 32768 { worst = max(worst, abs(a - b)) }
            XCTAssertLessThanOrEqual(worst, 0.5 / 32768 + 1e-7, e.id)
            // The cached spec equals the Features spectrogram of that WAV, bit for bit.
            let file = try SafeTensorsFile(contentsOf: folder.file(e.spec))
            let (shape, values) = try file.tensor(named: "spec")
            let expected = try spectrogram.compute(wav.samples)
            XCTAssertEqual(shape, [513, expected.frames], e.id)
            XCTAssertEqual(e.frames, expected.frames)
            XCTAssertEqual(e.frames, e.samples / 256)
            XCTAssertTrue(values == expected.values, "\(e.id): cached spectrogram differs from LinearSpectrogram")
        }
        // A 44.1 kHz source is resampled like the others.
        XCTAssertEqual(manifest.first { $0.utterance == "000007" }?.sourceRate, 44100)
        // The clipped source is recorded, the others are not.
        XCTAssertEqual(manifest.filter { $0.sourceClipped > 0 }.map(\.utterance), ["000005"])

        // Split lists partition the manifest.
        let train = try folder.readSplit(.train), validation = try folder.readSplit(.validation)
        XCTAssertEqual(Set(train + validation), Set(manifest.map(\.id)))
        XCTAssertTrue(Set(train).isDisjoint(with: validation))
        XCTAssertEqual(validation.count, 1)   // 2% of 10, at least one
        XCTAssertEqual(manifest.filter { $0.split == .validation }.map(\.id), validation)
    }

    func testRerunIsIncrementalAndRecoversFromInterruptions() throws {
        let tmp = try temporaryDirectory("incremental")
        let (corpus, _) = try MiniCorpus.make(in: tmp, name: "spk", faults: false)
        let out = tmp.appendingPathComponent("data")
        let first = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        XCTAssertEqual(first.prepared, 5)
        let folder = DataFolder(out)
        let manifestBytes = try Data(contentsOf: folder.manifestURL)
        let specURL = folder.file("specs/spk/000003.safetensors"), wavURL = folder.file("wavs/spk/000002.wav")
        let specBytes = try Data(contentsOf: specURL)

        // Nothing changed: no work, identical outputs.
        let again = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        XCTAssertEqual(again.prepared, 0)
        XCTAssertEqual(again.reused, 5)
        XCTAssertEqual(try Data(contentsOf: folder.manifestURL), manifestBytes)

        // Interrupted run: a spec never written, a WAV lost, temporaries left behind.
        try FileManager.default.removeItem(at: specURL)
        try FileManager.default.removeItem(at: wavURL)
        let leftover = folder.file("wavs/spk/.000004.wav.tmp-99-12345")
        try Data([1, 2, 3]).write(to: leftover)
        try Data([1]).write(to: folder.file(".manifest.jsonl.tmp-99-1"))
        let recovered = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        XCTAssertEqual(recovered.prepared, 2)
        XCTAssertEqual(recovered.reused, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file(".manifest.jsonl.tmp-99-1").path))
        XCTAssertEqual(try Data(contentsOf: specURL), specBytes)
        XCTAssertEqual(try Data(contentsOf: folder.manifestURL), manifestBytes)

        // A source file that changed (new mtime) is redone; a truncated spec is redone.
        let source = corpus.root.appendingPathComponent("Wave/000001.wav")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: source.path)
        let cut = try Data(contentsOf: folder.file("specs/spk/000011.safetensors"))
        try cut.prefix(cut.count - 100).write(to: folder.file("specs/spk/000011.safetensors"))
        let changed = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        XCTAssertEqual(changed.prepared, 2)
        XCTAssertFalse(Doctor.examine(dataFolder: out).fatal)
    }

    func testSpeakersAccumulateWithStableIdsAndParametersMustAgree() throws {
        let tmp = try temporaryDirectory("speakers")
        let (a, _) = try MiniCorpus.make(in: tmp, name: "alpha", faults: false, seed: 1)
        let (b, _) = try MiniCorpus.make(in: tmp, name: "beta", faults: false, seed: 2)
        let out = tmp.appendingPathComponent("data")
        _ = try Preparer.prepare(.biaobei(a.root), into: out, options: options(speaker: "male_low"))
        _ = try Preparer.prepare(.biaobei(b.root), into: out, options: options())            // speaker = folder name
        _ = try Preparer.prepare(.biaobei(a.root), into: out, options: options(speaker: "male_low"))
        let folder = DataFolder(out)
        XCTAssertEqual(try folder.readSpeakers().map { "\($0.id):\($0.name)" }, ["0:male_low", "1:beta"])
        let manifest = try folder.readManifest()
        XCTAssertEqual(manifest.count, 10)
        XCTAssertEqual(Set(manifest.filter { $0.speaker == "beta" }.map(\.speakerID)), [1])
        XCTAssertEqual(manifest.map(\.speakerID), manifest.map(\.speakerID).sorted())

        var other = options(speaker: "gamma")
        other.sampleRate = 16000
        XCTAssertThrowsError(try Preparer.prepare(.biaobei(a.root), into: out, options: other)) { error in
            XCTAssertTrue("\(error)".contains("sample rate 22050 vs 16000"), "\(error)")
        }
        XCTAssertThrowsError(try Preparer.prepare(.biaobei(a.root), into: out, options: options(speaker: "bad/name")))
        XCTAssertThrowsError(try Preparer.prepare(.biaobei(tmp.appendingPathComponent("nowhere")), into: out, options: options())) { error in
            XCTAssertTrue("\(error)".contains("ProsodyLabeling"), "\(error)")
        }
    }

    func testSplitIsDeterministic() throws {
        let tmp = try temporaryDirectory("split")
        let (corpus, _) = try MiniCorpus.make(in: tmp, name: "spk", faults: false)
        func split(_ seed: UInt64, _ size: ValidationSize, _ name: String) throws -> [String] {
            var o = options(seed: seed)
            o.validation = size
            let out = tmp.appendingPathComponent(name)
            _ = try Preparer.prepare(.biaobei(corpus.root), into: out, options: o)
            return try DataFolder(out).readSplit(.validation)
        }
        let a = try split(7, .count(2), "a"), b = try split(7, .count(2), "b")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 2)
        var seen = Set<[String]>()
        for seed in 1...8 { seen.insert(try split(UInt64(seed), .count(2), "s\(seed)")) }
        XCTAssertGreaterThan(seen.count, 1, "the seed does not change the split")
        XCTAssertEqual(try split(7, .count(99), "all").count, 4)      // never the whole speaker
        XCTAssertEqual(try split(7, .fraction(0), "none").count, 0)
        XCTAssertEqual(try split(7, .fraction(0.4), "frac").count, 2)
    }
}
