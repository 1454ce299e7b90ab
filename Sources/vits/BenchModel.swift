import ArgumentParser
import Engine
import Foundation
import VITS
import Cores

/// `vits bench model`: one full VITS training step (train.py order) on random data.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time one full training step (D forward/backward/AdamW, then G forward/backward/AdamW) on random data.",
        discussion: """
            The step is the reference train.py iteration: generator forward (text encoder, posterior \
            encoder, flow, alignment search, duration loss, decoder on a random segment of the config's \
            segment_size), the discriminator step on (y, ŷ.detach()), then the generator losses \
            (adversarial, feature matching, mel L1, KL, duration) through the updated discriminator with \
            its weight gradients off, and the generator AdamW step. Random tokens, linear spectrograms \
            and waveforms of --frames frames (items shortened by a few frames each, to exercise the masks). \
            Reports the median of --runs after one warm-up step, with the three phases.

            Example:
              vits bench model --config Tests/VITSTests/Fixtures/configs/tiny-sdp.json --batch 4
            """)

    @Option(help: "Reference-format config.json.")
    var config: String

    @Option(help: "Batch size.")
    var batch = 4

    @Option(help: "Spectrogram frames of the longest item (at least the segment's frames).")
    var frames = 200

    @Option(help: "Text tokens of the longest item.")
    var tokens = 80

    @Option(help: "Vocabulary size (220 = the zh-v1 inventory).")
    var vocabulary = 220

    @Option(help: "Timed steps (the median is reported; at least 3).")
    var runs = 3

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (3...100).contains(runs) else { throw ValidationError("--runs must be in 3...100") }
        guard (1...256).contains(batch) else { throw ValidationError("--batch must be in 1...256") }
        guard (1...4096).contains(tokens), (1...20_000).contains(frames) else { throw ValidationError("--tokens/--frames out of range") }
    }

    func run() throws {
        Engine.configure()
        let cfg = try VITSConfig.load(contentsOf: URL(fileURLWithPath: config))
        let hop = cfg.data.hopLength, segmentFrames = cfg.segmentFrames
        guard frames >= segmentFrames + 3 * (batch - 1) else {
            throw ValidationError("--frames must be at least \(segmentFrames + 3 * (batch - 1)) (segment \(segmentFrames) frames + 3 per extra item)")
        }
        let rng = RandomGenerator(seed: 1234)
        let netG = SynthesizerTrn(config: cfg, vocabularySize: vocabulary, generator: rng)
        let netD = try MultiPeriodDiscriminator(config: cfg, generator: rng)
        netG.train(); netD.train()
        let t = cfg.train
        let optG = AdamW(parameters: netG.trainableParameters(), learningRate: t.learningRate, betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
        let optD = AdamW(parameters: netD.trainableParameters(), learningRate: t.learningRate, betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
        let mel = DifferentiableMel(config: cfg)
        // The waveform losses the trainer adds (mb_istft's sub-band loss, `c_stft`; docs/decoders.md).
        let waveformLosses = WaveformLosses(config: cfg)

        // Random batch, longest first (as the collate sorts it).
        let frameLengths = (0..<batch).map { frames - 3 * $0 }
        let tokenLengths = (0..<batch).map { max(1, tokens - 2 * $0) }
        var ids = [Int32](repeating: 0, count: batch * tokens)
        for b in 0..<batch { for i in 0..<tokenLengths[b] { ids[b * tokens + i] = Int32(1 + (b * 7919 + i * 104_729) % (vocabulary - 1)) } }
        let tokenTensor = IntTensor(shape: [batch, tokens], values: ids)
        let spec = rng.randn([batch, cfg.spectrogramChannels, frames]).abs()
        let wav = rng.randn([batch, 1, frames * hop]) * 0.1
        let speakers: [Int]? = cfg.isMultiSpeaker ? (0..<batch).map { $0 % cfg.data.nSpeakers } : nil
        let noise = GeneratorNoise(RandomGenerator(seed: 5))

        func step() throws -> (Double, Double, Double, Float, Float) {
            let t0 = VoiceSupport.now()
            let out = try netG.forward(tokens: tokenTensor, tokenLengths: tokenLengths, spec: spec, frameLengths: frameLengths,
                                       speakers: speakers, noise: noise)
            let ySlice = sliceSegments(wav, starts: out.sliceStarts.map { $0 * hop }, size: t.segmentSize)
            let yMel = noGrad { sliceSegments(mel.melFromLinear(spec), starts: out.sliceStarts, size: segmentFrames) }
            let yHatMel = mel(out.yHat)
            let t1 = VoiceSupport.now()
            // Discriminator step.
            let (real, fake) = netD.jointPass(real: ySlice, generated: out.yHat.detached())
            let lossD = VITSLoss.discriminator(real: real.logits, generated: fake.logits).total
            netD.zeroGrad()
            lossD.backward()
            optD.step()
            let t2 = VoiceSupport.now()
            // Generator step through the updated discriminator.
            let realG = noGrad { netD(ySlice) }
            let fakeG = netD.withoutParameterGradients { netD(out.yHat) }
            let lossGen = VITSLoss.generator(fakeG.logits).total
            let lossFM = VITSLoss.featureMatching(real: realG.featureMaps, generated: fakeG.featureMaps)
            let lossMel = VITSLoss.mel(target: yMel, generated: yHatMel, weight: Float(t.cMel))
            let lossKL = VITSLoss.kl(zP: out.zP, logsQ: out.logsQ, mP: out.mP, logsP: out.logsP, mask: out.yMask) * Float(t.cKl)
            var total = lossGen + lossFM + lossMel + VITSLoss.duration(out.lLength) + lossKL
            for term in waveformLosses.terms(generated: out.yHat, generatedBands: out.yHatSubbands, target: ySlice) { total = total + term }
            netG.zeroGrad()
            total.backward()
            optG.step()
            let t3 = VoiceSupport.now()
            return (t1 - t0, t2 - t1, t3 - t2, lossD.scalars[0], total.scalars[0])
        }
        let warm = try step()
        guard warm.3.isFinite, warm.4.isFinite else { throw CommandFailure("non-finite loss in the warm-up step") }
        var totals: [Double] = [], phases: [(Double, Double, Double)] = [], cpus: [Double] = []
        for _ in 0..<runs {
            let c0 = BenchGenerator.processCPUSeconds()
            let s = try step()
            cpus.append(BenchGenerator.processCPUSeconds() - c0)
            totals.append(s.0 + s.1 + s.2)
            phases.append((s.0, s.1, s.2))
        }
        let order = totals.indices.sorted { totals[$0] < totals[$1] }
        let mid = order[order.count / 2]
        let (gf, ds, gs) = phases[mid]
        let cpu = cpus.sorted()[cpus.count / 2]
        if json {
            print(#"{"bench":"model","config":"\#(config)","batch":\#(batch),"frames":\#(frames),"tokens":\#(tokens),"segment_size":\#(t.segmentSize),"runs":\#(runs),"seconds":\#(totals[mid]),"g_forward_seconds":\#(gf),"d_step_seconds":\#(ds),"g_step_seconds":\#(gs),"cpu_seconds":\#(cpu),"generator_parameters":\#(netG.parameterCount),"discriminator_parameters":\#(netD.parameterCount),"workers":\#(Parallel.workers)}"#)
        } else {
            print(String(format: "training step (%@, batch %d, %d frames, segment %d): %.3f s median of %d (G forward %.3f, D step %.3f, G losses+backward+AdamW %.3f); CPU %.3f s; G %d / D %d parameters, %d workers",
                         config, batch, frames, t.segmentSize, totals[mid], runs, gf, ds, gs, cpu, netG.parameterCount, netD.parameterCount, Parallel.workers))
        }
    }
}
