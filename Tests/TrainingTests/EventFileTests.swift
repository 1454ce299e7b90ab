import XCTest
import Training

final class EventFileTests: XCTestCase {
    func testCRC32CCheckValue() {
        // The standard CRC-32C check value (RFC 3720 appendix, "123456789").
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }

    func testScalarsAudioImagesRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try EventFileWriter(directory: dir)
        try writer.start(atStep: 7)
        for step in 0..<5 { try writer.scalar("loss/mel", Float(step) * 0.5, step: step) }
        let clip = (0..<2205).map { Float(sin(Double($0) * 0.1)) * 0.5 }
        try writer.audio("gen/0", samples: clip, sampleRate: 22050, step: 4)
        let img = SpectrogramImage.png(values: (0..<(4 * 6)).map(Float.init), rows: 4, cols: 6)
        try writer.image("mel/0", png: img.png, width: img.width, height: img.height, channels: 3, step: 4)
        try writer.flush()

        let events = try EventFileReader.read(writer.url)
        XCTAssertEqual(events.count, 9)
        XCTAssertEqual(events[0].payloads, [.fileVersion("brain.Event:2")])
        XCTAssertEqual(events[1].payloads, [.sessionStart])
        XCTAssertEqual(events[1].step, 7)
        for step in 0..<5 {
            XCTAssertEqual(events[2 + step].step, Int64(step))
            XCTAssertEqual(events[2 + step].payloads, [.scalar(tag: "loss/mel", value: Float(step) * 0.5)])
        }
        guard case .audio(let tag, let rate, let frames, let wav) = events[7].payloads.first else {
            return XCTFail("expected an audio event, got \(events[7].payloads)")
        }
        XCTAssertEqual(tag, "gen/0"); XCTAssertEqual(rate, 22050); XCTAssertEqual(frames, 2205)
        XCTAssertEqual(wav.count, 44 + 2 * 2205)
        XCTAssertEqual(Array(wav[0..<4]), Array("RIFF".utf8))
        guard case .image(let itag, let w, let h, let png) = events[8].payloads.first else {
            return XCTFail("expected an image event")
        }
        XCTAssertEqual(itag, "mel/0"); XCTAssertEqual(w, 6); XCTAssertEqual(h, 4)
        XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    func testCorruptedRecordIsDetected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try EventFileWriter(directory: dir)
        try writer.scalar("a", 1, step: 1)
        try writer.flush()
        var bytes = try Data(contentsOf: writer.url)
        bytes[bytes.count - 6] ^= 0x40   // flip a bit inside the last record's payload
        try bytes.write(to: writer.url)
        XCTAssertThrowsError(try EventFileReader.read(writer.url))
    }
}
