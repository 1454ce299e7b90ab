import XCTest
import Formats
import Foundation
import Training

/// A toy task in plain Swift (no engine): noisy SGD on y = 3x − 1 over 7 points, batches of 2 in an
/// order shuffled from (seed, epoch), gradient noise from a 64-bit LCG whose state is checkpointed.
/// Any state the trainer fails to restore (step, epoch, sampler position, task RNG) changes the weights.
final class ToyRegressionTask: TrainingTask {
    var w: Double = 0, b: Double = 0
    var rng: UInt64 = 0x1234_5678
    var lr: Double = 0.05
    let xs: [Double] = [-1.5, -1, -0.5, 0, 0.5, 1, 1.5]
    var nonFiniteAtSteps: Set<Int> = []
    var interruptAtStep: Int?
    var stepsRun = 0

    var batchesPerEpoch: Int { 4 }   // ceil(7 / 2)
    var learningRate: Double { lr }
    var primaryValidationMetric: String { "mse" }

    private func order(epoch: Int) -> [Int] {
        var s = UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15 &+ 17
        var idx = Array(0..<xs.count)
        for i in stride(from: idx.count - 1, to: 0, by: -1) {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            idx.swapAt(i, Int(s >> 33) % (i + 1))
        }
        return idx
    }

    func trainStep(epoch: Int, batchIndex: Int, step: Int) throws -> StepOutcome {
        stepsRun += 1
        if step == interruptAtStep { raise(SIGINT) }
        let batch = order(epoch: epoch).dropFirst(batchIndex * 2).prefix(2)
        var gw = 0.0, gb = 0.0, loss = 0.0
        for i in batch {
            let x = xs[i], err = w * x + b - (3 * x - 1)
            gw += 2 * err * x; gb += 2 * err; loss += err * err
        }
        rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let noise = Double(Int64(bitPattern: rng) >> 40) * 1e-9
        if nonFiniteAtSteps.contains(step) { return StepOutcome(losses: ["loss/mse": .nan], applied: false) }
        w -= lr * (gw + noise); b -= lr * gb
        return StepOutcome(losses: ["loss/mse": loss / Double(batch.count)])
    }

    func epochDidEnd(_ epoch: Int) { lr *= 0.99 }

    func validate(step: Int) throws -> [String: Double] {
        ["mse": xs.map { pow(w * $0 + b - (3 * $0 - 1), 2) }.reduce(0, +) / Double(xs.count)]
    }

    func renderSamples(step: Int) throws -> [SampleClip] {
        [SampleClip(name: "probe", samples: (0..<100).map { Float(sin(Double($0) * w)) * 0.1 }, sampleRate: 8000)]
    }

    func saveCheckpoint(into folder: URL) throws -> Data {
        let words = [w.bitPattern, b.bitPattern, lr.bitPattern]
        try words.withUnsafeBytes { try Data($0).write(to: folder.appendingPathComponent("weights.bin")) }
        return try JSONEncoder().encode(["rng": rng])
    }

    func loadCheckpoint(from folder: URL, state: Data) throws {
        let data = try Data(contentsOf: folder.appendingPathComponent("weights.bin"))
        let words = data.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
        w = Double(bitPattern: words[0]); b = Double(bitPattern: words[1]); lr = Double(bitPattern: words[2])
        rng = try JSONDecoder().decode([String: UInt64].self, from: state)["rng"]!
    }
}

final class TrainerTests: XCTestCase {
    private var base: URL!
    override func setUp() { base = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)") }
    override func tearDown() { try? FileManager.default.removeItem(at: base); StopSignal.reset() }

    private let config = Data(#"{"train": {"learning_rate": 0.05, "max_steps": 30}, "model": {"kind": "toy"}}"#.utf8)

    private func trainer(_ name: String, task: ToyRegressionTask, maxSteps: Int) throws -> Trainer {
        let run = try RunDirectory.open(base.appendingPathComponent(name), config: config, allowConfigChange: false, warn: { _ in })
        let settings = TrainerSettings(maxSteps: maxSteps, logInterval: 5, evalInterval: 10, sampleInterval: 10,
                                       checkpointInterval: 10, keepLast: 2, maxConsecutiveNonFinite: 3)
        return try Trainer(run: run, settings: settings, task: task, console: ConsoleReporter(mode: .quiet))
    }

    func testResumedRunIsBitIdenticalToUninterruptedRun() throws {
        let straight = ToyRegressionTask()
        XCTAssertEqual(try trainer("straight", task: straight, maxSteps: 30).run(), .finished(step: 30))

        let first = ToyRegressionTask()
        XCTAssertEqual(try trainer("resumed", task: first, maxSteps: 13).run(), .finished(step: 13))
        let second = ToyRegressionTask()   // a fresh process: nothing survives but the run folder
        let t2 = try trainer("resumed", task: second, maxSteps: 30)
        XCTAssertEqual(t2.state.step, 13)
        XCTAssertEqual(t2.state.epoch, 3)
        XCTAssertEqual(t2.state.batchIndex, 1)
        XCTAssertEqual(try t2.run(), .finished(step: 30))
        XCTAssertEqual(second.stepsRun, 17)

        XCTAssertEqual(straight.w.bitPattern, second.w.bitPattern)
        XCTAssertEqual(straight.b.bitPattern, second.b.bitPattern)
        XCTAssertEqual(straight.lr.bitPattern, second.lr.bitPattern)
        XCTAssertEqual(straight.rng, second.rng)

        // Logs read as one run: the same logged steps in the same order.
        func steps(_ run: String) throws -> [Int] {
            try MetricsLog.read(base.appendingPathComponent("\(run)/logs/metrics.jsonl"))
                .filter { $0["kind"]?.stringValue == "train" }.compactMap { $0["step"]?.intValue }
        }
        // (the interrupted leg also logged its final step 13; every other point coincides, in order, once)
        XCTAssertEqual(try steps("resumed").filter { $0 != 13 }, try steps("straight"))
        XCTAssertEqual(try steps("resumed"), try steps("resumed").sorted())
        XCTAssertEqual(try steps("straight"), [5, 10, 15, 20, 25, 30])
        // Samples were rendered at their cadence.
        XCTAssertTrue(FileManager.default.fileExists(atPath: base.appendingPathComponent("resumed/samples/step-00000020/probe.wav").path))
        // Retention: the last 2 plus the best.
        let kept = try FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent("straight/checkpoints").path).sorted()
        XCTAssertTrue(kept.contains("step-00000030") && kept.contains("step-00000020"))
    }

    func testSignalSavesAndResumeContinuesExactly() throws {
        StopSignal.install()
        let straight = ToyRegressionTask()
        try trainer("straight", task: straight, maxSteps: 30).run()

        let interrupted = ToyRegressionTask()
        interrupted.interruptAtStep = 16           // SIGINT arrives during step 17
        let exit = try trainer("sig", task: interrupted, maxSteps: 30).run()
        XCTAssertEqual(exit, .interrupted(step: 17, signal: "SIGINT"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: base.appendingPathComponent("sig/checkpoints/step-00000017/state.json").path))
        StopSignal.reset()

        let resumed = ToyRegressionTask()
        XCTAssertEqual(try trainer("sig", task: resumed, maxSteps: 30).run(), .finished(step: 30))
        XCTAssertEqual(straight.w.bitPattern, resumed.w.bitPattern)
        XCTAssertEqual(straight.rng, resumed.rng)
    }

    func testNonFiniteStepsAreSkippedCountedAndStopTheRunWhenRepeated() throws {
        let task = ToyRegressionTask()
        task.nonFiniteAtSteps = [4, 9]
        let t = try trainer("nf", task: task, maxSteps: 12)
        try t.run()
        XCTAssertEqual(t.state.skippedSteps, 2)

        let bad = ToyRegressionTask()
        bad.nonFiniteAtSteps = [5, 6, 7, 8]
        XCTAssertThrowsError(try trainer("nf2", task: bad, maxSteps: 12).run()) { error in
            XCTAssertTrue("\(error)".contains("3 consecutive steps"), "\(error)")
        }
    }

    func testChangedConfigIsRefusedWithKeyNames() throws {
        _ = try trainer("cfg", task: ToyRegressionTask(), maxSteps: 5)
        let changed = Data(#"{"train": {"learning_rate": 0.1, "max_steps": 30}, "model": {"kind": "toy"}}"#.utf8)
        XCTAssertThrowsError(try RunDirectory.open(base.appendingPathComponent("cfg"), config: changed, allowConfigChange: false, warn: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("train.learning_rate"), "\(error)")
        }
        XCTAssertNoThrow(try RunDirectory.open(base.appendingPathComponent("cfg"), config: changed, allowConfigChange: true, warn: { _ in }))
    }
}
