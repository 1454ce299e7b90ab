import Foundation
import Formats
import Engine
import Corpus
import Evaluation
import Audio
import Mandarin
import VITS

/// Trainer settings and VITS-step options from our keys of the config's `train` section (see
/// docs/training.md), which `VITSConfig` parses with the reference keys.
public struct VITSTrainingOptions: Sendable {
    public var settings: TrainerSettings
    public var seed: UInt64
    public var batchSize: Int
    public var boundaries: [Int]
    /// "step" (default): the reference's per-epoch decay spread evenly over `decayEpochSteps` steps,
    /// so the schedule no longer depends on the dataset size; "epoch": the reference behaviour.
    public var decayPerStep: Bool
    public var decayEpochSteps: Int
    public var gradClipNorm: Float?
    public var probeSentences: [String]
    public var validationItems: Int
    /// Held-out utterances synthesized from text at each evaluation and scored against their
    /// recordings (MCD-DTW, log-F0 RMSE, V/UV; docs/evaluation.md). 0 (default) turns it off.
    public var evalMCDItems: Int

    public static let defaultProbes = ["今天天气很好，我们去公园散步吧。", "请在十点以前把报告发给我。"]

    /// The options of `config`'s `train` section (parsed and checked once, by `VITSConfig`);
    /// `maxStepsOverride` is `--max-steps`.
    public init(config: VITSConfig, maxStepsOverride: Int?) throws {
        let train = config.train
        let maxSteps = maxStepsOverride ?? train.maxSteps ?? 0
        guard maxSteps > 0 else {
            throw TrainingError.invalidArgument("train.max_steps is missing: set it in the config or pass --max-steps (the Biaobei recipe uses 700000)")
        }
        settings = try TrainerSettings(
            maxSteps: maxSteps, logInterval: train.logInterval, evalInterval: train.evalInterval,
            sampleInterval: train.sampleInterval, checkpointInterval: train.checkpointInterval,
            keepLast: train.keepLast, maxConsecutiveNonFinite: train.maxConsecutiveNonFinite).validated()
        seed = UInt64(truncatingIfNeeded: train.seed)
        batchSize = train.batchSize
        boundaries = train.boundaries ?? BucketSampler.referenceBoundaries
        decayPerStep = train.lrDecayUnit == .step
        decayEpochSteps = train.lrDecayEpochSteps
        gradClipNorm = train.gradClipNorm.map { Float($0) }
        probeSentences = train.probeSentences ?? Self.defaultProbes
        validationItems = train.validationItems
        evalMCDItems = train.evalMCDItems
        guard evalMCDItems >= 0 else { throw TrainingError.invalidArgument("train.eval_mcd_items: expected 0 or more, found \(evalMCDItems)") }
    }
}

/// VITS as a `TrainingTask`: the reference train.py step (discriminator step, then generator step
/// against the updated discriminator; AdamW β 0.8/0.99, ε 1e-9, weight decay 0.01; exponential decay),
/// bucketed batches from a prepared data folder, and everything a checkpoint must hold for exact resume.
///
/// Data-parallel (`replicas`): `train.batch_size` is per rank; each global batch (batch_size × ranks)
/// is drawn by the sampler exactly as one process with that batch would draw it, and rank r trains
/// on its rows r·B ..< (r+1)·B, padded to the global batch's lengths, with that single process's
/// noise and dropout masks for those rows (`RandomGenerator.withShard`). Every loss is normalised by the global batch (its share of the
/// single-process loss), gradients of D and G are summed over the ranks before each optimizer
/// step, and the logged losses are the global ones — so N ranks × B follow one process × N·B up to
/// float summation order (docs/training.md, "Several machines").
public final class VITSTrainingTask: ReplicatedTrainingTask {
    public let config: VITSConfig
    public let options: VITSTrainingOptions
    public let generator: SynthesizerTrn
    public let discriminator: MultiPeriodDiscriminator
    public let optimizerG: AdamW
    public let optimizerD: AdamW
    public private(set) var scheduleG: ExponentialLR
    public private(set) var scheduleD: ExponentialLR
    /// The one RNG of the model: initialization, dropout masks and every noise draw (its state is checkpointed).
    public let rng: RandomGenerator
    let trainSet: CorpusDataset
    let validationSet: CorpusDataset?
    let sampler: BucketSampler
    let mel: DifferentiableMel
    /// The sub-band (mb_istft) and full-band (`train.c_stft`) STFT losses the config selects.
    let waveformLosses: WaveformLosses
    private var epochBatches: (epoch: Int, batches: [[Int]])?
    private let probes: [(name: String, tokens: [Int])]
    private let frozenDiscriminator: Bool
    /// The data-parallel job and its gradient reducer (nil: a single process).
    public let replicas: ReplicaGroup?
    private let reducer: ReplicaGradients?
    /// The recordings' F0 per frame (models with pitch excitation), per split.
    private let trainPitch: PitchTargets?
    private let validationPitch: PitchTargets?

    /// `frozenDiscriminator`: the `discriminator` freeze preset — D is neither updated nor given gradients.
    /// - Parameters:
    ///   - adapt: runs after the models are built and before the optimizers are: fine-tuning loads the
    ///     parent's weights, freezes parameter groups and attaches LoRA adapters here, so the optimizers
    ///     see exactly the trainable parameters.
    public init(config: VITSConfig, options: VITSTrainingOptions, data: URL, frozenDiscriminator: Bool = false,
                replicas: ReplicaGroup? = nil, warn: (String) -> Void,
                adapt: ((SynthesizerTrn, MultiPeriodDiscriminator, RandomGenerator) throws -> Void)? = nil) throws {
        self.config = config
        self.options = options
        self.frozenDiscriminator = frozenDiscriminator
        self.replicas = replicas
        reducer = replicas.map { ReplicaGradients(group: $0) }
        trainSet = try CorpusDataset(directory: data, split: .train, addBlank: config.data.addBlank)
        let validation = try? CorpusDataset(directory: data, split: .validation, addBlank: config.data.addBlank)
        validationSet = (validation?.count ?? 0) > 0 ? validation : nil
        guard trainSet.info.sampleRate == config.data.samplingRate, trainSet.info.hopLength == config.data.hopLength,
              trainSet.info.nFFT == config.data.filterLength else {
            throw TrainingError.configMismatch("the data folder \(data.path) was prepared at \(trainSet.info.sampleRate) Hz, n_fft \(trainSet.info.nFFT), hop \(trainSet.info.hopLength), but the config asks for data.sampling_rate \(config.data.samplingRate), data.filter_length \(config.data.filterLength), data.hop_length \(config.data.hopLength); prepare the data again with matching --sample-rate/--n-fft/--hop-length or change the config")
        }
        if config.isMultiSpeaker, trainSet.speakers.count > config.data.nSpeakers {
            throw TrainingError.configMismatch("the data folder has \(trainSet.speakers.count) speakers but data.n_speakers is \(config.data.nSpeakers)")
        }
        rng = RandomGenerator(seed: options.seed)
        generator = SynthesizerTrn(config: config, vocabularySize: trainSet.inventory.symbols.count, generator: rng)
        do { discriminator = try MultiPeriodDiscriminator(config: config, generator: rng) } catch { throw TrainingError.invalidArgument("\(error)") }
        if frozenDiscriminator { discriminator.freeze() }
        try adapt?(generator, discriminator, rng)
        let t = config.train
        guard t.betas.count == 2 else { throw TrainingError.invalidArgument("train.betas must hold two numbers") }
        optimizerG = AdamW(parameters: generator.trainableParameters(), learningRate: t.learningRate,
                           betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
        optimizerD = AdamW(parameters: discriminator.trainableParameters(), learningRate: t.learningRate,
                           betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
        let gamma = options.decayPerStep ? pow(t.lrDecay, 1 / Double(max(1, options.decayEpochSteps))) : t.lrDecay
        scheduleG = ExponentialLR(initialLearningRate: t.learningRate, gamma: gamma)
        scheduleD = ExponentialLR(initialLearningRate: t.learningRate, gamma: gamma)
        sampler = try trainSet.sampler(batchSize: options.batchSize * (replicas?.size ?? 1), boundaries: options.boundaries, seed: options.seed)
        if !sampler.dropped.isEmpty {
            warn("\(sampler.dropped.count) of \(trainSet.count) training utterances fall outside the bucket boundaries \(options.boundaries) frames and are not used")
        }
        if trainSet.lengths.contains(where: { $0 < config.segmentFrames }) {
            warn("some utterances are shorter than the training segment (\(config.segmentFrames) frames); raise the first bucket boundary above it")
        }
        mel = DifferentiableMel(config: config)
        waveformLosses = WaveformLosses(config: config)
        var probes: [(String, [Int])] = []
        if trainSet.inventory.version == PhonemeInventory.v1.version, trainSet.inventory.symbols == PhonemeInventory.v1.symbols,
           let frontend = try? MandarinFrontend.bundled() {
            for (i, text) in options.probeSentences.enumerated() {
                if let ids = try? frontend.tokenIDs(text), !ids.isEmpty {
                    probes.append((String(format: "probe-%02d", i), config.data.addBlank ? Self.intersperse(ids) : ids))
                }
            }
        } else if !options.probeSentences.isEmpty {
            warn("the data's inventory (\(trainSet.inventory.version)) is not the Mandarin frontend's; probe sentences are not rendered")
        }
        self.probes = probes
        let pitch = config.model.pitch.enabled
        trainPitch = pitch ? PitchTargets(sampleRate: config.data.samplingRate, hop: config.data.hopLength, store: trainSet.folder) : nil
        validationPitch = pitch ? PitchTargets(sampleRate: config.data.samplingRate, hop: config.data.hopLength, store: trainSet.folder) : nil
    }

    static func intersperse(_ ids: [Int]) -> [Int] {
        var out = [0]
        for id in ids { out.append(id); out.append(0) }
        return out
    }

    public var batchesPerEpoch: Int { sampler.batchesPerEpoch }
    public var learningRate: Double { optimizerG.learningRate }
    public var primaryValidationMetric: String { "mel_l1" }

    private func batches(for epoch: Int) -> [[Int]] {
        if let cached = epochBatches, cached.epoch == epoch { return cached.batches }
        let b = sampler.batches(epoch: epoch)
        epochBatches = (epoch, b)
        return b
    }

    struct Tensors {
        var tokens: IntTensor, tokenLengths: [Int], spec: Tensor, specLengths: [Int], wav: Tensor, speakers: [Int]?
    }

    func tensors(_ b: Batch) -> Tensors {
        Tensors(tokens: IntTensor(shape: b.tokensShape, values: b.tokens), tokenLengths: b.tokenLengths.map(Int.init),
                spec: Tensor(shape: b.specShape, data: b.spec), specLengths: b.specLengths.map(Int.init),
                wav: Tensor(shape: b.wavShape, data: b.wav),
                speakers: config.isMultiSpeaker ? b.speakerIDs.map(Int.init) : nil)
    }

    /// This rank's share of a global batch's loss normalisers: items (every batch mean), frames
    /// (the KL term's Σ mask) and tokens (the duration term's Σ x_mask). All 1 in a single process.
    struct ShareWeights { var items: Float = 1, frames: Float = 1, tokens: Float = 1 }

    public func trainStep(epoch: Int, batchIndex: Int, step: Int) throws -> StepOutcome {
        generator.train(); discriminator.train()
        let global = batches(for: epoch)[batchIndex]
        let batch: Batch
        var rows: Range<Int>?
        var share = ShareWeights()
        if let replicas, replicas.size > 1 {
            let shard = try trainSet.collate(global, part: replicas.rank, of: replicas.size)
            batch = shard.batch
            rows = shard.rows
            let globalFrames = global.reduce(0) { $0 + trainSet.entries[$1].frames }
            let globalTokens = global.reduce(0) { $0 + trainSet.tokenCount($1) }
            share = ShareWeights(items: Float(batch.size) / Float(global.count),
                                 frames: Float(batch.specLengths.reduce(0) { $0 + Int($1) }) / Float(globalFrames),
                                 tokens: Float(batch.tokenLengths.reduce(0) { $0 + Int($1) }) / Float(globalTokens))
        } else {
            batch = try trainSet.collate(global)
        }
        let x = tensors(batch)
        let f0 = trainPitch?.f0(for: batch)
        func forward() throws -> TrainingOutputs {
            try generator.forward(tokens: x.tokens, tokenLengths: x.tokenLengths, spec: x.spec, frameLengths: x.specLengths,
                                  speakers: x.speakers, noise: GeneratorNoise(rng), f0: f0)
        }
        // A replica draws its rows of the single process's noise and dropout masks.
        let out = try rows.map { try rng.withShard(globalBatch: global.count, rows: $0, forward) } ?? forward()
        let hop = config.data.hopLength
        let yMel = noGrad { sliceSegments(mel.melFromLinear(x.spec), starts: out.sliceStarts, size: config.segmentFrames) }
        let ySlice = sliceSegments(x.wav, starts: out.sliceStarts.map { $0 * hop }, size: config.train.segmentSize)
        let yHatMel = mel(out.yHat)

        // Discriminator step.
        var lossDiscValue: Float = 0, normD: Float = 0
        if !frozenDiscriminator {
            let (real, fake) = discriminator.jointPass(real: ySlice, generated: out.yHat.detached())
            var lossDisc = VITSLoss.discriminator(real: real.logits, generated: fake.logits).total
            if reducer != nil { lossDisc = lossDisc * share.items }
            optimizerD.zeroGrad()
            lossDisc.backward()
            lossDiscValue = try globalValues([lossDisc.item])[0]
            try reducer?.sum(optimizerD.parameters.map(\.tensor))
            normD = clip(discriminator.parameters())
            guard lossDiscValue.isFinite, normD.isFinite else {
                optimizerD.zeroGrad()
                return StepOutcome(losses: ["loss/d/total": Double(lossDiscValue)], applied: false)
            }
            optimizerD.step()
        }

        // Generator step against the updated discriminator (its weights get no gradients here).
        let real = noGrad { discriminator(ySlice) }
        let fake = discriminator.withoutParameterGradients { discriminator(out.yHat) }
        var lossGen = VITSLoss.generator(fake.logits).total
        var lossFM = VITSLoss.featureMatching(real: real.featureMaps, generated: fake.featureMaps)
        var lossMel = VITSLoss.mel(target: yMel, generated: yHatMel, weight: Float(config.train.cMel))
        var lossKL = VITSLoss.kl(zP: out.zP, logsQ: out.logsQ, mP: out.mP, logsP: out.logsP, mask: out.yMask) * Float(config.train.cKl)
        var lossDur = VITSLoss.duration(out.lLength)
        if reducer != nil {
            // This rank's share of the global batch's loss (the single process's normalisers).
            lossGen = lossGen * share.items; lossFM = lossFM * share.items; lossMel = lossMel * share.items
            lossKL = lossKL * share.frames; lossDur = lossDur * share.tokens
        }
        var total = lossGen + lossFM + lossMel + lossDur + lossKL
        // The authors add the sub-band loss (weight 1) for mb_istft only, not for ms_istft. On several
        // ranks the spectral-convergence parts (ratios of norms over the batch) are the shard's own,
        // weighted by its share of items: close to, not equal to, the single process's.
        var waveformTerms = waveformLosses.terms(generated: out.yHat, generatedBands: out.yHatSubbands, target: ySlice)
        if reducer != nil { waveformTerms = waveformTerms.map { $0 * share.items } }
        for term in waveformTerms { total = total + term }
        var pitchTerms: (logF0: Tensor, voicing: Tensor)?
        if let prediction = out.pitchPrediction, let f0 {
            var terms = PitchLoss.terms(prediction: prediction, f0: f0, mask: out.yMask)
            if reducer != nil {
                // Masked means over the shard's own (voiced) frames, weighted by its share of the
                // batch's frames: close to, not equal to, the single process's means.
                terms = (terms.logF0 * share.frames, terms.voicing * share.frames)
            }
            total = total + (terms.logF0 + terms.voicing) * Float(config.train.cPitch)
            pitchTerms = terms
        }
        optimizerG.zeroGrad()
        total.backward()
        // Every logged generator term by name, summed over the ranks in one reduction (the list has
        // the same entries on every rank: which terms exist is a property of the config).
        var terms: [(name: String, value: Float)] = [
            ("loss/g/total", total.item), ("loss/g/gen", lossGen.item), ("loss/g/fm", lossFM.item),
            ("loss/g/mel", lossMel.item), ("loss/g/kl", lossKL.item), ("loss/g/dur", lossDur.item),
        ]
        if let pitchTerms { terms += [("loss/g/pitch_f0", pitchTerms.logF0.item), ("loss/g/pitch_vuv", pitchTerms.voicing.item)] }
        terms += zip(waveformLosses.names, waveformTerms.map(\.item)).map { (name: $0, value: $1) }
        let values = try globalValues(terms.map(\.value))
        try reducer?.sum(optimizerG.parameters.map(\.tensor))
        let normG = clip(generator.parameters())
        var losses: [String: Double] = ["loss/d/total": Double(lossDiscValue), "grad_norm/g": Double(normG), "grad_norm/d": Double(normD)]
        for (term, value) in zip(terms, values) { losses[term.name] = Double(value) }
        guard losses["loss/g/total"]?.isFinite == true, normG.isFinite else {
            optimizerG.zeroGrad()
            return StepOutcome(losses: losses, applied: false)
        }
        optimizerG.step()
        if options.decayPerStep {
            scheduleG.step(optimizerG)
            scheduleD.step(optimizerD)
        }
        return StepOutcome(losses: losses)
    }

    /// Loss values summed over the ranks (each holds its share): the global batch's losses, the same
    /// on every rank, so all ranks agree on skipping a non-finite step. Unchanged in a single process.
    private func globalValues(_ values: [Float]) throws -> [Float] {
        guard let replicas, replicas.size > 1 else { return values }
        var v = values
        try replicas.allReduceSum(&v)
        return v
    }

    /// Total gradient norm, clipped to `grad_clip_norm` when set (the reference does not clip).
    private func clip(_ params: [Tensor]) -> Float {
        if let maxNorm = options.gradClipNorm { return GradientClipping.clipGradNorm(params, maxNorm: maxNorm) }
        return GradientClipping.totalNorm(params)
    }

    public func epochDidEnd(_ epoch: Int) {
        if !options.decayPerStep {
            scheduleG.step(optimizerG)
            scheduleD.step(optimizerD)
        }
    }

    /// Mel L1 (and KL) of the posterior path on up to `validation_items` held-out utterances, with a
    /// fixed noise seed — so validation never touches the training RNG (exact resume) and is
    /// comparable across steps.
    public func validate(step: Int) throws -> [String: Double] {
        guard let validationSet else { return [:] }
        generator.eval()
        defer { generator.train() }
        let usable = (0..<validationSet.count).filter { validationSet.lengths[$0] >= config.segmentFrames }.prefix(options.validationItems)
        guard !usable.isEmpty else { return [:] }
        let noise = GeneratorNoise(RandomGenerator(seed: 0x5EED_0001))
        var melSum = 0.0, klSum = 0.0, n = 0.0
        for chunk in stride(from: 0, to: usable.count, by: options.batchSize) {
            let idx = Array(usable[usable.startIndex + chunk..<usable.startIndex + min(chunk + options.batchSize, usable.count)])
            let batch = try validationSet.collate(idx)
            let x = tensors(batch)
            let f0 = validationPitch?.f0(for: batch)
            try noGrad {
                let out = try generator.forward(tokens: x.tokens, tokenLengths: x.tokenLengths, spec: x.spec,
                                                frameLengths: x.specLengths, speakers: x.speakers, noise: noise, f0: f0)
                let yMel = sliceSegments(mel.melFromLinear(x.spec), starts: out.sliceStarts, size: config.segmentFrames)
                let l1 = VITSLoss.mel(target: yMel, generated: mel(out.yHat), weight: 1)
                let kl = VITSLoss.kl(zP: out.zP, logsQ: out.logsQ, mP: out.mP, logsP: out.logsP, mask: out.yMask)
                melSum += Double(l1.item) * Double(idx.count)
                klSum += Double(kl.item) * Double(idx.count)
                n += Double(idx.count)
            }
        }
        var metrics = ["mel_l1": melSum / n, "kl": klSum / n]
        for (key, value) in try speechQuality(validationSet) { metrics[key] = value }
        return metrics
    }

    /// Speaks the first `eval_mcd_items` validation utterances from their tokens (inference, fixed
    /// noise seed, no gradients) and scores them against their recordings: the means of MCD-DTW (dB),
    /// log-F0 RMSE (cents) and V/UV disagreement — what a listener hears, where mel L1 of the
    /// posterior path does not tell.
    private func speechQuality(_ validationSet: CorpusDataset) throws -> [String: Double] {
        let count = min(options.evalMCDItems, validationSet.count)
        guard count > 0 else { return [:] }
        var scores: [PairScore] = []
        for i in 0..<count {
            let item = try validationSet.item(i)
            let tokens = item.tokens
            // Long enough for a slow early model, short enough that an untrained one cannot stall the run.
            let maxFrames = max(4 * item.frames, 200)
            let out = try generator.infer(tokens: IntTensor(shape: [1, tokens.count], values: tokens),
                                          tokenLengths: [tokens.count], speakers: config.isMultiSpeaker ? [item.speakerID] : nil,
                                          maxFrames: maxFrames, noise: GeneratorNoise(RandomGenerator(seed: 0x5EED_0003)))
            let samples = Array(out.audio.scalars.prefix(out.frameLengths[0] * config.data.hopLength))
            let rate = config.data.samplingRate
            guard Double(samples.count) / Double(rate) >= 0.05, Double(item.wav.count) / Double(rate) >= 0.05 else { continue }
            scores.append(try VoiceScorer.score(synthesized: MonoAudio(samples: samples, sampleRate: rate),
                                                recorded: MonoAudio(samples: item.wav, sampleRate: rate), name: item.id))
        }
        guard !scores.isEmpty else { return [:] }
        let mean = ScoreSummary(scores).mean
        var metrics = ["mcd_db": mean.mcdDecibels, "vuv_err": mean.voicingDisagreement, "dur_ratio": mean.durationRatio]
        if let f0 = mean.logF0RMSECents { metrics["logf0_rmse_cents"] = f0 }
        return metrics
    }

    /// The probe sentences, synthesized with a fixed seed (speaker 0).
    public func renderSamples(step: Int) throws -> [SampleClip] {
        generator.eval()
        defer { generator.train() }
        return try probes.map { probe in
            let out = try generator.infer(tokens: IntTensor(shape: [1, probe.tokens.count], values: probe.tokens.map(Int32.init)),
                                          tokenLengths: [probe.tokens.count], speakers: config.isMultiSpeaker ? [0] : nil,
                                          maxFrames: 2000, noise: GeneratorNoise(RandomGenerator(seed: 0x5EED_0002)))
            let samples = Array(out.audio.scalars.prefix(out.frameLengths[0] * config.data.hopLength))
            let logMel = noGrad { mel(Tensor(shape: [1, 1, samples.count], data: samples)) }   // [1, n_mels, frames]
            return SampleClip(name: probe.name, samples: samples, sampleRate: config.data.samplingRate,
                              image: (logMel.scalars, logMel.shape[1], logMel.shape[2]))
        }
    }

    // MARK: checkpoints

    /// Weights and optimizer moments of both models, the RNG and the schedules.
    public func replicaFingerprint() -> UInt64 {
        var f = TensorFingerprint()
        for (_, t) in generator.stateDict().sorted(by: { $0.key < $1.key }) { f.add(t) }
        for (_, t) in discriminator.stateDict().sorted(by: { $0.key < $1.key }) { f.add(t) }
        for (_, t) in optimizerG.stateTensors().sorted(by: { $0.key < $1.key }) { f.add(t) }
        for (_, t) in optimizerD.stateTensors().sorted(by: { $0.key < $1.key }) { f.add(t) }
        for word in rng.state { f.add(word) }
        f.add(UInt64(scheduleG.count)); f.add(UInt64(scheduleD.count))
        return f.value
    }

    struct State: Codable {
        var rng: [UInt64]
        var scheduleG: Int
        var scheduleD: Int
        var learningRate: Double
    }

    public func saveCheckpoint(into folder: URL) throws -> Data {
        let g = generator.stateDict()
        let base = g.filter { !$0.key.contains(".lora.") }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        try TensorFile.save(base, to: folder.appendingPathComponent(RunLayout.generatorFile))
        CheckpointTestPause.reached(.weights)
        let lora = generator.loraStateDict()
        if !lora.isEmpty {
            try TensorFile.save(lora.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: folder.appendingPathComponent(RunLayout.loraFile))
        }
        try discriminator.save(to: folder.appendingPathComponent(RunLayout.discriminatorFile))
        try TensorFile.save(optimizerG.stateTensors().sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                            to: folder.appendingPathComponent(RunLayout.generatorOptimizerFile))
        CheckpointTestPause.reached(.optimizer)
        try TensorFile.save(optimizerD.stateTensors().sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                            to: folder.appendingPathComponent(RunLayout.discriminatorOptimizerFile))
        return try JSONFile.encode(State(rng: rng.state, scheduleG: scheduleG.count, scheduleD: scheduleD.count,
                                              learningRate: optimizerG.learningRate),
                                   writer: JSONWriter(style: .compact, sortedKeys: true), trailingNewline: false)
    }

    public func loadCheckpoint(from folder: URL, state: Data) throws {
        let s = try JSONFile.decode(State.self, from: state, file: folder.appendingPathComponent(RunLayout.stateFile).path + " (trainer.task)")
        var g = try TensorFile.load(folder.appendingPathComponent(RunLayout.generatorFile))
        let loraURL = folder.appendingPathComponent(RunLayout.loraFile)
        if FileManager.default.fileExists(atPath: loraURL.path) {
            for (k, v) in try TensorFile.load(loraURL) { g[k] = v }
        }
        try generator.load(g, strict: true)
        try discriminator.load(contentsOf: folder.appendingPathComponent(RunLayout.discriminatorFile), strict: true)
        try optimizerG.loadState(TensorFile.load(folder.appendingPathComponent(RunLayout.generatorOptimizerFile)))
        try optimizerD.loadState(TensorFile.load(folder.appendingPathComponent(RunLayout.discriminatorOptimizerFile)))
        try rng.restore(state: s.rng)
        scheduleG = ExponentialLR(initialLearningRate: config.train.learningRate, gamma: scheduleG.gamma, count: s.scheduleG)
        scheduleD = ExponentialLR(initialLearningRate: config.train.learningRate, gamma: scheduleD.gamma, count: s.scheduleD)
        optimizerG.learningRate = scheduleG.learningRate
        optimizerD.learningRate = scheduleD.learningRate
        epochBatches = nil
    }
}
