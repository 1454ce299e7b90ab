import Foundation
import Engine
import VITS

/// One compared tensor of a reference check.
public struct CheckLine: Sendable, Codable {
    public enum Status: String, Sendable, Codable { case pass, fail, outlier = "pass (outlier)" }
    public var name: String
    public var maxAbsError: Double
    /// max|ours − ref| / max|ref| (or the absolute error where the reference is analytically zero).
    public var relativeError: Double
    public var status: Status
    public var note: String?
}

/// A fixture tensor that was not compared, and why. `fails` when the reason is a missing comparison
/// (the model did not produce the tensor) rather than an input the check feeds to the model.
public struct SkipLine: Sendable, Codable {
    public var name: String
    public var reason: String
    public var fails: Bool
}

/// Runs the whole reference computation of a fixture folder (training forward with the recorded
/// noise, every loss, every generator and discriminator gradient, one D and G AdamW step, and
/// inference) and compares every tensor the fixture stores with the rules of `Tolerance`.
/// Every fixture tensor is accounted for: compared, fed to the model as an input, or listed as a
/// skip (failing when it means a comparison is missing); recorded noise must be consumed exactly.
public final class ReferenceCheck {
    public let fixture: ReferenceFixture
    public private(set) var lines: [CheckLine] = []
    public private(set) var skipped: [SkipLine] = []
    /// Where to write the discriminator gradients the D step uses (`--dump-discriminator-gradients`).
    public var discriminatorGradientDump: URL?

    public init(folder: URL) throws { fixture = try ReferenceFixture(folder: folder) }

    public var failures: [CheckLine] { lines.filter { $0.status == .fail } }
    public var outliers: [CheckLine] { lines.filter { $0.status == .outlier } }
    public var failingSkips: [SkipLine] { skipped.filter(\.fails) }
    /// Nothing failed, no fixture tensor went uncompared for want of ours, and at most
    /// `Tolerance.maxOutliers` gradient outliers in the whole check.
    public var passed: Bool { failures.isEmpty && failingSkips.isEmpty && outliers.count <= Tolerance.maxOutliers }

    /// Fixture tensors read as inputs (per part): accounted for without a comparison.
    private var inputs: [ReferenceFixture.Part: [String: String]] = [:]

    // MARK: comparison

    private enum Kind { case exact, forward, gradient }

    private func add(_ name: String, _ abs: Double, _ rel: Double, _ status: CheckLine.Status, _ note: String? = nil) {
        lines.append(CheckLine(name: name, maxAbsError: abs, relativeError: rel, status: status, note: note))
    }

    private func input(_ name: String, _ why: String, part: ReferenceFixture.Part = .training) {
        inputs[part, default: [:]][name] = why
    }

    static let absoluteNote = "absolute tolerance 1e-6"

    /// Compares `ours` with the fixture tensor `name` (full or sampled). Tensors the fixture lacks
    /// are not compared (fixture tensors we never compare are listed by `accountForFixtureTensors`).
    private func compare(_ name: String, _ ours: Tensor, _ kind: Kind, part: ReferenceFixture.Part = .training) {
        do {
            var worst: Float = 0, scale: Float = 0
            if fixture.has(name, in: part) {
                let ref = try fixture.tensor(name, in: part)
                guard ref.count == ours.count else {
                    add(name, .infinity, .infinity, .fail, "shape: ours \(ours.shape), reference \(ref.shape)"); return
                }
                for i in 0..<ref.count {
                    worst = max(worst, abs(ours.pointer[i] - ref.pointer[i]))
                    scale = max(scale, abs(ref.pointer[i]))
                }
            } else if let sampled = try fixture.sampled(name, in: part) {
                let shape = try fixture.integers(name + ".shape", in: part).values
                guard shape == ours.shape else { add(name, .infinity, .infinity, .fail, "shape: ours \(ours.shape), reference \(shape)"); return }
                for (v, i) in zip(sampled.values, sampled.indices) { worst = max(worst, abs(ours.pointer[i] - v)) }
                scale = sampled.scale
                checkStats(name, ours, part: part)
            } else {
                return
            }
            let analyticallyZero = name.hasPrefix("grad.") && name.contains("attn_layers") && name.hasSuffix("conv_k.bias")
            if analyticallyZero || scale == 0 {
                add(name, Double(worst), Double(worst), Double(worst) <= Tolerance.absoluteZero ? .pass : .fail, Self.absoluteNote)
                return
            }
            let rel = Double(worst / scale)
            switch kind {
            case .exact: add(name, Double(worst), rel, worst == 0 ? .pass : .fail)
            case .forward: add(name, Double(worst), rel, rel <= Tolerance.forward ? .pass : .fail)
            case .gradient:
                add(name, Double(worst), rel, rel <= Tolerance.gradient ? .pass : (rel <= Tolerance.outlier ? .outlier : .fail))
            }
        } catch {
            add(name, .infinity, .infinity, .fail, "\(error)")
        }
    }

    private func checkStats(_ name: String, _ ours: Tensor, part: ReferenceFixture.Part) {
        guard let stats = try? fixture.tensor(name + ".stats", in: part).scalars.map(Double.init), stats.count == 5 else {
            add(name + ".stats", .infinity, .infinity, .fail, "missing or malformed (expected 5 float64 values)")
            return
        }
        var s = 0.0, sa = 0.0, sq = 0.0, lo = Double.infinity, hi = -Double.infinity
        for i in 0..<ours.count { let v = Double(ours.pointer[i]); s += v; sa += abs(v); sq += v * v; lo = min(lo, v); hi = max(hi, v) }
        let scale = max(abs(stats[3]), abs(stats[4]))
        let errors = [abs(s - stats[0]) / max(stats[1], 1e-30), abs(sa - stats[1]) / max(stats[1], 1e-30),
                      abs(sq - stats[2]) / max(stats[2], 1e-30), abs(lo - stats[3]) / max(scale, 1e-30), abs(hi - stats[4]) / max(scale, 1e-30)]
        let worst = errors.max() ?? 0
        let tolerance = Tolerance.stats(for: name)
        let gradient = tolerance == Tolerance.gradient
        add(name + ".stats", worst, worst, worst <= tolerance ? .pass : (gradient && worst <= Tolerance.outlier ? .outlier : .fail))
    }

    private func compareIntegers(_ name: String, _ ours: [Int], part: ReferenceFixture.Part = .training) {
        guard fixture.has(name, in: part) else { return }
        guard let ref = try? fixture.integers(name, in: part).values else {
            add(name, .infinity, .infinity, .fail, "not an integer tensor"); return
        }
        add(name, ref == ours ? 0 : 1, ref == ours ? 0 : 1, ref == ours ? .pass : .fail, ref == ours ? nil : "ours \(ours), reference \(ref)")
    }

    /// Per parameter (state-dict order): which values' gradients are rounding noise, i.e. could
    /// differ in sign from the reference's: |g| ≤ the error our gradient may have, which is
    /// τ·max|g| (τ = max(1e-3, the measured relative error of `prefix + key`)) for tensors compared
    /// relatively, and max(1e-6, the measured absolute error) for those compared absolutely (the
    /// analytically-zero `conv_k.bias` gradients: every value there is noise). Read before the step.
    private func noiseMasks(_ parameters: [(String, Tensor)], measuredPrefix prefix: String) -> [[Bool]] {
        parameters.map { key, p in
            guard let g = p.grad else { return [Bool](repeating: false, count: p.count) }
            let line = lines.last { $0.name == prefix + key }
            let threshold: Float
            if let line, line.note == Self.absoluteNote {
                threshold = Float(max(Tolerance.absoluteZero, line.maxAbsError))
            } else {
                var maxG: Float = 0
                for i in 0..<g.count { maxG = max(maxG, abs(g.pointer[i])) }
                threshold = Float(max(Tolerance.gradient, min(line?.relativeError ?? Tolerance.gradient, Tolerance.outlier))) * maxG
            }
            return (0..<g.count).map { abs(g.pointer[$0]) <= threshold }
        }
    }

    /// Compares the per-parameter `[Σx, Σ|x|, Σx², min, max]` rows after the step with the
    /// sign-flip bound (`Tolerance.ParameterStatsBound`). Reports the worst error / bound.
    private func compareParameterStats(_ name: String, _ parameters: [(String, Tensor)], noisy: [[Bool]], learningRate lr: Double) {
        guard fixture.has(name) else { return }
        guard let ref = try? fixture.tensor(name), ref.shape == [parameters.count, 5] else {
            add(name, .infinity, .infinity, .fail, "expected shape [\(parameters.count), 5] (one row per parameter)")
            return
        }
        var worst = 0.0, worstAbs = 0.0, totalNoisy = 0, failedRows = 0
        var firstFailure: String?
        let names = parameters.map(\.0)
        for (row, (_, p)) in parameters.enumerated() {
            var s = 0.0, sa = 0.0, sq = 0.0, lo = Double.infinity, hi = -Double.infinity
            for i in 0..<p.count { let v = Double(p.pointer[i]); s += v; sa += abs(v); sq += v * v; lo = min(lo, v); hi = max(hi, v) }
            let mask = noisy[row]
            let bound = Tolerance.ParameterStatsBound(values: p.pointer, count: p.count, noisy: { mask[$0] }, learningRate: lr)
            totalNoisy += bound.noisy
            let r = (0..<5).map { Double(ref.pointer[row * 5 + $0]) }
            let got = [s, sa, sq, lo, hi]
            let limits = [bound.sum, bound.sumAbs, bound.sumSquares, bound.extreme, bound.extreme]
            var rowFails = false
            for k in 0..<5 {
                let e = abs(got[k] - r[k])
                worstAbs = max(worstAbs, e)
                worst = max(worst, limits[k] > 0 ? e / limits[k] : (e == 0 ? 0 : .infinity))
                if e > limits[k] { rowFails = true }
            }
            if rowFails {
                failedRows += 1
                if firstFailure == nil {
                    let ratios: [Double] = (0..<5).map { abs(got[$0] - r[$0]) / limits[$0] }
                    let k = ratios.indices.max { ratios[$0] < ratios[$1] } ?? 0
                    firstFailure = "\(names[row]) \(["Σx", "Σ|x|", "Σx²", "min", "max"][k]) off by "
                        + String(format: "%.3g (bound %.3g, %d rounding-noise values)", abs(got[k] - r[k]), limits[k], bound.noisy)
                }
            }
        }
        add(name, worstAbs, worst, failedRows == 0 ? .pass : .fail,
            "worst error/bound \(String(format: "%.3g", worst)) (relative column); sign-flip rule with \(totalNoisy) rounding-noise values"
            + (firstFailure.map { "; \(failedRows) rows outside, first \($0)" } ?? ""))
    }

    /// How many values of our gradients (before the D step) differ in sign from the reference's,
    /// over the values the fixture stores (full tensors, or the samples), and the largest reference
    /// |g| among them relative to that tensor's max|g|: evidence for the sign-flip rule.
    private func signComparison(_ parameters: [(String, Tensor)], prefix: String) -> (values: Int, differing: Int, worstRelative: Double) {
        var values = 0, differing = 0, worst = 0.0
        for (key, p) in parameters {
            guard let g = p.grad else { continue }
            let name = prefix + key
            var pairs: [(Float, Float)] = []
            var scale: Float = 0
            if fixture.has(name), let ref = try? fixture.tensor(name), ref.count == g.count {
                pairs = (0..<g.count).map { (g.pointer[$0], ref.pointer[$0]) }
                scale = ref.scalars.map(abs).max() ?? 0
            } else if let sampled = try? fixture.sampled(name) {
                pairs = zip(sampled.values, sampled.indices).compactMap { v, i in i < g.count ? (g.pointer[i], v) : nil }
                scale = sampled.scale
            }
            for (ours, ref) in pairs {
                values += 1
                if (ours > 0) != (ref > 0) && ours != ref {
                    differing += 1
                    if scale > 0 { worst = max(worst, Double(abs(ref) / scale)) }
                }
            }
        }
        return (values, differing, worst)
    }

    // MARK: the computation

    public func run() throws {
        let config = fixture.config
        let vocabulary = fixture.vocabularySize
        // Generator: key layout first, then the weights strictly.
        let netG = SynthesizerTrn(config: config, vocabularySize: vocabulary, generator: RandomGenerator(seed: 0))
        let expected = try VITSParameters.generator(config, vocabularySize: vocabulary)
        // Parameters in state-dict order; buffers (ms_istft's `dec.updown_filter`) by key and shape.
        let ours = netG.namedParameters().map { ($0.0, $0.1.shape) }
        let expectedParameters = expected.filter { !$0.isBuffer }
        let parameterKeys = Set(ours.map(\.0))
        let ourBuffers = netG.stateDict().filter { !parameterKeys.contains($0.key) }.mapValues(\.shape)
        let expectedBuffers = Dictionary(expected.filter(\.isBuffer).map { ($0.key, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let layoutOK = ours.map(\.0) == expectedParameters.map(\.key) && ours.map(\.1) == expectedParameters.map(\.shape)
            && ourBuffers == expectedBuffers
        add("layout.generator", layoutOK ? 0 : 1, layoutOK ? 0 : 1, layoutOK ? .pass : .fail,
            layoutOK ? "\(ours.count) parameters, \(ourBuffers.count) buffers"
                     : "module keys/shapes differ from the reference layout")
        try netG.load(fixture.generatorWeights(), strict: true)
        netG.eval()   // the fixture ran with dropout off
        let netD = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 0))
        // Regenerated weight_v tensors are verified against the bits the fixture records (throws otherwise).
        let discriminatorWeights = try fixture.verifiedDiscriminatorWeights()
        add("discriminator.weight_v", 0, 0, .pass, "\(discriminatorWeights.verified) regenerated tensors match the "
            + "recorded bound/scale bits, first 16 values (bit patterns), Σx and Σx²")
        try netD.load(discriminatorWeights.weights, strict: true)

        // Training forward with the recorded noise.
        let x = try fixture.integers("x")
        let tokens = IntTensor(shape: x.shape, values: x.values.map { Int32($0) })
        let xLengths = try fixture.integers("x_lengths").values
        let spec = try fixture.tensor("spec")
        let specLengths = try fixture.integers("spec_lengths").values
        let sid = fixture.has("sid") ? try fixture.integers("sid").values : nil
        let y = try fixture.tensor("y")
        for name in ["x", "x_lengths", "spec", "spec_lengths", "sid"] { input(name, "input of the training forward") }
        input("y", "input: the waveform, sliced at ids_slice·hop (compared as y_slice)")
        input("y_lengths", "input the model does not need: waveform lengths (y is only sliced inside the spectrogram lengths)")
        let noiseNames = fixture.names(.training).filter { $0.hasPrefix("noise.") }.sorted()
        for name in noiseNames { input(name, "recorded noise, replayed (consumption checked by noise.training)") }
        let draws = try noiseNames.map { try fixture.tensor($0) }

        var traced: [String: Tensor] = [:]
        let record: ModuleTrace = { name, t in traced[name] = t }
        var noise = ReplayNoise(draws)
        var out = try netG.forward(tokens: tokens, tokenLengths: xLengths, spec: spec, frameLengths: specLengths,
                                   speakers: sid, noise: noise, trace: record)
        let referenceAttention = try fixture.tensor("attn")
        if out.attention.scalars != referenceAttention.scalars {
            add("attn", 1, 1, .fail, "alignment differs from the reference; continuing with the reference's")
            traced = [:]
            noise = ReplayNoise(draws)
            out = try netG.forward(tokens: tokens, tokenLengths: xLengths, spec: spec, frameLengths: specLengths,
                                   speakers: sid, noise: noise, alignment: referenceAttention, trace: record)
        }
        checkConsumed(noise, of: draws.count, "noise.training")
        compareIntegers("ids_slice", out.sliceStarts)
        for (name, t) in traced.sorted(by: { $0.key < $1.key }) {
            let discrete = name == "attn" || name == "w" || name.hasSuffix("mask")
            compare(name, t, discrete ? .exact : .forward)
            compare("trace." + name, t, .forward)
        }

        // Losses (train.py, fp32), with the not-yet-updated discriminator as the fixture's main section.
        let hop = config.data.hopLength
        let mel = DifferentiableMel(config: config)
        let melTarget = noGrad { mel.melFromLinear(spec) }
        let yMel = sliceSegments(melTarget, starts: out.sliceStarts, size: config.segmentFrames)
        let ySlice = sliceSegments(y, starts: out.sliceStarts.map { $0 * hop }, size: config.train.segmentSize)
        let yHatMel = mel(out.yHat)
        compare("mel", melTarget, .forward); compare("y_mel", yMel, .forward)
        compare("y_slice", ySlice, .exact); compare("y_hat_mel", yHatMel, .forward)

        let (realD, fakeD) = netD.jointPass(real: ySlice, generated: out.yHat.detached(), featureMaps: true)
        let disc = VITSLoss.discriminator(real: realD.logits, generated: fakeD.logits)
        for i in realD.logits.indices {
            compare("y_d_hat_r.\(i)", realD.logits[i], .forward)
            compare("y_d_hat_g.\(i)", fakeD.logits[i], .forward)
            for j in realD.featureMaps[i].indices {
                compare("fmap_r.\(i).\(j)", realD.featureMaps[i][j], .forward)
            }
        }
        compare("loss_disc", disc.total, .forward)
        compare("losses_disc_r", Tensor.stack(disc.realTerms), .forward)
        compare("losses_disc_g", Tensor.stack(disc.generatedTerms), .forward)
        disc.total.backward()
        for (key, p) in netD.namedParameters() {
            if let g = p.grad { compare("dgrad." + key, g, .gradient) } else { add("dgrad." + key, .infinity, .infinity, .fail, "no gradient") }
        }
        let normD = GradientClipping.totalNorm(netD.parameters())

        // Generator losses and gradients with the same discriminator (its weight gradients are not needed).
        let realG = noGrad { netD(ySlice) }
        let fakeG = netD.withoutParameterGradients { netD(out.yHat) }
        for i in fakeG.featureMaps.indices {
            for j in fakeG.featureMaps[i].indices { compare("fmap_g.\(i).\(j)", fakeG.featureMaps[i][j], .forward) }
        }
        let gen = VITSLoss.generator(fakeG.logits)
        let fm = VITSLoss.featureMatching(real: realG.featureMaps, generated: fakeG.featureMaps)
        let lossMel = VITSLoss.mel(target: yMel, generated: yHatMel, weight: Float(config.train.cMel))
        let lossKL = VITSLoss.kl(zP: out.zP, logsQ: out.logsQ, mP: out.mP, logsP: out.logsP, mask: out.yMask) * Float(config.train.cKl)
        let lossDur = VITSLoss.duration(out.lLength)
        // The decoder's waveform losses the config selects (mb_istft: the sub-band STFT loss, weight 1,
        // added last as the authors' train_latest.py does).
        let waveform = WaveformLosses(config: config)
        if let yMB = waveform.subbandTarget(ySlice) { compare("y_mb", yMB, .forward) }
        let waveTerms = waveform.terms(generated: out.yHat, generatedBands: out.yHatSubbands, target: ySlice)
        for (name, term) in zip(waveform.names, waveTerms) { compare(Self.fixtureLossName(name), term, .forward) }
        let total = waveTerms.reduce(gen.total + fm + lossMel + lossDur + lossKL, +)
        compare("loss_gen", gen.total, .forward); compare("losses_gen", Tensor.stack(gen.terms), .forward)
        compare("loss_fm", fm, .forward); compare("loss_mel", lossMel, .forward); compare("loss_kl", lossKL, .forward)
        compare("loss_dur", lossDur, .forward); compare("loss_gen_all", total, .forward)
        total.backward()
        for (key, p) in netG.namedParameters() {
            if let g = p.grad { compare("grad." + key, g, .gradient) } else { add("grad." + key, .infinity, .infinity, .fail, "no gradient") }
        }

        // One full train.py iteration: D AdamW step, G-side pass with the updated D, G AdamW step.
        if fixture.has("step.d_param_stats") {
            let t = config.train
            let dParameters = netD.namedParameters()
            if let url = discriminatorGradientDump {
                try TensorFile.save(dParameters.compactMap { key, p in p.grad.map { ("dgrad." + key, $0) } }, to: url)
            }
            let dNoise = noiseMasks(dParameters, measuredPrefix: "dgrad.")
            let signs = signComparison(dParameters, prefix: "dgrad.")
            let optD = AdamW(parameters: netD.trainableParameters(), learningRate: t.learningRate,
                             betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
            optD.step()
            compare("step.grad_norm_d", Tensor(scalar: normD), .gradient)
            compareParameterStats("step.d_param_stats", dParameters, noisy: dNoise, learningRate: t.learningRate)
            if let i = lines.lastIndex(where: { $0.name == "step.d_param_stats" }) {
                lines[i].note = (lines[i].note ?? "") + String(format: "; D gradient signs vs the reference: %d of %d stored values differ, largest |g_ref| among them %.2e·max|g_ref|",
                                                               signs.differing, signs.values, signs.worstRelative)
            }
            netD.zeroGrad()
            let realS = noGrad { netD(ySlice) }
            // The G graph of the main section was consumed by its backward: recompute ŷ with the same noise.
            netG.zeroGrad()
            let stepNoise = ReplayNoise(draws)
            let again = try netG.forward(tokens: tokens, tokenLengths: xLengths, spec: spec, frameLengths: specLengths,
                                         speakers: sid, noise: stepNoise, alignment: out.attention)
            checkConsumed(stepNoise, of: draws.count, "noise.step")
            let fakeS = netD.withoutParameterGradients { netD(again.yHat) }
            for i in fakeS.logits.indices {
                compare("step.y_d_hat_r.\(i)", realS.logits[i], .forward)
                compare("step.y_d_hat_g.\(i)", fakeS.logits[i], .forward)
            }
            let genS = VITSLoss.generator(fakeS.logits)
            let fmS = VITSLoss.featureMatching(real: realS.featureMaps, generated: fakeS.featureMaps)
            let melS = VITSLoss.mel(target: yMel, generated: mel(again.yHat), weight: Float(t.cMel))
            let klS = VITSLoss.kl(zP: again.zP, logsQ: again.logsQ, mP: again.mP, logsP: again.logsP, mask: again.yMask) * Float(t.cKl)
            let waveS = waveform.terms(generated: again.yHat, generatedBands: again.yHatSubbands, target: ySlice)
            let totalS = waveS.reduce(genS.total + fmS + melS + VITSLoss.duration(again.lLength) + klS, +)
            compare("step.loss_gen", genS.total, .forward); compare("step.losses_gen", Tensor.stack(genS.terms), .forward)
            compare("step.loss_fm", fmS, .forward); compare("step.loss_gen_all", totalS, .forward)
            totalS.backward()
            let dPolluted = dParameters.filter { $0.1.grad != nil }.count
            add("step.d_untouched_by_g", Double(dPolluted), Double(dPolluted), dPolluted == 0 ? .pass : .fail,
                "discriminator parameters with a gradient after the generator backward (frozen while recorded): \(dPolluted)")
            compare("step.grad_norm_g", Tensor(scalar: GradientClipping.totalNorm(netG.parameters())), .gradient)
            let gParameters = netG.namedParameters()
            let gNoise = noiseMasks(gParameters, measuredPrefix: "grad.")
            let optG = AdamW(parameters: netG.trainableParameters(), learningRate: t.learningRate,
                             betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
            optG.step()
            compareParameterStats("step.g_param_stats", gParameters, noisy: gNoise, learningRate: t.learningRate)
            // Restore the initial weights for inference.
            try netG.load(fixture.generatorWeights(), strict: true)
        }

        // Inference with the recorded noise.
        let ix = try fixture.integers("x", in: .inference)
        let inferNoiseNames = fixture.names(.inference).filter { $0.hasPrefix("noise.") }.sorted()
        let inferDraws = try inferNoiseNames.map { try fixture.tensor($0, in: .inference) }
        for name in inferNoiseNames { input(name, "recorded noise, replayed (consumption checked by noise.inference)", part: .inference) }
        for name in ["x", "x_lengths", "sid"] { input(name, "input of inference", part: .inference) }
        func scalar(_ n: String, _ d: Float) throws -> Float {
            guard fixture.has(n, in: .inference) else { return d }
            input(n, "inference parameter", part: .inference)
            guard let v = try fixture.tensor(n, in: .inference).scalars.first else {
                throw ReferenceFixtureError.malformed("infer.safetensors: \(n) is empty, expected one value")
            }
            return v
        }
        var inferTrace: [String: Tensor] = [:]
        let inferNoise = ReplayNoise(inferDraws)
        let result = try netG.infer(tokens: IntTensor(shape: ix.shape, values: ix.values.map { Int32($0) }),
                                    tokenLengths: try fixture.integers("x_lengths", in: .inference).values,
                                    speakers: fixture.has("sid", in: .inference) ? try fixture.integers("sid", in: .inference).values : nil,
                                    noiseScale: try scalar("param.noise_scale", 0.667), lengthScale: try scalar("param.length_scale", 1),
                                    noiseScaleW: try scalar("param.noise_scale_w", 0.8), noise: inferNoise,
                                    trace: { inferTrace[$0] = $1 })
        checkConsumed(inferNoise, of: inferDraws.count, "noise.inference")
        let before = lines.count
        compareIntegers("y_lengths", result.frameLengths, part: .inference)
        for (name, t) in inferTrace.sorted(by: { $0.key < $1.key }) {
            let discrete = name == "attn" || name == "w_ceil" || name.hasSuffix("mask")
            compare(name, t, discrete ? .exact : .forward, part: .inference)
            compare("trace." + name, t, .forward, part: .inference)
        }
        for i in before..<lines.count { lines[i].name = "infer." + lines[i].name }
        accountForFixtureTensors()
    }

    /// The fixture name of a `WaveformLosses` term: `loss/g/subband` → `loss_subband` (train_latest.py's name).
    static func fixtureLossName(_ metric: String) -> String {
        "loss_" + (metric.split(separator: "/").last.map(String.init) ?? metric)
    }

    /// A line for the recorded draws: all of them must have been consumed, none left over.
    private func checkConsumed(_ noise: ReplayNoise, of count: Int, _ name: String) {
        let left = noise.remaining.count
        add(name, Double(left), Double(left), left == 0 ? .pass : .fail,
            left == 0 ? "all \(count) recorded draws consumed"
                      : "\(left) of \(count) recorded draws were not consumed (shapes \(noise.remaining.prefix(3).map(\.shape))): the model drew less noise than the reference")
    }

    /// Every fixture tensor is compared, an input, or listed in `skipped` (failing: nothing of ours matched it).
    private func accountForFixtureTensors() {
        for part in [ReferenceFixture.Part.training, .inference] {
            let prefix = part == .inference ? "infer." : ""
            let compared = Set(lines.compactMap { $0.name.hasPrefix(prefix) ? String($0.name.dropFirst(prefix.count)) : nil })
            let known = inputs[part] ?? [:]
            for name in fixture.names(part).sorted() {
                var base = name
                for suffix in [".sample", ".idx", ".stats", ".shape"] where name.hasSuffix(suffix) {
                    base = String(name.dropLast(suffix.count))
                }
                if compared.contains(name) || compared.contains(base) { continue }
                if let why = known[name] {
                    skipped.append(SkipLine(name: prefix + name, reason: why, fails: false))
                } else {
                    skipped.append(SkipLine(name: prefix + name, reason: "not compared: the model produced no tensor of this name", fails: true))
                }
            }
        }
    }

    /// The human-readable report: failures and outliers (every line with `verbose`), every fixture
    /// tensor not compared with its reason, then a summary.
    public func report(verbose: Bool) -> String {
        var out: [String] = []
        for l in lines where verbose || l.status != .pass {
            out.append(String(format: "%-60@ %10.3e %10.3e  %@%@", l.name as NSString, l.maxAbsError, l.relativeError,
                              l.status.rawValue.uppercased(), l.note.map { "  (\($0))" } ?? ""))
        }
        for s in skipped {
            out.append(String(format: "%-60@ %@  (%@)", s.name as NSString, s.fails ? "NOT COMPARED (FAIL)" : "not compared", s.reason))
        }
        // Relative errors only (not bound ratios, absolute errors or bookkeeping lines).
        let bookkeeping = ["layout.", "discriminator.weight_v", "noise.", "step.d_untouched_by_g"]
        let worst = lines.filter { l in
            l.status == .pass && l.note != Self.absoluteNote && !l.name.hasSuffix("_param_stats")
                && !bookkeeping.contains { l.name.hasPrefix($0) }
        }.max { $0.relativeError < $1.relativeError }
        out.append("\(lines.count) tensors compared: \(lines.filter { $0.status == .pass }.count) pass, "
                   + "\(outliers.count) outliers (at most \(Tolerance.maxOutliers)), \(failures.count) fail; "
                   + "\(skipped.count) fixture tensors not compared (\(failingSkips.count) of them failing)"
                   + (worst.map { String(format: "; worst passing rel %.2e (%@)", $0.relativeError, $0.name) } ?? ""))
        out.append(passed ? "PASS" : "FAIL")
        return out.joined(separator: "\n")
    }
}
