import XCTest
import Foundation
import Corpus
import Engine
import Training
import VITS

/// Data-parallel training (docs/training.md, "Several machines"): the real binary under Open MPI's
/// `mpirun -np 2 --oversubscribe` on the miniature corpus of `VITSTrainingTests`, against the same
/// binary as one process. Needs `mpirun` and libmpi.so.40: `make test` installs them (`make bootstrap-mpi`).
extension VITSTrainingTests {
    // MARK: sharding (no MPI)

    /// Part r of 2 of a batch is rows 2r, 2r+1 of the whole batch's collation — same order, same
    /// padded lengths, same values — and the shard's random draws are those rows of the whole draws.
    func testBatchShardsAreRowsOfTheWholeBatchWithTheirNoise() throws {
        let set = try CorpusDataset(directory: Self.data, split: .train)
        let global = [3, 0, 7, 5]
        let whole = try set.collate(global)
        for part in 0..<2 {
            let (shard, rows) = try set.collate(global, part: part, of: 2)
            XCTAssertEqual(rows, 2 * part..<2 * part + 2)
            XCTAssertEqual(shard.indices, Array(whole.indices[rows]))
            XCTAssertEqual([shard.maxTokens, shard.maxFrames, shard.maxSamples], [whole.maxTokens, whole.maxFrames, whole.maxSamples])
            XCTAssertEqual(shard.tokens, Array(whole.tokens[rows.lowerBound * whole.maxTokens..<rows.upperBound * whole.maxTokens]))
            let specRow = whole.channels * whole.maxFrames
            XCTAssertEqual(shard.spec, Array(whole.spec[rows.lowerBound * specRow..<rows.upperBound * specRow]))
            XCTAssertEqual(shard.wav, Array(whole.wav[rows.lowerBound * whole.maxSamples..<rows.upperBound * whole.maxSamples]))
            XCTAssertEqual(shard.specLengths, Array(whole.specLengths[rows]))
            XCTAssertEqual(shard.tokenLengths, Array(whole.tokenLengths[rows]))

            // Noise and dropout masks: the shard's draws are its rows of the whole batch's draws.
            let single = RandomGenerator(seed: 9), replica = RandomGenerator(seed: 9)
            let a = single.randn([4, 3, whole.maxFrames]), u = single.rand([4]), m = single.rand([8, 5, 5])
            let (b, v, n) = replica.withShard(globalBatch: 4, rows: rows) {
                (replica.randn([2, 3, whole.maxFrames]), replica.rand([2]), replica.rand([4, 5, 5]))   // [B·heads, T, T] masks
            }
            XCTAssertEqual(b.scalars, Array(a.scalars[rows.lowerBound * 3 * whole.maxFrames..<rows.upperBound * 3 * whole.maxFrames]))
            XCTAssertEqual(v.scalars, Array(u.scalars[rows]))
            XCTAssertEqual(n.scalars, Array(m.scalars[2 * rows.lowerBound * 25..<2 * rows.upperBound * 25]))
            XCTAssertEqual(single.state, replica.state)
            XCTAssertNil(replica.shard)
        }
        XCTAssertThrowsError(try set.collate([1, 2, 3], part: 0, of: 2))
    }

    // MARK: the real binary under mpirun

    private struct Job {
        let process: Process
        let output: URL
        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    }

    private static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vits")
    }

    private static var mpirun: String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/mpirun"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A config of `VITSTrainingTests.config` with this batch size and a checkpoint every step.
    private func writeConfig(_ name: String, batch: Int, maxSteps: Int) throws -> URL {
        var raw = try JSONSerialization.jsonObject(with: Self.config(maxSteps: maxSteps)) as! [String: Any]
        var train = raw["train"] as! [String: Any]
        train["batch_size"] = batch
        train["checkpoint_interval"] = 1
        train["eval_interval"] = 1000
        raw["train"] = train
        let url = Self.base.appendingPathComponent("\(name).json")
        try JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys]).write(to: url)
        return url
    }

    /// Starts `vits train` (under `mpirun -np ranks` when ranks > 0), one thread per rank; `tag`
    /// marks the ranks' environment so the test can find their processes.
    private func launch(ranks: Int, config: URL, run: URL, tag: String, extra: [String] = []) throws -> Job {
        let p = Process()
        let trainArgs = ["train", "--config", config.path, "--data", Self.data.path, "--run", run.path] + extra
        if ranks > 0 {
            guard let mpirun = Self.mpirun else { throw TrainingError.io("mpirun is not on PATH") }
            p.executableURL = URL(fileURLWithPath: mpirun)
            p.arguments = ["-np", "\(ranks)", "--oversubscribe", Self.binary.path] + trainArgs
        } else {
            p.executableURL = Self.binary
            p.arguments = trainArgs
        }
        p.environment = ProcessInfo.processInfo.environment.merging(
            ["VITS_THREADS": "1", "VITS_TEST_JOB": tag, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
             "OMPI_MCA_btl": "self,tcp", "OMPI_MCA_btl_tcp_if_include": "lo", "OMPI_MCA_oob_tcp_if_include": "lo"]) { $1 }
        let output = Self.base.appendingPathComponent("\(tag)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return Job(process: p, output: output)
    }

    private func finish(_ job: Job) -> Int32 { job.process.waitUntilExit(); return job.process.terminationStatus }

    private func checkMPI() throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            XCTFail("the vits binary should sit next to the test bundle: \(Self.binary.path)"); return false
        }
        guard Self.mpirun != nil else {
            XCTFail("mpirun is not installed: run `make bootstrap-mpi` (Debian openmpi-bin, libopenmpi3), as `make test` does"); return false
        }
        return true
    }

    /// The pid of rank `rank` of the job tagged `tag` (from /proc: the ranks inherit the tag).
    private func rankPID(_ rank: Int, tag: String) -> pid_t? {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let env = fm.contents(atPath: "/proc/\(name)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("VITS_TEST_JOB=\(tag)"), vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    private func waitForCheckpoint(_ run: URL, after step: Int) -> Int? {
        guard let store = try? CheckpointStore(root: run.appendingPathComponent("checkpoints")) else { return nil }
        for _ in 0..<1800 {
            if let s = store.steps().last, s > step { return s }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }

    private func weights(_ run: URL, step: Int) throws -> [String: [Float]] {
        let folder = run.appendingPathComponent("checkpoints/" + CheckpointStore.folderName(step: step))
        var out: [String: [Float]] = [:]
        for (k, v) in try TensorFile.load(folder.appendingPathComponent(RunLayout.generatorFile)) { out["g." + k] = v.scalars }
        for (k, v) in try TensorFile.load(folder.appendingPathComponent(RunLayout.discriminatorFile)) { out["d." + k] = v.scalars }
        return out
    }

    /// The largest |a − b| over the tensors whose key passes `include`.
    private func maxDifference(_ a: [String: [Float]], _ b: [String: [Float]], where include: (String) -> Bool = { _ in true }) -> Float {
        var worst: Float = 0
        for (k, x) in a where include(k) {
            guard let y = b[k] else { return .infinity }
            for (p, q) in zip(x, y) { worst = max(worst, abs(p - q)) }
        }
        return a.count == b.count ? worst : .infinity
    }

    /// Attention key biases: adding b_k to every key adds q·b_k to all scores of a query, which the
    /// softmax cancels, so their true gradient is 0 and what backprop returns is rounding noise.
    /// AdamW divides it by its own magnitude, so these biases take ±lr steps in a
    /// direction set by rounding — in any two runs that sum in a different order. They can only be
    /// bounded by how far AdamW can move two runs apart: twice Σ_t lr·max|m̂_t/√v̂_t| (`adamStepBound`).
    private static func gradientIsRoundingNoise(_ key: String) -> Bool { key.contains(".attn_layers.") && key.hasSuffix(".conv_k.bias") }

    /// The largest |m̂_t/√v̂_t| of AdamW at step t over all gradient sequences (Cauchy–Schwarz on
    /// m̂ = (1−β₁)Σβ₁^{t−i}g_i/(1−β₁^t) against v̂ = (1−β₂)Σβ₂^{t−i}g_i²/(1−β₂^t)):
    /// (1−β₁)/(1−β₁^t) · √((1−β₂^t)/(1−β₂)) · √(Σ_{j<t} (β₁²/β₂)^j). 1 at t = 1; ≈ 1.006, 1.015 at t = 2, 3 for β (0.8, 0.99).
    static func adamStepBound(step t: Int, beta1: Double = 0.8, beta2: Double = 0.99) -> Double {
        let ratio = (0..<t).reduce(0.0) { $0 + pow(beta1 * beta1 / beta2, Double($1)) }
        return (1 - beta1) / (1 - pow(beta1, Double(t))) * ((1 - pow(beta2, Double(t))) / (1 - beta2)).squareRoot() * ratio.squareRoot()
    }

    /// 2 ranks × batch 1 end with the weights of 1 process × batch 2 after 3 steps, within lr/20
    /// (except the attention key biases, whose gradient is rounding noise: within 2·lr·Σ_t adamStepBound(t)).
    ///
    /// Tolerance: both runs compute the same sums in a different grouping (each rank sums its rows,
    /// then the ranks' partial gradients are added), so gradients differ by float rounding, ~1e-7
    /// relative. An AdamW step moves a weight by about lr·m̂/√v̂, at most ≈ lr (2e-4 here) per step,
    /// so rounding-level gradient differences move weights by ≪ lr over 3 steps (measured: 6.3e-7
    /// at most). A weight off by lr/20 = 1e-5 means a step went elsewhere — a wrong row, noise draw or
    /// normaliser. The same 2-rank job is also checked against one process with batch 1, which it
    /// must not match (the comparison discriminates), and to have moved the weights well beyond it.
    func testTwoRanksTrainAsOneProcessWithTwiceTheBatch() throws {
        guard try checkMPI() else { return }
        _ = Self.data
        let steps = 3
        let two = Self.base.appendingPathComponent("runs/dp-two-ranks"), one = Self.base.appendingPathComponent("runs/dp-one-process")
        let small = Self.base.appendingPathComponent("runs/dp-small-batch")
        for run in [two, one, small] { try? FileManager.default.removeItem(at: run) }
        let perRank = try writeConfig("dp-b1", batch: 1, maxSteps: steps), doubled = try writeConfig("dp-b2", batch: 2, maxSteps: steps)
        let jobTwo = try launch(ranks: 2, config: perRank, run: two, tag: "dp-eq")
        XCTAssertEqual(finish(jobTwo), 0, jobTwo.text)
        let jobOne = try launch(ranks: 0, config: doubled, run: one, tag: "dp-eq1")
        XCTAssertEqual(finish(jobOne), 0, jobOne.text)
        let jobSmall = try launch(ranks: 0, config: perRank, run: small, tag: "dp-eq0")
        XCTAssertEqual(finish(jobSmall), 0, jobSmall.text)
        XCTAssertTrue(jobTwo.text.contains("2 ranks × batch 1 = global batch 2"), jobTwo.text)

        let a = try weights(two, step: steps), b = try weights(one, step: steps), c = try weights(small, step: steps)
        XCTAssertGreaterThan(a.count, 300)
        let tolerance: Float = 2e-4 / 20
        let diff = maxDifference(a, b) { !Self.gradientIsRoundingNoise($0) }
        XCTAssertLessThanOrEqual(diff, tolerance, "2 ranks × 1 vs 1 process × 2: max |Δw| \(diff)")
        let noise = maxDifference(a, b, where: Self.gradientIsRoundingNoise)
        // Two runs moving those biases in opposite directions at AdamW's largest step (weight decay
        // moves them by lr·0.01·|w| ≪ 1e-6 more).
        let apart = 2 * 2e-4 * (1...steps).reduce(0.0) { $0 + Self.adamStepBound(step: $1) }
        XCTAssertEqual(Self.adamStepBound(step: 1), 1, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(Double(noise), apart + 1e-6, "attention key biases: max |Δw| \(noise)")
        XCTAssertGreaterThan(maxDifference(a, c), 10 * tolerance, "2 ranks × 1 should differ from 1 process × 1")
        // The global-batch losses the writer logged equal the single process's.
        let logA = try String(contentsOf: two.appendingPathComponent("logs/metrics.jsonl"), encoding: .utf8)
        let logB = try String(contentsOf: one.appendingPathComponent("logs/metrics.jsonl"), encoding: .utf8)
        func melLoss(_ log: String) -> Double? {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("\"train\"") }),
                  let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return ((obj["values"] as? [String: Any])?["loss/g/mel"] as? NSNumber)?.doubleValue
                ?? (obj["loss/g/mel"] as? NSNumber)?.doubleValue
        }
        let melA = try XCTUnwrap(melLoss(logA), logA), melB = try XCTUnwrap(melLoss(logB), logB)
        XCTAssertEqual(melA, melB, accuracy: 1e-4 * abs(melB))
    }

    /// Two ranks: a stop signal to one rank stops both at the same step with one checkpoint; a rank
    /// killed with SIGKILL ends the job with mpirun's message; each rerun resumes from the last
    /// checkpoint; the final checkpoint is byte-identical to an uninterrupted 2-rank run's.
    func testTwoRankResumeIsBitExactAfterStopSignalAndKilledRank() throws {
        guard try checkMPI() else { return }
        _ = Self.data
        let steps = 10
        let config = try writeConfig("dp-resume", batch: 1, maxSteps: steps)
        let straight = Self.base.appendingPathComponent("runs/dp-straight"), resumed = Self.base.appendingPathComponent("runs/dp-resumed")
        for run in [straight, resumed] { try? FileManager.default.removeItem(at: run) }
        let reference = try launch(ranks: 2, config: config, run: straight, tag: "dp-straight")
        XCTAssertEqual(finish(reference), 0, reference.text)

        // SIGTERM to rank 1 only: both ranks stop at the same step, rank 0 saves it, exit 0.
        let first = try launch(ranks: 2, config: config, run: resumed, tag: "dp-stop")
        guard let seen = waitForCheckpoint(resumed, after: 0), let rank1 = rankPID(1, tag: "dp-stop") else {
            first.process.terminate(); return XCTFail("no checkpoint or rank 1 appeared: \(first.text)")
        }
        kill(rank1, SIGTERM)
        XCTAssertEqual(finish(first), 0, first.text)
        let store = try CheckpointStore(root: resumed.appendingPathComponent("checkpoints"))
        let stopped = try XCTUnwrap(store.steps().last)
        XCTAssertGreaterThanOrEqual(stopped, seen)
        if stopped < steps {
            XCTAssertTrue(first.text.contains("a stop signal on another rank received: saved step \(stopped)"), first.text)
        }

        // SIGKILL to rank 1: mpirun ends the job and says which rank died.
        let second = try launch(ranks: 2, config: config, run: resumed, tag: "dp-kill")
        guard waitForCheckpoint(resumed, after: stopped) != nil, let victim = rankPID(1, tag: "dp-kill") else {
            second.process.terminate(); return XCTFail("no checkpoint or rank 1 appeared: \(second.text)")
        }
        kill(victim, SIGKILL)
        let status = finish(second)
        let last = try XCTUnwrap(store.steps().last)
        if last < steps {
            XCTAssertNotEqual(status, 0, second.text)
            XCTAssertTrue(second.text.contains("signal 9"), "mpirun should name the killed rank: \(second.text)")
        }
        XCTAssertTrue(second.text.contains("resuming dp-resumed at step \(stopped)"), second.text)

        let third = try launch(ranks: 2, config: config, run: resumed, tag: "dp-rerun")
        XCTAssertEqual(finish(third), 0, third.text)
        XCTAssertTrue(third.text.contains("resuming dp-resumed at step") || last == steps, third.text)
        let a = straight.appendingPathComponent("checkpoints/" + CheckpointStore.folderName(step: steps))
        let b = resumed.appendingPathComponent("checkpoints/" + CheckpointStore.folderName(step: steps))
        for file in [RunLayout.generatorFile, RunLayout.discriminatorFile, RunLayout.generatorOptimizerFile, RunLayout.discriminatorOptimizerFile] {
            let x = try Data(contentsOf: a.appendingPathComponent(file)), y = try Data(contentsOf: b.appendingPathComponent(file))
            XCTAssertGreaterThan(x.count, 1000)
            XCTAssertTrue(x == y, "\(file) differs between the uninterrupted and the interrupted 2-rank runs")
        }
    }
}
