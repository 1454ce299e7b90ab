import Audio
import Foundation
import XCTest

/// `AudioStats` against signals whose figures are known analytically, and `AudioStreamWriter`
/// against `AudioFile.write` (the same bytes) and its all-or-nothing promise.
final class AudioStatsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("audio-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A sine of amplitude A over whole periods: RMS = A/√2, peak = A, mean 0.
    func sine(amplitude: Float, periods: Int = 50, samplesPerPeriod: Int = 64) -> [Float] {
        (0..<(periods * samplesPerPeriod)).map { amplitude * Float(sin(2 * Double.pi * Double($0) / Double(samplesPerPeriod))) }
    }

    func testSineHasAnalyticRMSAndPeak() {
        let s = AudioStats(samples: sine(amplitude: 0.5), sampleRate: 16000)
        XCTAssertEqual(s.rms, 0.5 / 2.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(s.acRMS, 0.5 / 2.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(AudioStats.dBFS(s.rms), 20 * log10(0.5) - 10 * log10(2.0), accuracy: 1e-5)   // −9.03 dBFS
        XCTAssertEqual(Double(s.peak), 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.mean, 0, accuracy: 1e-7)
        XCTAssertEqual(s.duration, 3200.0 / 16000, accuracy: 1e-12)
        XCTAssertEqual(s.nonFinite, 0)
        XCTAssertFalse(s.isConstant)
        XCTAssertNil(s.soundProblem(minimumRMSdB: -60))
        // A full-scale sine is −3.01 dBFS.
        XCTAssertEqual(AudioStats.dBFS(AudioStats(samples: sine(amplitude: 1), sampleRate: 16000).rms), -3.0103, accuracy: 1e-4)
    }

    func testConstantSignalsAreNotSound() throws {
        let dc = AudioStats(samples: [Float](repeating: 0.25, count: 1000), sampleRate: 8000)
        XCTAssertTrue(dc.isConstant)
        XCTAssertEqual(dc.rms, 0.25, accuracy: 1e-9)     // loud by RMS …
        XCTAssertEqual(dc.acRMS, 0, accuracy: 1e-9)      // … but nothing once the DC is removed
        XCTAssertTrue(try XCTUnwrap(dc.soundProblem(minimumRMSdB: -60)).contains("constant"))
        let zeros = AudioStats(samples: [Float](repeating: 0, count: 1000), sampleRate: 8000)
        XCTAssertTrue(zeros.isConstant)
        XCTAssertEqual(AudioStats.dBFS(zeros.rms), -.infinity)
        XCTAssertNotNil(zeros.soundProblem(minimumRMSdB: -60))
        XCTAssertEqual(AudioStats(samples: [], sampleRate: 8000).soundProblem(minimumRMSdB: -60), "it has no samples")
    }

    func testNonFiniteSamplesAreCountedAndLeftOut() throws {
        let s = AudioStats(samples: [0.1, .nan, .infinity, -0.1, -.infinity], sampleRate: 8000)
        XCTAssertEqual(s.nonFinite, 3)
        XCTAssertEqual(s.samples, 5)
        XCTAssertEqual(s.rms, 0.1, accuracy: 1e-7)
        XCTAssertEqual(Double(s.peak), 0.1, accuracy: 1e-7)
        XCTAssertTrue(try XCTUnwrap(s.soundProblem(minimumRMSdB: -60)).contains("3 of its 5 samples are NaN or infinite"))
    }

    func testQuietSignalFallsBelowTheFloor() throws {
        // ±1e-4 alternating: RMS = 1e-4 = −80 dBFS.
        let quiet = AudioStats(samples: (0..<1000).map { $0 % 2 == 0 ? 1e-4 : -1e-4 }, sampleRate: 8000)
        XCTAssertEqual(AudioStats.dBFS(quiet.acRMS), -80, accuracy: 1e-3)
        XCTAssertTrue(try XCTUnwrap(quiet.soundProblem(minimumRMSdB: -60)).contains("-80.0 dBFS"))
        XCTAssertNil(quiet.soundProblem(minimumRMSdB: -90))
    }

    func testBlocksAccumulateToTheWhole() {
        let x = sine(amplitude: 0.3) + [Float](repeating: 0.2, count: 100)
        let whole = AudioStats(samples: x, sampleRate: 22050)
        var parts = AudioStats(sampleRate: 22050)
        x.withUnsafeBufferPointer { b in
            parts.add(UnsafeBufferPointer(rebasing: b[0..<1000]))
            parts.add(UnsafeBufferPointer(rebasing: b[1000..<1000]))
            parts.add(UnsafeBufferPointer(rebasing: b[1000...]))
        }
        XCTAssertEqual(parts.samples, whole.samples)
        XCTAssertEqual(parts.minimum, whole.minimum)
        XCTAssertEqual(parts.maximum, whole.maximum)
        XCTAssertEqual(parts.rms, whole.rms, accuracy: 1e-12)
        XCTAssertEqual(parts.mean, whole.mean, accuracy: 1e-12)
    }

    func testMeasuresFilesIncludingNaNInFloatWAVs() throws {
        // PCM16: the file's figures are the in-memory ones within one quantisation step.
        let x = sine(amplitude: 0.5)
        let pcm = directory.appendingPathComponent("sine.wav")
        try AudioFile.write(x, sampleRate: 16000, to: pcm)
        let file = try AudioStats.measure(pcm)
        let memory = AudioStats(samples: x, sampleRate: 16000)
        XCTAssertEqual(file.samples, x.count)
        XCTAssertEqual(file.sampleRate, 16000)
        XCTAssertEqual(file.rms, memory.rms, accuracy: 1.0 / 32768)
        XCTAssertEqual(file.peak, memory.peak, accuracy: 1.0 / 32768)

        // A float WAV written by hand with a NaN and an infinity in it (AudioFile.write refuses them).
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let samples: [Float] = [0.5, .nan, -0.5, .infinity, 0.25, 0.25]
        var bytes: [UInt8] = Array("RIFF".utf8) + le32(UInt32(36 + 4 * samples.count)) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(3) + le16(1) + le32(8000) + le32(32000) + le16(4) + le16(32)
        bytes += Array("data".utf8) + le32(UInt32(4 * samples.count))
        for s in samples { bytes += le32(s.bitPattern) }
        let float = directory.appendingPathComponent("nan.wav")
        try Data(bytes).write(to: float)
        let stats = try AudioStats.measure(float)
        XCTAssertEqual(stats.samples, 6)
        XCTAssertEqual(stats.nonFinite, 2)
        XCTAssertEqual(stats.maximum, 0.5)
        XCTAssertEqual(stats.minimum, -0.5)
        XCTAssertThrowsError(try AudioStats.measure(directory.appendingPathComponent("missing.wav")))
    }

    func testStreamWriterWritesTheSameBytesAsAudioFileWrite() throws {
        let x = sine(amplitude: 0.7, periods: 20) + [0.9999, -1.2, 1.5]   // clipping included
        let whole = directory.appendingPathComponent("whole.wav")
        try AudioFile.write(x + [Float](repeating: 0, count: 777) + x, sampleRate: 22050, to: whole)
        let streamed = directory.appendingPathComponent("streamed.wav")
        let writer = try AudioStreamWriter(url: streamed, sampleRate: 22050)
        try writer.append(Array(x[0..<100]))
        try writer.append(Array(x[100...]))
        try writer.appendSilence(777)
        try writer.append(x)
        XCTAssertFalse(FileManager.default.fileExists(atPath: streamed.path), "nothing appears before finish()")
        try writer.finish()
        XCTAssertEqual(writer.frames, 2 * x.count + 777)
        XCTAssertEqual(try Data(contentsOf: streamed), try Data(contentsOf: whole))
    }

    func testStreamWriterLeavesNothingBehindOnFailure() throws {
        let url = directory.appendingPathComponent("broken.wav")
        do {
            let writer = try AudioStreamWriter(url: url, sampleRate: 22050)
            try writer.append([0.1, 0.2])
            XCTAssertThrowsError(try writer.append([0.1, .nan])) { XCTAssertEqual($0 as? AudioError, .nonFiniteSamples(path: url.path)) }
            XCTAssertThrowsError(try writer.finish())
        }
        do {   // dropped unfinished
            let writer = try AudioStreamWriter(url: url, sampleRate: 22050)
            try writer.append([0.1, 0.2])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "no file, no temporary file")
    }
}
