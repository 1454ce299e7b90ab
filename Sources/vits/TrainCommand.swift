import ArgumentParser
import Foundation
import Formats
import Engine
import Training
import VITS
import Voice

/// Options `train` and `finetune` share.
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Training config (reference VITS format plus our train.* keys; see docs/training.md).")
    var config: String
    @Option(name: .long, help: "Prepared data folder (`vits prepare`).")
    var data: String
    @Option(name: .long, help: "Run folder: created on the first start, resumed from its newest checkpoint afterwards.")
    var run: String
    @Option(name: .long, help: "Override train.max_steps (the step budget).")
    var maxSteps: Int?
    @Flag(name: .long, help: "Accept a config that differs from the run's frozen one in keys that change training.")
    var allowConfigChange = false
    @Flag(name: .long, help: "No status lines (warnings still print).") var quiet = false
    @Flag(name: .long, help: "One JSON object per status line, for scripts.") var json = false

    var console: ConsoleReporter { ConsoleReporter(mode: json ? .json : (quiet ? .quiet : .human)) }
}

enum TrainingRun {
    /// Opens the run, builds the task (with `adapt` for fine-tuning), trains, and maps the outcome
    /// to an exit status: 0 finished, 0 after a clean SIGINT/SIGTERM save, 1 on error.
    ///
    /// Started by `mpirun` (or another Open MPI/PMIx launcher), it joins the data-parallel job
    /// (`ReplicaGroup`): rank 0 owns the run folder and the console, the other ranks print warnings
    /// only; an error on any rank is printed there and ends the whole job (MPI_Abort).
    static func execute(_ o: RunOptions, provenance: JSONValue, frozenDiscriminator: Bool = false,
                        adapt: ((SynthesizerTrn, MultiPeriodDiscriminator, RandomGenerator, Bool) throws -> Void)? = nil) throws {
        Engine.configure()
        let replicas: ReplicaGroup?
        do { replicas = try ReplicaGroup.joinIfLaunched() } catch { throw CommandFailure("\(error)") }
        StopSignal.install()   // before the (slow) setup: an early Ctrl-C still ends with a clean save
        let writer = (replicas?.rank ?? 0) == 0
        let console = writer ? o.console : ConsoleReporter(mode: .quiet)
        let dataURL = URL(fileURLWithPath: o.data), runURL = URL(fileURLWithPath: o.run)
        do {
            try run(o, replicas: replicas, writer: writer, console: console, dataURL: dataURL, runURL: runURL,
                    provenance: provenance, frozenDiscriminator: frozenDiscriminator, adapt: adapt)
            try replicas?.finish()
        } catch let error as TrainingError {
            try fail(error.description, replicas: replicas)
        } catch let error as CommandFailure {
            try fail(error.description, replicas: replicas)
        } catch {
            try fail("\(error)", replicas: replicas)
        }
    }

    /// One rank's failure ends the job: the others may be waiting for it in a collective.
    private static func fail(_ message: String, replicas: ReplicaGroup?) throws -> Never {
        guard let replicas, replicas.size > 1 else { throw CommandFailure(message) }
        FileHandle.standardError.write(Data("Error (rank \(replicas.rank) of \(replicas.size)): \(message)\n".utf8))
        replicas.abort(code: 1)
    }

    private static func run(_ o: RunOptions, replicas: ReplicaGroup?, writer: Bool, console: ConsoleReporter, dataURL: URL, runURL: URL,
                            provenance: JSONValue, frozenDiscriminator: Bool,
                            adapt: ((SynthesizerTrn, MultiPeriodDiscriminator, RandomGenerator, Bool) throws -> Void)?) throws {
            let raw = try Data(contentsOf: URL(fileURLWithPath: o.config))
            let effective = try RunSetup.effectiveConfig(raw, data: dataURL, maxSteps: o.maxSteps)
            let config = try VITSConfig.parse(effective, source: o.config)
            for w in config.warnings { console.warning(w) }
            let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
            // Rank 0 alone opens (and writes) the run folder; a resume is rank 0's to decide.
            let run = writer ? try RunSetup.openRun(runURL, config: effective, data: dataURL, provenance: provenance,
                                                    allowConfigChange: o.allowConfigChange, console: console)
                             : RunDirectory(root: runURL)
            var resuming = writer ? !(try CheckpointStore(root: run.checkpoints).steps().isEmpty) : false
            if let replicas { resuming = try replicas.any(resuming) }
            let task = try VITSTrainingTask(config: config, options: options, data: dataURL,
                                            frozenDiscriminator: frozenDiscriminator, replicas: replicas, warn: { console.warning($0) },
                                            adapt: adapt.map { f in { g, d, rng in try f(g, d, rng, resuming) } })
            let trainable = task.generator.trainableParameters().reduce(0) { $0 + $1.1.count }
            console.banner("model: generator \(task.generator.parameterCount) parameters (\(trainable) trainable), discriminator \(task.discriminator.parameterCount); \(task.batchesPerEpoch) batches per epoch")
            if let replicas {
                console.banner("data-parallel: \(replicas.size) ranks × batch \(options.batchSize) = global batch \(replicas.size * options.batchSize)")
            }
            let trainer = try Trainer(run: run, settings: options.settings, task: task, console: console, replicas: replicas)
            try trainer.run()
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a VITS voice from scratch, or resume the run.",
        discussion: """
            The first start freezes CONFIG into RUN/config.json and records the
            data's inventory and speakers. Running the same command again resumes
            from the newest complete checkpoint and continues bit-identically to a
            run that was never interrupted (weights, optimizer moments, data order,
            noise). Ctrl-C (SIGINT), SIGTERM or SIGUSR1 writes a checkpoint and
            exits; a damaged newest checkpoint falls back to the previous one with a
            warning. A config that changed in a key that matters is refused.

            Data-parallel on several processes or machines: start it with Open MPI's
            mpirun (train.batch_size is then per rank; N ranks × B train as one
            process with batch N·B). Rank 0 writes the run folder; stop the job with
            SIGUSR1 to mpirun (forwarded to every rank); resume with the same rank
            count. See docs/training.md, "Several machines".

            Examples:
              vits train --config recipes/quickstart/configs/pretrain.json \\
                  --data data/pretrain --run runs/pretrain
              # extend the budget of the same run
              vits train --config … --data … --run runs/pretrain --max-steps 2000
              # two ranks
              mpirun -np 2 vits train --config … --data … --run runs/pretrain
            """)

    @OptionGroup var options: RunOptions

    func run() throws {
        try TrainingRun.execute(options, provenance: ["kind": "pretrain", "parent": nil])
    }
}

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a voice or a run on new data (fresh step counter and schedule).",
        discussion: """
            --from takes a voice bundle, a run folder (its newest checkpoint) or a
            checkpoint folder. Weights are transplanted key by key with a report:
            loaded, new (freshly initialized), skipped, and reshaped tables (a
            speaker table or symbol set of another size keeps the overlapping rows).

            What to train (docs/training.md, "The fine-tuning study"): by default
            everything, which scored best at equal wall time. Freeze presets:
            text-encoder, duration-predictor, flow, posterior-encoder, decoder,
            discriminator. LoRA: adapters of rank R on every convolution under the
            --lora-targets prefixes (enc_p, dp, flow, enc_q, dec), the rest of the
            generator frozen; adapters go to lora.safetensors and are merged on
            export. LoRA trains more steps per minute and stores a small adapter per
            voice, but moves the voice less far.

            Resuming works exactly as for `vits train` (run the same command again).

            Examples:
              vits finetune --from runs/pretrain \\
                  --config recipes/quickstart/configs/finetune.json \\
                  --data data/target_male --run runs/finetune
              vits finetune --from voices/demo --config CONFIG.json \\
                  --data data/target_male --run runs/lora \\
                  --lora-rank 8 --lora-alpha 16 --lora-targets dec,flow
            """)

    @OptionGroup var options: RunOptions
    @Option(name: .long, help: "Parent: voice bundle, run folder or checkpoint folder.") var from: String
    @Option(name: .long, help: "Comma-separated freeze presets.") var freeze: String?
    @Option(name: .long, help: "LoRA rank (enables LoRA).") var loraRank: Int?
    @Option(name: .long, help: "LoRA alpha (scale α/r).") var loraAlpha: Float = 16
    @Option(name: .long, help: "LoRA dropout on the adapter path.") var loraDropout: Float = 0
    @Option(name: .long, help: "Comma-separated generator prefixes that get adapters.") var loraTargets: String = "dec,flow,enc_p,dp"

    func validate() throws {
        if let r = loraRank, r < 1 { throw ValidationError("--lora-rank must be ≥ 1") }
        if loraDropout < 0 || loraDropout >= 1 { throw ValidationError("--lora-dropout must be in [0, 1)") }
    }

    func run() throws {
        let presets = try freeze.map { try FreezePreset.parseList($0) } ?? []
        let targets = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let console = options.console
        let parentURL = URL(fileURLWithPath: from)
        var provenance: JSONValue = ["kind": "finetune", "parent": .string(parentURL.standardizedFileURL.path),
                                     "freeze": .array(presets.map { .string($0.rawValue) })]
        if let r = loraRank {
            provenance.set("lora", ["rank": .int(Int64(r)), "alpha": .float(loraAlpha), "dropout": .float(loraDropout),
                                    "targets": .array(targets.map(JSONValue.string))])
        }
        try TrainingRun.execute(options, provenance: provenance, frozenDiscriminator: presets.contains(.discriminator)) { g, d, rng, resuming in
            if !resuming {
                // A fresh fine-tune: start from the parent's weights (a resume reloads its own checkpoint).
                let parent = try FineTuneParent.weights(parentURL, console: console)
                let report = WeightTransfer.transfer(parent.generator, into: g, reshapable: ["emb_g.weight", "enc_p.emb.weight"])
                console.banner("fine-tuning from \(parent.description):\n" + report.description)
                if let dWeights = parent.discriminator {
                    let dReport = WeightTransfer.transfer(dWeights, into: d)
                    console.banner("discriminator: " + dReport.description)
                } else {
                    console.banner("discriminator: the parent has none (a voice bundle); starting it fresh")
                }
            }
            for p in presets { for prefix in p.generatorPrefixes { g.freeze(prefix) } }
            if let rank = loraRank {
                g.freeze()
                let adapted = g.attachLoRA(toPrefixes: targets, rank: rank, alpha: loraAlpha, dropout: loraDropout, generator: rng)
                guard !adapted.isEmpty else { throw TrainingError.invalidArgument("--lora-targets \(loraTargets) matched no convolution") }
                console.banner("LoRA rank \(rank), alpha \(loraAlpha) on \(adapted.count) layers")
            }
        }
    }
}
