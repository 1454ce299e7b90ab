import XCTest
import Foundation
import Audio

final class AudioTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("AudioTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A canonical 44-byte-header PCM16 WAV written by hand (independent of libsndfile).
    func handWrittenWAV(_ name: String, channels: Int, sampleRate: Int, pcm: [Int16], declaredDataBytes: Int? = nil) throws -> URL {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let dataBytes = pcm.count * 2
        var bytes: [UInt8] = Array("RIFF".utf8) + le32(36 + (declaredDataBytes ?? dataBytes)) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(1) + le16(channels) + le32(sampleRate)
        bytes += le32(sampleRate * channels * 2) + le16(channels * 2) + le16(16)
        bytes += Array("data".utf8) + le32(declaredDataBytes ?? dataBytes)
        for s in pcm { bytes += le16(Int(s)) }
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func expectError(_ body: () throws -> Void, _ check: (AudioError) -> Bool, naming path: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as AudioError {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            if let path { XCTAssertTrue(error.description.contains(path), "message must name the file: \(error)", file: file, line: line) }
        } catch {
            XCTFail("not an AudioError: \(error)", file: file, line: line)
        }
    }

    // MARK: Reading and writing

    func testReadsHandWrittenPCM16AsKOver32768() throws {
        let pcm: [Int16] = [0, 1, -1, 32767, -32768, 12345, -23456, 100]
        let url = try handWrittenWAV("mono.wav", channels: 1, sampleRate: 16000, pcm: pcm)
        let audio = try AudioFile.read(url)
        XCTAssertEqual(audio.sampleRate, 16000)
        XCTAssertEqual(audio.samples, pcm.map { Float($0) / 32768 })
    }

    func testStereoDownmixIsTheMeanOfChannels() throws {
        let left: [Int16] = [1000, -2000, 32767, 0], right: [Int16] = [3000, 2000, 32767, -1]
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        let audio = try AudioFile.read(try handWrittenWAV("stereo.wav", channels: 2, sampleRate: 22050, pcm: interleaved))
        XCTAssertEqual(audio.samples.count, 4)
        for i in 0..<4 {
            XCTAssertEqual(audio.samples[i], (Float(left[i]) / 32768 + Float(right[i]) / 32768) / 2, accuracy: 1e-7)
        }
    }

    func testPCM16WriteReadIsBitExact() throws {
        // Every value k/32768 survives write → read unchanged (deterministic pseudo-random k).
        var state: UInt32 = 12345
        let samples: [Float] = (0..<20000).map { _ in
            state = state &* 1664525 &+ 1013904223
            return Float(Int16(truncatingIfNeeded: state >> 16)) / 32768
        } + [-1, 32767 / 32768]
        let url = directory.appendingPathComponent("pcm16.wav")
        try AudioFile.write(samples, sampleRate: 22050, to: url, format: .pcm16)
        let back = try AudioFile.read(url)
        XCTAssertEqual(back.sampleRate, 22050)
        XCTAssertEqual(back.samples.map(\.bitPattern), samples.map(\.bitPattern))
        // and a second generation writes identical bytes
        let again = directory.appendingPathComponent("pcm16-again.wav")
        try AudioFile.write(back.samples, sampleRate: 22050, to: again, format: .pcm16)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: again))
    }

    func testPCM16WriteRoundsAndClips() throws {
        let url = directory.appendingPathComponent("clip.wav")
        try AudioFile.write([1.5, -1.5, 0.5 / 32768 * 1.2, 1], sampleRate: 8000, to: url)
        XCTAssertEqual(try AudioFile.read(url).samples, [32767 / 32768, -1, 1 / 32768, 32767 / 32768])
    }

    /// The in-memory WAV writer (`PCM16.wavBytes`: corpus cache, TensorBoard audio, samples) and the
    /// libsndfile one (`AudioFile.write`) store the same integers, byte for byte the canonical layout
    /// the hand-written reference above uses, and reading either gives back k / 32768.
    func testEveryPCM16WriterQuantisesAlike() throws {
        var state: UInt32 = 777
        let samples: [Float] = (0..<5000).map { _ in
            state = state &* 1664525 &+ 1013904223
            return Float(Int32(bitPattern: state)) / Float(Int32.max) * 1.1   // some beyond ±1: clipped
        } + [0.5 / 32768, -0.5 / 32768, 1.5 / 32768, 1, -1]
        let pcm = PCM16.quantize(samples)
        // The rule, written out: round half away from zero, clip to the Int16 range.
        for (x, k) in zip(samples, pcm) {
            XCTAssertEqual(Double(k), min(32767, max(-32768, (Double(x) * 32768).rounded(.toNearestOrAwayFromZero))))
        }
        let reference = try Data(contentsOf: handWrittenWAV("reference.wav", channels: 1, sampleRate: 22050, pcm: pcm))
        let inMemory = try XCTUnwrap(PCM16.wavBytes(samples: samples, sampleRate: 22050))
        XCTAssertEqual(inMemory, reference)
        let viaFile = directory.appendingPathComponent("libsndfile.wav")
        try AudioFile.write(samples, sampleRate: 22050, to: viaFile, format: .pcm16)
        XCTAssertEqual(try AudioFile.read(viaFile).samples, pcm.map(PCM16.value))
        let inMemoryURL = directory.appendingPathComponent("memory.wav")
        try inMemory.write(to: inMemoryURL)
        let back = try AudioFile.read(inMemoryURL).samples
        XCTAssertEqual(back, pcm.map(PCM16.value))
        XCTAssertEqual(PCM16.quantize(back), pcm, "re-quantising what was read is the identity")
        XCTAssertEqual(PCM16.quantize([.nan, .infinity, -.infinity]), [0, 0, 0])
    }

    func testFloat32WriteReadIsExact() throws {
        let samples: [Float] = (0..<1000).map { Float(sin(Double($0) * 0.05)) * 0.9 }
        let url = directory.appendingPathComponent("float.wav")
        try AudioFile.write(samples, sampleRate: 44100, to: url, format: .float32)
        let back = try AudioFile.read(url)
        XCTAssertEqual(back.samples, samples)
        XCTAssertEqual(back.sampleRate, 44100)
    }

    func testWriteLeavesNoTemporaryFiles() throws {
        let url = directory.appendingPathComponent("out.wav")
        try AudioFile.write([0.1, 0.2], sampleRate: 22050, to: url)
        try AudioFile.write([0.3], sampleRate: 22050, to: url)  // replaces
        XCTAssertEqual(try AudioFile.read(url).samples.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.wav"])
    }

    // MARK: Resampling

    /// Least-squares amplitude of a sinusoid of `frequency` in `x` (integer number of periods),
    /// and the RMS of what remains after removing it.
    func fitSine(_ x: ArraySlice<Float>, frequency: Double, sampleRate: Int) -> (amplitude: Double, residualRMS: Double) {
        var c = 0.0, s = 0.0
        for (i, v) in x.enumerated() {
            let phase = 2 * Double.pi * frequency * Double(i) / Double(sampleRate)
            c += Double(v) * cos(phase); s += Double(v) * sin(phase)
        }
        c *= 2 / Double(x.count); s *= 2 / Double(x.count)
        var residual = 0.0
        for (i, v) in x.enumerated() {
            let phase = 2 * Double.pi * frequency * Double(i) / Double(sampleRate)
            let r = Double(v) - c * cos(phase) - s * sin(phase)
            residual += r * r
        }
        return ((c * c + s * s).squareRoot(), (residual / Double(x.count)).squareRoot())
    }

    func testResamplingKeepsFrequencyAndLevel() throws {
        for (from, to, frequency) in [(48000, 22050, 1000.0), (16000, 22050, 440.0), (22050, 16000, 3000.0)] {
            let amplitude = 0.5
            let input = (0..<(from * 2)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(from))) }
            let output = try Resampler.resample(input, from: from, to: to)
            XCTAssertEqual(Double(output.count), Double(input.count) * Double(to) / Double(from), accuracy: 1)
            // Middle second, away from the filter's edge transients: a whole number of periods.
            let start = to / 2, length = to
            let fit = fitSine(output[start..<(start + length)], frequency: frequency, sampleRate: to)
            let levelDB = 20 * log10(fit.amplitude / amplitude)
            XCTAssertLessThan(abs(levelDB), 0.1, "\(from)→\(to) Hz: level \(levelDB) dB")
            // Same frequency: the fitted sinusoid explains the signal (a frequency error would leave
            // a large residual over 1 s).
            XCTAssertLessThan(fit.residualRMS, 1e-3 * amplitude, "\(from)→\(to) Hz: residual \(fit.residualRMS)")
        }
    }

    func testReadWithSampleRateResamples() throws {
        let url = directory.appendingPathComponent("44k.wav")
        try AudioFile.write([Float](repeating: 0.25, count: 44100), sampleRate: 44100, to: url, format: .float32)
        let audio = try AudioFile.read(url, sampleRate: 22050)
        XCTAssertEqual(audio.sampleRate, 22050)
        XCTAssertEqual(audio.samples.count, 22050)
        XCTAssertEqual(audio.samples[11025], 0.25, accuracy: 1e-4)
    }

    // MARK: Bad input

    func testMissingFile() {
        let path = directory.appendingPathComponent("absent.wav").path
        expectError({ _ = try AudioFile.read(URL(fileURLWithPath: path)) }, { $0 == .fileNotFound(path: path) }, naming: path)
    }

    func testGarbageIsUnreadable() throws {
        let url = directory.appendingPathComponent("garbage.wav")
        try Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: url)
        expectError({ _ = try AudioFile.read(url) }, { if case .unreadable = $0 { return true }; return false }, naming: url.path)
        expectError({ _ = try AudioFile.read(self.directory) }, { if case .unreadable = $0 { return true }; return false })
    }

    func testTruncatedFiles() throws {
        // data chunk declares 2000 samples, the file holds 1000 (a copy cut short)
        let pcm = [Int16](repeating: 1000, count: 1000)
        let url = try handWrittenWAV("cut.wav", channels: 1, sampleRate: 22050, pcm: pcm, declaredDataBytes: 4000)
        expectError({ _ = try AudioFile.read(url) }, { if case .truncated = $0 { return true }; return false }, naming: url.path)
        // cut inside the header
        let whole = try Data(contentsOf: try handWrittenWAV("whole.wav", channels: 1, sampleRate: 22050, pcm: pcm))
        let headerCut = directory.appendingPathComponent("header-cut.wav")
        try whole.prefix(30).write(to: headerCut)
        expectError({ _ = try AudioFile.read(headerCut) }, { if case .unreadable = $0 { return true }; return false },
                    naming: headerCut.path)
        // a file with a streaming-style "unknown" data length (0xFFFFFFFF) is read, not refused
        let streamed = try handWrittenWAV("streamed.wav", channels: 1, sampleRate: 22050, pcm: pcm, declaredDataBytes: 0xFFFF_FFFF)
        XCTAssertEqual(try AudioFile.read(streamed).samples.count, 1000)
    }

    func testZeroLengthAudio() throws {
        let url = try handWrittenWAV("empty.wav", channels: 1, sampleRate: 22050, pcm: [])
        expectError({ _ = try AudioFile.read(url) }, { $0 == .empty(path: url.path) }, naming: url.path)
    }

    func testAbsurdSampleRates() throws {
        for rate in [5, 10_000_000] {
            let url = try handWrittenWAV("rate\(rate).wav", channels: 1, sampleRate: rate, pcm: [1, 2, 3])
            expectError({ _ = try AudioFile.read(url) }, {
                $0 == .unsupportedSampleRate(path: url.path, rate: rate)
            }, naming: url.path)
        }
        expectError({ _ = try Resampler.resample([1, 2], from: 22050, to: 0) }, { $0 == .unsupportedSampleRate(path: "", rate: 0) })
        expectError({ _ = try Resampler.resample([1, 2], from: -1, to: 22050) }, { $0 == .unsupportedSampleRate(path: "", rate: -1) })
        let out = directory.appendingPathComponent("x.wav")
        expectError({ try AudioFile.write([0], sampleRate: 3_000_000, to: out) }, {
            $0 == .unsupportedSampleRate(path: out.path, rate: 3_000_000)
        }, naming: out.path)
    }

    func testUnwritablePathAndNonFiniteSamples() throws {
        let out = directory.appendingPathComponent("no/such/dir/out.wav")
        expectError({ try AudioFile.write([0.1], sampleRate: 22050, to: out) }, {
            if case .cannotWrite = $0 { return true }; return false
        }, naming: out.path)
        let nan = directory.appendingPathComponent("nan.wav")
        expectError({ try AudioFile.write([0.1, .nan], sampleRate: 22050, to: nan) }, { $0 == .nonFiniteSamples(path: nan.path) })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }
}
