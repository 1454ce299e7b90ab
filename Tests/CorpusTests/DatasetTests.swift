import XCTest
import Foundation
import Audio
import Formats
import Corpus

final class DatasetTests: XCTestCase {
    nonisolated(unsafe) private static var prepared: URL?   // XCTest runs a class's tests one at a time

    override class func tearDown() {
        if let url = prepared { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        prepared = nil
    }

    /// One prepared folder (with faults: 000009 and 000010 are outside the sampler's boundaries).
    private func folder() throws -> URL {
        if let url = Self.prepared { return url }
        let tmp = try makeTemporaryDirectory("dataset")
        let (corpus, _) = try MiniCorpus.make(in: tmp, name: "spk", faults: true)
        let out = tmp.appendingPathComponent("data")
        var o = options()
        o.validation = .count(0)
        _ = try Preparer.prepare(.biaobei(corpus.root), into: out, options: o)
        Self.prepared = out
        return out
    }

    func testSamplerOverThePreparedSetIsDeterministic() throws {
        let url = try folder()
        let a = try CorpusDataset(directory: url), b = try CorpusDataset(directory: url)
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(a.lengths, a.entries.map(\.frames))
        let sa = try a.sampler(batchSize: 2, seed: 5), sb = try b.sampler(batchSize: 2, seed: 5)
        XCTAssertEqual(sa.batches(epoch: 3), sb.batches(epoch: 3))
        XCTAssertNotEqual(sa.batches(epoch: 3), sa.batches(epoch: 4))
        XCTAssertEqual(sa.dropped.map { a.entries[$0].utterance }, ["000009", "000010"])
        XCTAssertEqual(Set(sa.batches(epoch: 0).joined()), Set(0..<a.count).subtracting(sa.dropped))
        // The same drops the doctor reports.
        let report = Doctor.examine(dataFolder: url)
        XCTAssertEqual(report.check("sampler-drops")?.count, sa.dropped.count)
    }

    func testCollatePadsAndSortsLikeTextAudioCollate() throws {
        let dataset = try CorpusDataset(directory: try folder())
        let byID = Dictionary(uniqueKeysWithValues: dataset.entries.enumerated().map { ($1.utterance, $0) })
        let request = [byID["000002"]!, byID["000003"]!, byID["000001"]!, byID["000004"]!]
        let batch = try dataset.collate(request)
        XCTAssertEqual(batch.size, 4)
        // 000003 (3.0 s) > 000001 (2.0 s) > 000004 (1.5 s) > 000002 (1.2 s)
        XCTAssertEqual(batch.ids, ["spk/000003", "spk/000001", "spk/000004", "spk/000002"])
        XCTAssertEqual(batch.specLengths, batch.specLengths.sorted(by: >))
        XCTAssertEqual(batch.channels, 513)
        XCTAssertEqual(batch.maxFrames, Int(batch.specLengths[0]))
        XCTAssertEqual(batch.maxTokens, Int(batch.tokenLengths.max()!))
        XCTAssertEqual(batch.maxSamples, Int(batch.wavLengths.max()!))
        XCTAssertEqual(batch.tokens.count, batch.tokensShape.reduce(1, *))
        XCTAssertEqual(batch.spec.count, batch.specShape.reduce(1, *))
        XCTAssertEqual(batch.wav.count, batch.wavShape.reduce(1, *))
        XCTAssertEqual(batch.speakerIDs, [0, 0, 0, 0])

        for k in 0..<batch.size {
            let i = batch.indices[k]
            let item = try dataset.item(i)
            XCTAssertEqual(batch.tokenLengths[k], Int32(item.tokens.count))
            XCTAssertEqual(Array(batch.tokens[k * batch.maxTokens ..< k * batch.maxTokens + item.tokens.count]), item.tokens)
            XCTAssertTrue(batch.tokens[k * batch.maxTokens + item.tokens.count ..< (k + 1) * batch.maxTokens].allSatisfy { $0 == 0 })
            XCTAssertEqual(batch.wavLengths[k], Int32(item.wav.count))
            XCTAssertEqual(Array(batch.wav[k * batch.maxSamples ..< k * batch.maxSamples + item.wav.count]), item.wav)
            XCTAssertTrue(batch.wav[k * batch.maxSamples + item.wav.count ..< (k + 1) * batch.maxSamples].allSatisfy { $0 == 0 })
            // the WAV in the batch is the file's k/32768 values
            XCTAssertEqual(item.wav, try AudioFile.read(dataset.folder.file(dataset.entries[i].wav)).samples)
            for c in [0, 100, 512] {
                let row = (k * 513 + c) * batch.maxFrames
                XCTAssertEqual(Array(batch.spec[row ..< row + item.frames]), Array(item.spec[c * item.frames ..< (c + 1) * item.frames]))
                XCTAssertTrue(batch.spec[row + item.frames ..< row + batch.maxFrames].allSatisfy { $0 == 0 })
            }
        }
        XCTAssertThrowsError(try dataset.collate([]))
        XCTAssertThrowsError(try dataset.collate([dataset.count]))
    }

    func testBlankInterspersingAndSplits() throws {
        let url = try folder()
        let plain = try CorpusDataset(directory: url), blank = try CorpusDataset(directory: url, addBlank: true)
        let t = plain.tokens(at: 1), b = blank.tokens(at: 1)
        XCTAssertEqual(b.count, 2 * t.count + 1)
        XCTAssertEqual(stride(from: 1, to: b.count, by: 2).map { b[$0] }, t)
        XCTAssertTrue(stride(from: 0, to: b.count, by: 2).allSatisfy { b[$0] == 0 })
        XCTAssertEqual(try CorpusDataset(directory: url, split: .validation).count, 0)
        XCTAssertEqual(try CorpusDataset(directory: url, split: nil).count, 10)
        XCTAssertThrowsError(try CorpusDataset(directory: url.appendingPathComponent("missing")))
    }
}
