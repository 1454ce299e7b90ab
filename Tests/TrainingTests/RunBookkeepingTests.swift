import XCTest
import Training

final class RunBookkeepingTests: XCTestCase {
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
        XCTAssertEqual(lines.compactMap { ($0["step"] as? NSNumber)?.intValue }, [10, 20, 30])
        XCTAssertEqual((lines[2]["loss"] as? NSNumber)?.doubleValue, 31)
    }

    func testDurationFormatting() {
        XCTAssertEqual(ConsoleReporter.duration(12), "12s")
        XCTAssertEqual(ConsoleReporter.duration(247), "4m07s")
        XCTAssertEqual(ConsoleReporter.duration(7500), "2h05m")
        XCTAssertEqual(ConsoleReporter.duration(3 * 86_400 + 4 * 3600 + 5), "3d04h")
        XCTAssertEqual(ConsoleReporter.duration(.infinity), "--")
    }
}
