import Foundation
import Formats
import Audio

/// What one optimization step reports back to the trainer.
public struct StepOutcome: Sendable {
    /// Named losses of the step, for logs (e.g. "loss/g/mel").
    public var losses: [String: Double]
    /// False when the step produced non-finite values and the task did not apply the update.
    public var applied: Bool
    public init(losses: [String: Double], applied: Bool = true) { self.losses = losses; self.applied = applied }
}

/// A rendered probe sentence, with an optional picture of it (e.g. its log-mel, [rows, cols]
/// row-major, low rows = low frequencies) for TensorBoard.
public struct SampleClip: Sendable {
    public var name: String
    public var samples: [Float]
    public var sampleRate: Int
    public var image: (values: [Float], rows: Int, cols: Int)?
    public init(name: String, samples: [Float], sampleRate: Int, image: (values: [Float], rows: Int, cols: Int)? = nil) {
        self.name = name; self.samples = samples; self.sampleRate = sampleRate; self.image = image
    }
}

/// The trainer's contract with a model: it knows nothing of TTS. A task owns its models, optimizers,
/// data order and randomness; the trainer owns the step counter, cadence, run folder and checkpoints.
///
/// Determinism contract: `trainStep(epoch:batchIndex:step:)` must depend only on the task's state and
/// those arguments (the batch order of an epoch derives from a seed and the epoch number), and
/// `saveCheckpoint`/`loadCheckpoint` must capture all of that state — then a resumed run is bit-identical.
public protocol TrainingTask: AnyObject {
    /// Batches in one epoch (at least 1).
    var batchesPerEpoch: Int { get }
    /// Current learning rate (for logs).
    var learningRate: Double { get }
    /// The validation metric that decides the best checkpoint (lower is better).
    var primaryValidationMetric: String { get }

    func trainStep(epoch: Int, batchIndex: Int, step: Int) throws -> StepOutcome
    func epochDidEnd(_ epoch: Int)
    func validate(step: Int) throws -> [String: Double]
    func renderSamples(step: Int) throws -> [SampleClip]
    /// Writes weights and optimizer states into `folder`; returns the task's own state as a JSON object
    /// (RNG states, schedules).
    func saveCheckpoint(into folder: URL) throws -> Data
    func loadCheckpoint(from folder: URL, state: Data) throws
}

/// Budget and cadence, all in steps.
public struct TrainerSettings: Sendable, Equatable {
    public var maxSteps: Int
    public var logInterval: Int
    public var evalInterval: Int
    public var sampleInterval: Int
    public var checkpointInterval: Int
    public var keepLast: Int
    /// Non-finite steps in a row after which the run stops.
    public var maxConsecutiveNonFinite: Int

    public init(maxSteps: Int, logInterval: Int = 100, evalInterval: Int = 1000, sampleInterval: Int = 5000,
                checkpointInterval: Int = 1000, keepLast: Int = 3, maxConsecutiveNonFinite: Int = 20) {
        self.maxSteps = maxSteps; self.logInterval = logInterval; self.evalInterval = evalInterval
        self.sampleInterval = sampleInterval; self.checkpointInterval = checkpointInterval
        self.keepLast = keepLast; self.maxConsecutiveNonFinite = maxConsecutiveNonFinite
    }

    public func validated() throws -> TrainerSettings {
        for (name, v) in [("max_steps", maxSteps), ("log_interval", logInterval), ("eval_interval", evalInterval),
                          ("sample_interval", sampleInterval), ("checkpoint_interval", checkpointInterval),
                          ("keep_last", keepLast)] where v < 1 {
            throw TrainingError.invalidArgument("train.\(name) must be ≥ 1 (got \(v))")
        }
        return self
    }
}

/// The trainer's own resumable state, stored in every checkpoint's state.json under "trainer".
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int = 0
    public var epoch: Int = 0
    /// Next batch of `epoch` to train on (the sampler position).
    public var batchIndex: Int = 0
    public var bestMetric: Double?
    public var bestStep: Int?
    public var skippedSteps: Int = 0
    public var configHash: String = ""
    public var learningRate: Double = 0
    /// Ranks of the job that wrote the state (nil: a single process, as before data-parallel training).
    public var ranks: Int?
    /// The task's state (RNG, schedules), opaque to the trainer.
    public var task: JSONValue = .object([])
    public init() {}

    /// Compact and key-sorted: the form handed between ranks and to `CheckpointStore`.
    static let writer = JSONWriter(style: .compact, sortedKeys: true)

    /// The trainer state of a loaded checkpoint; a bad value is reported with state.json's line and
    /// the key (`trainer.step`).
    static func read(_ checkpoint: CheckpointStore.Checkpoint) throws(JSONReadError) -> TrainerState {
        if let node = checkpoint.trainer {
            return try JSONFile.decode(TrainerState.self, from: node, file: checkpoint.stateURL.path, keyPath: "trainer")
        }
        return try JSONFile.decode(TrainerState.self, from: checkpoint.trainerState, file: checkpoint.stateURL.path)
    }

    /// The task's state as the JSON bytes `TrainingTask.loadCheckpoint` reads.
    func taskStateData() throws(JSONWriteError) -> Data { try TrainerState.writer.data(task) }
}

/// Why `Trainer.run()` returned.
public enum TrainerExit: Equatable, Sendable {
    case finished(step: Int)
    case interrupted(step: Int, signal: String)
}

/// The step loop shared by pretraining and fine-tuning.
public final class Trainer {
    public let runDirectory: RunDirectory
    public let settings: TrainerSettings
    public let task: TrainingTask
    public let console: ConsoleReporter
    /// The ranks of a data-parallel job (nil: a single process).
    public let replicas: ReplicaGroup?
    public private(set) var state: TrainerState
    /// Rank 0's run-folder writers (nil on the other ranks, which write nothing).
    private let events: EventFileWriter?
    private let metrics: MetricsLog?
    private let store: CheckpointStore?
    private var isWriter: Bool { store != nil }

    /// Opens the run: resumes from the newest verified checkpoint when there is one (and says so),
    /// else starts at step 0.
    ///
    /// With `replicas` (a data-parallel job), rank 0 alone opens the run folder and reads the
    /// checkpoint; the others receive its state and checkpoint files over MPI; all ranks then check
    /// that they hold identical weights (`ReplicatedTrainingTask.replicaFingerprint`).
    public init(run: RunDirectory, settings: TrainerSettings, task: TrainingTask, console: ConsoleReporter,
                replicas: ReplicaGroup? = nil) throws {
        self.runDirectory = run
        self.settings = try settings.validated()
        self.task = task
        self.console = console
        self.replicas = replicas
        let ranks = replicas?.size ?? 1
        let writer = (replicas?.rank ?? 0) == 0
        var state = TrainerState()
        var checkpointFolder: URL?
        if writer {
            let store = try CheckpointStore(root: run.checkpoints)
            self.store = store
            state.configHash = try RunConfig.hash(try Data(contentsOf: run.configURL))
            if let checkpoint = try store.loadNewest(warn: { console.warning($0) }) {
                let saved = try TrainerState.read(checkpoint)
                if saved.configHash != state.configHash {
                    console.warning("checkpoint step \(checkpoint.step) was written under config hash \(saved.configHash), the run's config.json now hashes to \(state.configHash)")
                }
                if (saved.ranks ?? 1) != ranks {
                    throw TrainingError.configMismatch("checkpoint step \(checkpoint.step) of \(run.root.path) was written by a job of \(saved.ranks ?? 1) rank(s), this job has \(ranks): the global batch (train.batch_size × ranks) and the data order would change. Resume with the same rank count (mpirun -np \(saved.ranks ?? 1)), or fine-tune from this run into a new run folder")
                }
                let taskState = try saved.taskStateData()
                try task.loadCheckpoint(from: checkpoint.url, state: taskState)
                checkpointFolder = checkpoint.url
                let hash = state.configHash
                state = saved
                state.configHash = hash
                console.banner("resuming \(runDirectory.name) at step \(state.step) (epoch \(state.epoch), batch \(state.batchIndex))")
            } else {
                console.banner("starting \(runDirectory.name) at step 0")
            }
        } else {
            self.store = nil
        }
        state.ranks = replicas.map(\.size)
        if let replicas {
            guard let replicated = task as? ReplicatedTrainingTask else {
                throw TrainingError.invalidArgument("this training task cannot run on several ranks")
            }
            let shared = try ReplicaCheckpoint.share(replicas, state: try JSONFile.encode(state, writer: TrainerState.writer),
                                                     checkpoint: checkpointFolder) { folder, data in
                let saved = try JSONFile.decode(TrainerState.self, from: data, file: "the trainer state from rank 0")
                try task.loadCheckpoint(from: folder, state: try saved.taskStateData())
            }
            state = try JSONFile.decode(TrainerState.self, from: shared, file: "the trainer state from rank 0")
            try ReplicaCheckpoint.verify(replicas, fingerprint: replicated.replicaFingerprint(),
                                         when: state.step > 0 ? "after resuming at step \(state.step)" : "at the start")
            if writer { console.banner("\(replicas.size) ranks agree on the model (fingerprint checked)") }
        }
        self.state = state
        if writer {
            let resumeStep = state.step > 0 ? state.step : nil
            self.metrics = try MetricsLog(url: run.logs.appendingPathComponent("metrics.jsonl"), resumeFromStep: resumeStep)
            let events = try EventFileWriter(directory: run.logs)
            try events.start(atStep: state.step + 1)
            self.events = events
        } else {
            self.metrics = nil
            self.events = nil
        }
    }

    /// A stop signal on this rank or, in a data-parallel job, on any rank (then all stop at this step).
    private func stopRequested() throws -> (Bool, String) {
        guard let replicas else { return (StopSignal.isRequested, StopSignal.signalName) }
        let any = try replicas.any(StopSignal.isRequested)
        return (any, StopSignal.isRequested ? StopSignal.signalName : "a stop signal on another rank")
    }

    /// Trains until `settings.maxSteps` or a stop signal; always leaves a checkpoint of the last step.
    @discardableResult
    public func run() throws -> TrainerExit {
        var windowStart = Date()
        var windowSteps = 0
        var windowLosses: [String: Double] = [:]
        var windowCounts: [String: Int] = [:]
        var consecutiveNonFinite = 0
        var windowStepSeconds = 0.0   // time inside task.trainStep; the rest of the window is trainer overhead
        // Every rank agrees on this (the state is shared), so all take the final checkpoint together.
        var lastSaved = state.step > 0 ? state.step : -1

        while state.step < settings.maxSteps {
            let (stop, signalName) = try stopRequested()
            if stop {
                try checkpoint()
                console.banner("\(signalName) received: saved step \(state.step) in \(runDirectory.checkpoints.path); run the same command to resume")
                return .interrupted(step: state.step, signal: signalName)
            }
            if state.batchIndex >= task.batchesPerEpoch {
                task.epochDidEnd(state.epoch)
                state.epoch += 1
                state.batchIndex = 0
            }
            let stepStart = Date()
            let outcome = try task.trainStep(epoch: state.epoch, batchIndex: state.batchIndex, step: state.step)
            windowStepSeconds += Date().timeIntervalSince(stepStart)
            state.batchIndex += 1
            state.step += 1
            windowSteps += 1
            if outcome.applied {
                consecutiveNonFinite = 0
                for (k, v) in outcome.losses { windowLosses[k, default: 0] += v; windowCounts[k, default: 0] += 1 }
            } else {
                state.skippedSteps += 1
                consecutiveNonFinite += 1
                console.warning("step \(state.step): non-finite loss or gradient, update skipped (\(state.skippedSteps) skipped so far)")
                if consecutiveNonFinite >= settings.maxConsecutiveNonFinite {
                    try checkpoint()
                    throw TrainingError.nonFinite("\(consecutiveNonFinite) consecutive steps produced non-finite values (last at step \(state.step)); the run stopped. Lower the learning rate or check the data, then resume.")
                }
            }
            state.learningRate = task.learningRate

            let step = state.step
            if let metrics, let events, step % settings.logInterval == 0 || step == settings.maxSteps {
                let elapsed = Date().timeIntervalSince(windowStart)
                let rate = elapsed > 0 ? Double(windowSteps) / elapsed : 0
                let means = windowLosses.keys.sorted().map { ($0, windowLosses[$0]! / Double(windowCounts[$0]!)) }
                var values = Dictionary(uniqueKeysWithValues: means)
                values["lr"] = task.learningRate
                values["steps_per_second"] = rate
                values["epoch"] = Double(state.epoch)
                values["skipped_steps"] = Double(state.skippedSteps)
                // Everything but the steps themselves: logging, validation, samples, checkpoints.
                values["trainer_overhead"] = elapsed > 0 ? max(0, elapsed - windowStepSeconds) / elapsed : 0
                try metrics.append(step: step, kind: "train", values: values)
                for (k, v) in values { try events.scalar(k.hasPrefix("loss") ? k : "train/" + k, Float(v), step: step) }
                try events.flush()
                console.status(step: step, maxSteps: settings.maxSteps, losses: means, stepsPerSecond: rate, learningRate: task.learningRate)
                windowStart = Date(); windowSteps = 0; windowLosses = [:]; windowCounts = [:]; windowStepSeconds = 0
            }
            if let metrics, let events, step % settings.evalInterval == 0 {
                let v = try task.validate(step: step)
                try metrics.append(step: step, kind: "validation", values: v)
                for (k, value) in v { try events.scalar("validation/" + k, Float(value), step: step) }
                if let primary = v[task.primaryValidationMetric], primary.isFinite, primary < (state.bestMetric ?? .infinity) {
                    state.bestMetric = primary
                    state.bestStep = step
                }
                try events.flush()
            }
            if isWriter, step % settings.sampleInterval == 0 {
                try writeSamples(step: step)
            }
            if step % settings.checkpointInterval == 0 {
                try checkpoint()
                lastSaved = step
            }
        }
        if lastSaved != state.step { try checkpoint() }
        console.banner("finished \(runDirectory.name) at step \(state.step)")
        return .finished(step: state.step)
    }

    /// Saves the current state and prunes old checkpoints (the best one is kept). In a data-parallel
    /// job every rank calls it at the same step: rank 0 writes, and all check that they still agree.
    public func checkpoint() throws {
        if let store {
            let current = state
            try store.write(step: current.step) { folder in
                var snapshot = current
                snapshot.task = JSONValue(try JSONFile.parse(try task.saveCheckpoint(into: folder), file: "the training task's state"))
                return try JSONFile.encode(snapshot, writer: TrainerState.writer)
            }
            store.prune(keepLast: settings.keepLast, protect: Set([state.bestStep].compactMap { $0 }))
        }
        if let replicas, let replicated = task as? ReplicatedTrainingTask {
            try ReplicaCheckpoint.verify(replicas, fingerprint: replicated.replicaFingerprint(), when: "at step \(state.step)")
        }
    }

    private func writeSamples(step: Int) throws {
        guard let events else { return }
        let clips = try task.renderSamples(step: step)
        guard !clips.isEmpty else { return }
        let dir = runDirectory.samples.appendingPathComponent(CheckpointStore.folderName(step: step))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for clip in clips {
            guard let wav = PCM16.wavBytes(samples: clip.samples, sampleRate: clip.sampleRate) else {
                throw TrainingError.invalidArgument("sample \(clip.name): \(clip.samples.count) samples at \(clip.sampleRate) Hz do not fit a WAV file")
            }
            try wav.write(to: dir.appendingPathComponent(clip.name + ".wav"), options: .atomic)
            try events.audio("samples/" + clip.name, samples: clip.samples, sampleRate: clip.sampleRate, step: step)
            if let image = clip.image, image.rows > 0, image.cols > 0, image.values.count == image.rows * image.cols {
                let png = SpectrogramImage.png(values: image.values, rows: image.rows, cols: image.cols)
                try events.image("samples/" + clip.name + "/mel", png: png.png, width: png.width, height: png.height, channels: 3, step: step)
            }
        }
        try events.flush()
    }
}
