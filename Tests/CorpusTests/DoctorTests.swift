import XCTest
import Foundation
import Audio
import Corpus

final class DoctorTests: XCTestCase {
    private func offenders(_ report: DoctorReport, _ check: String) -> String {
        report.check(check)?.offenders.joined(separator: "\n") ?? "no such check"
    }

    func testDoctorFindsEachFaultOfThePreparedCorpus() throws {
        let tmp = try temporaryDirectory("doctor")
        let (corpus, entries) = try MiniCorpus.make(in: tmp, name: "spk", faults: true)
        let out = tmp.appendingPathComponent("data")
        _ = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        var o = DoctorOptions()
        o.maxOffenders = 20
        let report = Doctor.examine(dataFolder: out, options: o)

        XCTAssertEqual(report.utterances, 10)
        XCTAssertEqual(report.check("silent")?.count, 1)
        XCTAssertTrue(offenders(report, "silent").contains("spk/000004"))
        XCTAssertEqual(report.check("clipped")?.count, 1)
        XCTAssertTrue(offenders(report, "clipped").contains("spk/000005"))
        XCTAssertEqual(report.check("source-sample-rate")?.count, 1)
        XCTAssertTrue(offenders(report, "source-sample-rate").contains("spk/000007: source 44100 Hz"))
        XCTAssertEqual(report.check("import-issues")?.count, 2)
        XCTAssertTrue(offenders(report, "import-issues").contains("\(corpus.labelFile.path):\(corpus.line(of: "000006", in: entries)) (000006)"))
        XCTAssertTrue(offenders(report, "import-issues").contains("(000008)"))
        XCTAssertEqual(report.check("sampler-drops")?.count, 2)
        XCTAssertTrue(offenders(report, "sampler-drops").contains("spk/000009: 21 frames"))
        XCTAssertTrue(offenders(report, "sampler-drops").contains("spk/000010: 1033 frames"))
        XCTAssertEqual(report.check("speaking-rate")?.count, 1)
        XCTAssertTrue(offenders(report, "speaking-rate").contains("spk/000010"))
        for clean in ["layout", "empty", "unreadable-audio", "unreadable-spec", "sample-rate", "unknown-symbols",
                      "duplicate-ids", "split", "speakers", "duplicate-texts"] {
            XCTAssertEqual(report.check(clean)?.count, 0, "\(clean): \(offenders(report, clean))")
        }
        XCTAssertTrue(report.fatal)   // silent audio is fatal

        // Damage the data folder after preparing it.
        let folder = DataFolder(out)
        try FileManager.default.removeItem(at: folder.file("wavs/spk/000001.wav"))
        try AudioFile.write([Float](repeating: 0.1, count: 16000), sampleRate: 16000, to: folder.file("wavs/spk/000002.wav"))
        try Data("not a safetensors file".utf8).write(to: folder.file("specs/spk/000003.safetensors"))
        var manifest = try String(contentsOf: folder.manifestURL, encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "\"tokens\":[1,", with: "\"tokens\":[999,")
        manifest += "{\"broken\": true}\n"
        try Data(manifest.utf8).write(to: folder.manifestURL)
        let broken = Doctor.examine(dataFolder: out, options: o)
        XCTAssertEqual(broken.check("layout")?.count, 1)
        XCTAssertTrue(offenders(broken, "layout").contains("manifest.jsonl:11: id: missing required key"), offenders(broken, "layout"))

        // Same damage with a valid manifest line: every file check fires.
        manifest = manifest.replacingOccurrences(of: "{\"broken\": true}\n", with: "")
        let first = manifest.split(separator: "\n")[0]
        manifest += first.replacingOccurrences(of: "\"split\":\"train\"", with: "\"split\":\"train\"") + "\n"   // a duplicate id
        try Data(manifest.utf8).write(to: folder.manifestURL)
        let damaged = Doctor.examine(dataFolder: out, options: o)
        XCTAssertTrue(offenders(damaged, "unreadable-audio").contains("000001.wav"), offenders(damaged, "unreadable-audio"))
        XCTAssertTrue(offenders(damaged, "sample-rate").contains("wavs/spk/000002.wav: 16000 Hz"), offenders(damaged, "sample-rate"))
        XCTAssertTrue(offenders(damaged, "unreadable-spec").contains("000003.safetensors"))
        XCTAssertEqual(damaged.check("unknown-symbols")?.count, 11)   // every entry (10 + the duplicate) starts with sil = 1
        XCTAssertEqual(damaged.check("duplicate-ids")?.count, 1)
        XCTAssertTrue(damaged.fatal)
    }

    func testCleanCorpusHasNoFatalProblemAndCustomBoundaries() throws {
        let tmp = try temporaryDirectory("doctor-clean")
        let (corpus, _) = try MiniCorpus.make(in: tmp, name: "spk", faults: false)
        let out = tmp.appendingPathComponent("data")
        _ = try Preparer.prepare(.biaobei(corpus.root), into: out, options: options())
        let report = Doctor.examine(dataFolder: out)
        XCTAssertFalse(report.fatal, report.checks.filter { $0.count > 0 }.map(\.name).description)
        XCTAssertEqual(report.checks.filter { $0.count > 0 }.map(\.name), [])
        var o = DoctorOptions()
        o.boundaries = [32, 150, 200]     // 000003 (3.0 s, 258 frames) no longer fits
        let tight = Doctor.examine(dataFolder: out, options: o)
        XCTAssertEqual(tight.check("sampler-drops")?.count, 1)
        XCTAssertFalse(tight.fatal)
        XCTAssertTrue(Doctor.examine(dataFolder: tmp.appendingPathComponent("nothing")).fatal)
    }

    func testDoctorOnRawCorpus() throws {
        let tmp = try temporaryDirectory("doctor-raw")
        let (corpus, _) = try MiniCorpus.make(in: tmp, name: "spk", faults: true)
        let report = try Doctor.examine(source: .biaobei(corpus.root))
        XCTAssertEqual(report.utterances, 10)
        XCTAssertEqual(report.check("silent")?.count, 1)
        XCTAssertEqual(report.check("clipped")?.count, 1)
        XCTAssertEqual(report.check("import-issues")?.count, 2)
        XCTAssertEqual(report.check("source-sample-rate")?.count, 1)
        XCTAssertEqual(report.check("sampler-drops")?.count, 2)
        XCTAssertEqual(report.check("speaking-rate")?.count, 1)
        XCTAssertTrue(report.fatal)
    }
}
