import XCTest
import Formats
import Training

final class RunBookkeepingTests: XCTestCase {
    /// The config hash recorded in every checkpoint must not change when the JSON layer does: runs
    /// written by earlier versions (which hashed Foundation's serialization of each leaf) resume
    /// without a hash warning. Independent truth: the former canonical form, computed here with
    /// Foundation's JSONSerialization, over a config exercising every leaf kind.
    func testConfigHashMatchesTheFoundationCanonicalFormEarlierRunsRecorded() throws {
        func foundationFlatten(_ json: Any, prefix: String = "") -> [String: String] {
            var out: [String: String] = [:]
            if let dict = json as? [String: Any] {
                for (k, v) in dict { for (kk, vv) in foundationFlatten(v, prefix: prefix.isEmpty ? k : prefix + "." + k) { out[kk] = vv } }
            } else {
                out[prefix] = String(decoding: try! JSONSerialization.data(withJSONObject: [json], options: [.sortedKeys]), as: UTF8.self)
            }
            return out
        }
        func fnv(_ flat: [String: String]) -> String {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for key in flat.keys.sorted() where !RunConfig.harmlessKeys.contains(key) {
                for b in (key + "=" + flat[key]! + "\n").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            }
            return String(format: "%016llx", h)
        }
        let config = Data(#"""
        {"train": {"learning_rate": 2e-4, "betas": [0.8, 0.99], "eps": 1e-9, "c_mel": 45.0, "init_lr_ratio": 1,
                   "fp16_run": false, "max_steps": 10, "lr_decay": 0.999875, "segment_size": 8192},
         "data": {"training_files": "data/train.txt", "max_wav_value": 32768.0, "mel_fmax": null, "text_cleaners": ["x/y"],
                  "add_blank": true, "name": "voix \u00e9t\u00e9 汉"},
         "model": {"resblock": "1", "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]], "upsample_rates": [8, 8, 2, 2],
                   "p_dropout": 0.1, "gin_channels": 0, "pitch": {"sine_amplitude": 1.0, "strides": []}, "deep": [{"b": 1.5, "a": -0.0}]}}
        """#.utf8)
        let expected = fnv(foundationFlatten(try JSONSerialization.jsonObject(with: config)))
        XCTAssertEqual(try RunConfig.hash(config), expected)
    }

    func testConfigDifferencesNameKeyPathsAndIgnoreCadence() throws {
        let a = Data(#"{"train": {"learning_rate": 0.0002, "log_interval": 100, "max_steps": 10}, "model": {"hidden_channels": 192, "upsample_rates": [8,8,2,2]}}"#.utf8)
        let b = Data(#"{"train": {"learning_rate": 0.0001, "log_interval": 50, "max_steps": 20}, "model": {"hidden_channels": 192, "upsample_rates": [8,8,4]}}"#.utf8)
        XCTAssertEqual(try RunConfig.differences(a, b), ["model.upsample_rates", "train.learning_rate", "train.log_interval", "train.max_steps"])
        XCTAssertEqual(try RunConfig.significantDifferences(frozen: a, requested: b), ["model.upsample_rates", "train.learning_rate"])
        // Cadence-only change keeps the hash; a real change moves it.
        let c = Data(#"{"train": {"learning_rate": 0.0002, "log_interval": 7, "max_steps": 99}, "model": {"upsample_rates": [8,8,2,2], "hidden_channels": 192}}"#.utf8)
        XCTAssertEqual(try RunConfig.hash(a), try RunConfig.hash(c))
        XCTAssertNotEqual(try RunConfig.hash(a), try RunConfig.hash(b))
    }

    func testMetricsLogDropsStepsAfterResumePoint() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString)/metrics.jsonl")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            let log = try MetricsLog(url: url, resumeFromStep: nil)
            for s in [10, 20, 30] { try log.append(step: s, kind: "train", values: ["loss": Double(s)]) }
        }
        // A torn final line, as a crash mid-write could leave.
        let h = try FileHandle(forWritingTo: url); try h.seekToEnd(); try h.write(contentsOf: Data("{\"step\": 4".utf8)); try h.close()
        do {
            let log = try MetricsLog(url: url, resumeFromStep: 20)
            try log.append(step: 30, kind: "train", values: ["loss": 31])
        }
        let lines = try MetricsLog.read(url)
        XCTAssertEqual(lines.compactMap { $0["step"]?.intValue }, [10, 20, 30])
        XCTAssertEqual(lines[2]["loss"]?.doubleValue, 31)
    }

    func testDurationFormatting() {
        XCTAssertEqual(ConsoleReporter.duration(12), "12s")
        XCTAssertEqual(ConsoleReporter.duration(247), "4m07s")
        XCTAssertEqual(ConsoleReporter.duration(7500), "2h05m")
        XCTAssertEqual(ConsoleReporter.duration(3 * 86_400 + 4 * 3600 + 5), "3d04h")
        XCTAssertEqual(ConsoleReporter.duration(.infinity), "--")
    }
}
