import Audio
import Foundation
import Mandarin
import VITS
import Voice
import XCTest

extension VoiceTests {
    /// The Mandarin frontend with the chunker the CLI uses, at a chosen chunk length.
    static func chunkingFrontend(maxLength: Int) throws -> TextFrontend {
        var f = try mandarinFrontend()
        f.split = TextChunker(maxLength: maxLength, lexicon: try MandarinFrontend.bundled().lexicon).chunks
        return f
    }

    /// Streaming hands out exactly the samples the one-shot call returns, chunk by chunk in order,
    /// with the silence between chunks; a long sentence is spoken in chunker-sized pieces.
    func testStreamedChunksEqualTheWholeSynthesis() throws {
        let run = try makeRun(steps: [4])
        let voice = try VoiceLoader.load(run.root)
        let synth = try VoiceSynthesizer(voice: voice, frontend: Self.chunkingFrontend(maxLength: 10))
        let text = "春天来了，花都开了，鸟也叫了，我们一起去公园散步吧。明天见！"
        let options = SynthesisOptions(seed: 9, sentenceSilence: 0.1)
        let whole = try synth.synthesize(text, options: options)
        // The 11-character third clause is cut between words (吧。 stays together, rule 3).
        XCTAssertEqual(whole.sentences, ["春天来了，花都开了，", "鸟也叫了，", "我们一起去公园散步", "吧。", "明天见！"])
        var streamed: [Float] = [], indices: [Int] = [], silences: [Int] = []
        let spoken = try synth.synthesize(text, options: options) { chunk in
            indices.append(chunk.index)
            XCTAssertEqual(chunk.count, 5)
            silences.append(chunk.silenceBefore)
            streamed.append(contentsOf: repeatElement(0, count: chunk.silenceBefore))
            streamed.append(contentsOf: chunk.samples)
        }
        XCTAssertEqual(spoken, whole.sentences)
        XCTAssertEqual(indices, [0, 1, 2, 3, 4])
        XCTAssertEqual(silences, [0, 2205, 2205, 2205, 2205])
        XCTAssertEqual(streamed, whole.samples)
    }

    /// 3,000 characters without punctuation, through the real binary under `ulimit -v`: the text is
    /// spoken in 100-character chunks and the WAV written as they come, so virtual memory stays
    /// under the limit; with chunks ten times longer the same run exceeds it (the limit bites).
    func testLongTextSynthesizesInBoundedMemory() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vits")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            return XCTFail("the vits binary should sit next to the test bundle: \(binary.path)")
        }
        let run = try makeRun(config: "tiny-dp", steps: [3])
        let textFile = scratch.appendingPathComponent("long.txt")
        try String(repeating: "你好", count: 1500).write(to: textFile, atomically: true, encoding: .utf8)
        func synthesize(maxChunk: Int, output: String) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            // Two workers, one BLAS thread and two malloc arenas: the address space (thread stacks,
            // arenas) is then the same on any machine. Length scale 0.1 keeps it quick (every
            // model token still gets at least one frame).
            p.environment = ProcessInfo.processInfo.environment.merging(
                ["VITS_THREADS": "2", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"]) { $1 }
            p.arguments = ["-c", "ulimit -v \(Self.longTextVirtualMemoryKiB) && exec \"$0\" \"$@\"", binary.path,
                           "synthesize", "--voice", run.root.path, "--text-file", textFile.path, "--max-chunk", "\(maxChunk)",
                           "--length-scale", "0.1", "-o", scratch.appendingPathComponent(output).path]
            let errors = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = errors
            try p.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, message)
        }
        let bounded = try synthesize(maxChunk: 100, output: "long.wav")
        XCTAssertEqual(bounded.status, 0, bounded.stderr)
        let stats = try AudioStats.measure(scratch.appendingPathComponent("long.wav"))
        XCTAssertEqual(stats.sampleRate, 22050)
        XCTAssertEqual(stats.nonFinite, 0)
        // 30 chunks of 50 words (sil + 100 syllables × 2 tokens + sil, with blanks 405 model
        // tokens): at least one frame of 256 samples per model token.
        XCTAssertGreaterThanOrEqual(stats.frames, 30 * 405 * 256)
        let unbounded = try synthesize(maxChunk: 1000, output: "long-1000.wav")
        XCTAssertNotEqual(unbounded.status, 0, "1,000-character chunks should not fit in \(Self.longTextVirtualMemoryKiB) KiB; the test's limit no longer tells bounded from unbounded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("long-1000.wav").path))
    }

    /// The address-space limit of the long-text test, KiB. Measured peaks (VmPeak) of this command
    /// on a 1-step tiny-dp run: 0.53 GB with 100-character chunks, 1.45 GB with 1,000.
    static let longTextVirtualMemoryKiB = 1_000_000
}
