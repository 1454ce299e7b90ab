import Foundation
import XCTest
import Engine
import Features
import VITS
import ReferenceCheck

/// MultiPeriodDiscriminator, the losses, the differentiable mel and the segment slicing against the
/// reference fixtures (jaywalnut310/vits run in PyTorch; see each fixture's README), plus layout and
/// finite-difference checks.
final class DiscriminatorParityTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        Engine.configure()
    }

    // MARK: layout

    func testParameterLayoutEqualsReferenceKeyList() throws {
        // The reference discriminator (46.7 M parameters) once, and two narrowed ones.
        var narrowed = try Fixtures.config("tiny-sdp")
        narrowed.model.discriminatorWidthMultiplier = 0.25
        narrowed.model.discriminatorPeriods = [2, 3, 7]
        var half = try Fixtures.config("tiny-spk")
        half.model.discriminatorWidthMultiplier = 0.5
        for config in [try Fixtures.config("ljs_base"), narrowed, half] {
            let mpd = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 1))
            let ours = mpd.namedParameters().map { "\($0.0) \($0.1.shape)" }
            let reference = try VITSParameters.discriminator(config).map { "\($0.key) \($0.shape)" }
            XCTAssertEqual(ours, reference)
            XCTAssertEqual(mpd.periods, config.model.discriminatorPeriods)
            if config.model.discriminatorWidthMultiplier == 1 {
                XCTAssertEqual(mpd.parameterCount, 46_747_132)   // notes §2, vits-keys
            }
        }
    }

    // MARK: spectral norm (no reference config uses it and the fixtures do not cover it)

    func testSpectralNormLayout() throws {
        var config = try Fixtures.config("tiny-sdp")
        config.model.useSpectralNorm = true
        config.model.discriminatorWidthMultiplier = 0.25
        let mpd = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 4))
        let specs = try VITSParameters.discriminator(config)
        XCTAssertEqual(mpd.namedParameters().map { "\($0.0) \($0.1.shape)" },
                       specs.filter { !$0.isBuffer }.map { "\($0.key) \($0.shape)" })
        XCTAssertEqual(mpd.stateDict().mapValues(\.shape), Dictionary(uniqueKeysWithValues: specs.map { ($0.key, $0.shape) }))
        XCTAssertTrue(specs.contains { $0.key == "discriminators.1.convs.0.weight_u" && $0.isBuffer })
        // It runs and trains: every weight_orig gets a gradient.
        let out = mpd(RandomGenerator(seed: 5).randn([1, 1, 600]).multiplied(by: 0.1))
        VITSLoss.generator(out.logits).total.backward()
        XCTAssertTrue(mpd.namedParameters().allSatisfy { $0.1.grad != nil })
    }

    /// One training-mode call = one power iteration (v then u) and W / uᵀWv, against a Double loop.
    func testSpectralNormStepMatchesDoubleComputation() {
        let conv = SpectralNormConv(inChannels: 3, outChannels: 4, kernel: 5, padding: 2, periodConv: false, generator: RandomGenerator(seed: 6))
        let rows = 4, cols = 15
        let w: [Double] = conv.weightOrig.scalars.map(Double.init)
        var u: [Double] = conv.weightU.scalars.map(Double.init)
        var v = [Double](repeating: 0, count: cols)
        func normalize(_ x: inout [Double]) {
            var s = 0.0
            for e in x { s += e * e }
            let n = max(s.squareRoot(), 1e-12)
            for i in x.indices { x[i] /= n }
        }
        for j in 0..<cols { for i in 0..<rows { v[j] += w[i * cols + j] * u[i] } }
        normalize(&v)
        for i in 0..<rows {
            var s = 0.0
            for j in 0..<cols { s += w[i * cols + j] * v[j] }
            u[i] = s
        }
        normalize(&u)
        var sigma = 0.0
        for i in 0..<rows { for j in 0..<cols { sigma += u[i] * w[i * cols + j] * v[j] } }

        let weight = conv.normalizedWeight()
        for i in 0..<rows { XCTAssertEqual(Double(conv.weightU.pointer[i]), u[i], accuracy: 1e-6) }
        for j in 0..<cols { XCTAssertEqual(Double(conv.weightV.pointer[j]), v[j], accuracy: 1e-6) }
        for k in 0..<w.count {
            let expected = w[k] / sigma
            XCTAssertEqual(Double(weight.pointer[k]), expected, accuracy: 1e-5 * abs(expected) + 1e-7)
        }
    }

    /// Repeated training calls converge to the largest singular value; eval mode leaves u, v alone.
    func testSpectralNormConvergesAndEvalFreezes() {
        let conv = SpectralNormConv(inChannels: 3, outChannels: 4, kernel: 5, padding: 2, periodConv: false, generator: RandomGenerator(seed: 8))
        let singular: [Float] = [0.5, 3, 2, 1]            // W_mat row i = s_i · e_(3i): orthogonal rows
        for i in 0..<conv.weightOrig.count { conv.weightOrig.pointer[i] = 0 }
        for (i, s) in singular.enumerated() { conv.weightOrig.pointer[i * 15 + 3 * i] = s }
        for _ in 0..<40 { _ = conv.normalizedWeight() }
        let weight = conv.normalizedWeight()
        for (i, s) in singular.enumerated() { XCTAssertEqual(weight.pointer[i * 15 + 3 * i], s / 3, accuracy: 1e-5) }
        conv.eval()
        conv.weightU.pointer[0] += 0.25                    // a state the iteration would change
        let frozen = conv.weightU.scalars
        _ = conv(RandomGenerator(seed: 9).randn([1, 3, 7]))
        XCTAssertEqual(conv.weightU.scalars, frozen)
    }

    func testSpectralNormGradient() {
        let conv = SpectralNormConv(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: 1, periodConv: true, generator: RandomGenerator(seed: 10))
        // A few iterations first: with the random initial u, v, σ = uᵀWv can be near 0 and W/σ is
        // then too curved for finite differences. Eval mode fixes u, v so the function is deterministic.
        for _ in 0..<5 { _ = conv.normalizedWeight() }
        conv.eval()
        let x = RandomGenerator(seed: 11).randn([1, 2, 7, 2])
        x.requiresGrad = true
        let reports = GradientCheck.run(inputs: [x, conv.weightOrig, conv.bias]) { _ in conv(x) }
        for (i, r) in reports.enumerated() { XCTAssertLessThan(r.relativeError, 1e-2, "input \(i)") }
    }

    func testNarrowedDiscriminatorShapes() throws {
        var config = try Fixtures.config("tiny-sdp")
        config.model.discriminatorWidthMultiplier = 0.25
        let mpd = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 2))
        let audio = RandomGenerator(seed: 3).randn([2, 1, 1000]).multiplied(by: 0.1)
        let out = noGrad { mpd(audio) }
        XCTAssertEqual(out.logits.count, 6)
        XCTAssertEqual(out.featureMaps.map(\.count), [7, 6, 6, 6, 6, 6])
        XCTAssertEqual(out.featureMaps[0][4].shape, [2, 256, 4])      // 1024·0.25 channels, 1000/4⁴ → 4
        XCTAssertEqual(out.featureMaps[1][0].shape, [2, 8, 167, 2])   // 32·0.25, ⌈500/3⌉, period 2
        XCTAssertEqual(out.featureMaps[5][0].shape, [2, 8, 31, 11])   // 1000 padded to 1001 = 91·11
        XCTAssertEqual(out.logits[5].shape, [2, 2 * 11])   // 31 → 11 → 4 → 2 rows
    }

    /// The discriminator step's joint pass (real and generated as one batch) gives the two separate
    /// passes' logits, feature maps and weight gradients, to float rounding of the longer products.
    func testJointPassEqualsSeparatePasses() throws {
        var config = try Fixtures.config("tiny-sdp")
        config.model.discriminatorWidthMultiplier = 0.25
        let mpd = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 2))
        let real = RandomGenerator(seed: 3).randn([2, 1, 1000]).multiplied(by: 0.1)
        let generated = RandomGenerator(seed: 4).randn([2, 1, 1000]).multiplied(by: 0.1)
        func lossAndGrads(_ pass: () -> (real: DiscriminatorOutput, generated: DiscriminatorOutput)) -> ([Tensor], [[Tensor]], [[Float]]) {
            mpd.zeroGrad()
            let (r, g) = pass()
            VITSLoss.discriminator(real: r.logits, generated: g.logits).total.backward()
            return (r.logits + g.logits, r.featureMaps + g.featureMaps, mpd.parameters().map { $0.grad?.scalars ?? [] })
        }
        let separate = lossAndGrads { mpd(real: real, generated: generated) }
        let joint = lossAndGrads { mpd.jointPass(real: real, generated: generated, featureMaps: true) }
        func assertClose(_ a: [Float], _ b: [Float], _ what: String) {
            XCTAssertEqual(a.count, b.count, what)
            let scale = max(a.map(abs).max() ?? 0, 1e-12)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "\(what): worst difference \(worst) against max |value| \(scale)")
        }
        for (i, (a, b)) in zip(separate.0, joint.0).enumerated() {
            XCTAssertEqual(a.shape, b.shape); assertClose(a.scalars, b.scalars, "logits \(i)")
        }
        for (i, (a, b)) in zip(separate.1, joint.1).enumerated() {
            XCTAssertEqual(a.count, b.count)
            for (j, (x, y)) in zip(a, b).enumerated() { XCTAssertEqual(x.shape, y.shape); assertClose(x.scalars, y.scalars, "feature map \(i).\(j)") }
        }
        XCTAssertEqual(separate.2.count, joint.2.count)
        for (i, (a, b)) in zip(separate.2, joint.2).enumerated() {
            XCTAssertFalse(a.isEmpty, "parameter \(i) got no gradient"); assertClose(a, b, "gradient of parameter \(i)")
        }
        // Without feature maps the logits are the same tensors' values and the maps are left out.
        let lean = mpd.jointPass(real: real, generated: generated)
        XCTAssertTrue(lean.real.featureMaps.allSatisfy(\.isEmpty))
        assertClose(lean.generated.logits[3].scalars, joint.0[9].scalars, "lean logits")
    }

    // MARK: differentiable mel

    /// Same numbers as the Features target's FFT-based MelSpectrogram (the reference definition).
    func testMelMatchesFeaturesMelSpectrogram() throws {
        let config = try Fixtures.config("tiny-sdp")
        let d = config.data
        let mel = DifferentiableMel(config: config)
        var random = TestRandom(state: 99)
        let n = 4096
        var samples = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let t = Float(i) / Float(d.samplingRate)
            samples[i] = 0.3 * sinf(2 * .pi * 220 * t) + 0.1 * sinf(2 * .pi * 3100 * t) + 0.05 * (random.uniform() - 0.5)
        }
        let ours = mel(Tensor(shape: [1, 1, n], data: samples))
        let features = try MelSpectrogram(config: SpectrogramConfig(
            sampleRate: d.samplingRate, nFFT: d.filterLength, hopLength: d.hopLength, winLength: d.winLength,
            nMels: d.nMelChannels, fmin: d.melFmin, fmax: d.melFmax)).compute(samples)
        XCTAssertEqual(ours.shape, [1, features.rows, features.frames])
        var worst: Float = 0
        for i in 0..<ours.count { worst = max(worst, abs(ours.pointer[i] - features.values[i])) }
        XCTAssertLessThan(worst, 1e-4, "max |ours − Features| over \(ours.count) log-mel values")
    }

    /// Finite differences through reflect pad, STFT conv, magnitude, mel matmul, clamp and log.
    func testMelGradient() {
        let mel = DifferentiableMel(sampleRate: 8000, nFFT: 32, hopLength: 8, winLength: 24, nMels: 6, fmin: 0, fmax: 4000)
        let audio = RandomGenerator(seed: 21).randn([2, 1, 40]).multiplied(by: 0.5)
        audio.requiresGrad = true
        let report = GradientCheck.run(inputs: [audio], epsilon: 1e-3) { mel($0[0]) }[0]
        XCTAssertLessThan(report.relativeError, 2e-2, "max abs error \(report.maxAbsError)")
        XCTAssertTrue(report.numeric.contains { $0 != 0 })
    }

    // MARK: losses

    func testLossesOnHandValues() {
        let r = Tensor(shape: [1, 2], data: [0.5, 2]), g = Tensor(shape: [1, 2], data: [1, -1])
        let d = VITSLoss.discriminator(real: [r], generated: [g])
        XCTAssertEqual(d.total.item, ((0.25 + 1) / 2 + (1 + 1) / 2), accuracy: 1e-6)
        XCTAssertEqual(VITSLoss.generator([g]).total.item, (0 + 4) / 2, accuracy: 1e-6)
        let fm = VITSLoss.featureMatching(real: [[Tensor(shape: [2], data: [1, 2])]], generated: [[Tensor(shape: [2], data: [0, 5])]])
        XCTAssertEqual(fm.item, 2 * (1 + 3) / 2, accuracy: 1e-6)
        // KL with one valid frame of two: only t = 0 counts, divided by 1 frame (not frames × channels).
        let zP = Tensor(shape: [1, 2, 2], data: [1, 9, 0, 9]), mP = Tensor(zeros: [1, 2, 2])
        let logsP = Tensor(shape: [1, 2, 2], data: [0.5, 9, 0, 9]), logsQ = Tensor(shape: [1, 2, 2], data: [0.25, 9, 0, 9])
        let mask = Tensor(shape: [1, 1, 2], data: [1, 0])
        let expected = (0.5 - 0.25 - 0.5 + 0.5 * exp(-1.0)) + (0 - 0 - 0.5 + 0)
        XCTAssertEqual(Double(VITSLoss.kl(zP: zP, logsQ: logsQ, mP: mP, logsP: logsP, mask: mask).item), expected, accuracy: 1e-6)
        XCTAssertEqual(VITSLoss.duration(Tensor(shape: [2], data: [1.5, 2])).item, 3.5)
    }

    func testLossGradients() {
        let rng = RandomGenerator(seed: 31)
        let real = rng.randn([2, 5]), fake = rng.randn([2, 5])
        fake.requiresGrad = true
        let target = rng.randn([2, 3, 4]), fmap = rng.randn([2, 3, 4])
        fmap.requiresGrad = true
        let zP = rng.randn([2, 3, 4]), logsQ = rng.randn([2, 3, 4]), mP = rng.randn([2, 3, 4]), logsP = rng.randn([2, 3, 4])
        for t in [zP, logsQ, mP, logsP] { t.requiresGrad = true }
        let mask = Tensor(shape: [2, 1, 4], data: [1, 1, 1, 0, 1, 1, 0, 0])
        let checks: [([Tensor], ([Tensor]) -> Tensor)] = [
            ([fake], { VITSLoss.discriminator(real: [real], generated: [$0[0]]).total }),
            ([fake], { VITSLoss.generator([$0[0], $0[0].multiplied(by: 2)]).total }),
            ([fmap], { VITSLoss.featureMatching(real: [[target]], generated: [[$0[0]]]) }),
            ([fmap], { VITSLoss.mel(target: target, generated: $0[0], weight: 45) }),
            ([zP, logsQ, mP, logsP], { VITSLoss.kl(zP: $0[0], logsQ: $0[1], mP: $0[2], logsP: $0[3], mask: mask) }),
        ]
        for (i, (inputs, f)) in checks.enumerated() {
            for (j, report) in GradientCheck.run(inputs: inputs, epsilon: 1e-3, f).enumerated() {
                XCTAssertLessThan(report.relativeError, 1e-2, "loss \(i) input \(j)")
            }
        }
    }

    // MARK: reference fixtures

    func testTinySDP() throws { try checkFixture("tiny-sdp", step: true) }
    func testTinyDP() throws { try checkFixture("tiny-dp", step: false) }
    func testTinySpk() throws { try checkFixture("tiny-spk", step: false) }

    private func checkFixture(_ name: String, step: Bool) throws {
        let fixture = try ReferenceFixture(folder: Fixtures.url("reference/\(name)"))
        let config = fixture.config
        let compare = FixtureComparison(fixture: fixture, name: name)
        let hop = config.data.hopLength, segmentFrames = config.segmentFrames
        let ids = try fixture.integers("ids_slice").values

        // Segment slicing: the real audio and the decoder input are exact copies.
        let ySlice = sliceSegments(try fixture.tensor("y"), starts: ids.map { $0 * hop }, size: config.train.segmentSize)
        compare.exact("y_slice", ySlice)
        compare.exact("z_slice", sliceSegments(try fixture.tensor("enc_q.z"), starts: ids, size: segmentFrames))

        // Mels: target from the linear spectrogram, generated from ŷ through the conv STFT.
        let melOp = DifferentiableMel(config: config)
        let mel = melOp.melFromLinear(try fixture.tensor("spec"))
        compare.forward("mel", mel)
        let yMel = sliceSegments(mel, starts: ids, size: segmentFrames)
        compare.forward("y_mel", yMel)
        let yHat = try fixture.tensor("o")
        let yHatMel = melOp(yHat)
        compare.forward("y_hat_mel", yHatMel)

        // Discriminator with the fixture weights (weight_v regenerated).
        let mpd = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 0))
        let report = try mpd.load(fixture.discriminatorWeights(), strict: true)
        XCTAssertTrue(report.isComplete, "\(name): \(report)")

        let (real, generated) = mpd(real: ySlice, generated: yHat)   // ŷ is a leaf: detached, as in the D step
        for i in real.logits.indices {
            compare.forward("y_d_hat_r.\(i)", real.logits[i])
            compare.forward("y_d_hat_g.\(i)", generated.logits[i])
            for j in real.featureMaps[i].indices {
                compare.forward("fmap_r.\(i).\(j)", real.featureMaps[i][j])
                compare.forward("fmap_g.\(i).\(j)", generated.featureMaps[i][j])
            }
        }

        // Losses.
        let disc = VITSLoss.discriminator(real: real.logits, generated: generated.logits)
        compare.forward("loss_disc", disc.total)
        compare.forward("losses_disc_r", Tensor.stack(disc.realTerms))
        compare.forward("losses_disc_g", Tensor.stack(disc.generatedTerms))
        let lossMel = VITSLoss.mel(target: yMel, generated: yHatMel, weight: Float(config.train.cMel))
        let lossKL = VITSLoss.kl(zP: try fixture.tensor("flow.z_p"), logsQ: try fixture.tensor("enc_q.logs_q"),
                                 mP: try fixture.tensor("prior.m_p"), logsP: try fixture.tensor("prior.logs_p"),
                                 mask: try fixture.tensor("enc_q.y_mask")) * Float(config.train.cKl)
        let lossDur = VITSLoss.duration(try fixture.tensor("l_length"))
        compare.forward("loss_mel", lossMel)
        compare.forward("loss_kl", lossKL)
        compare.forward("loss_dur", lossDur)
        noGrad {
            let gen = VITSLoss.generator(generated.logits)
            let fm = VITSLoss.featureMatching(real: real.featureMaps, generated: generated.featureMaps)
            compare.forward("loss_gen", gen.total)
            compare.forward("losses_gen", Tensor.stack(gen.terms))
            compare.forward("loss_fm", fm)
            compare.forward("loss_gen_all", gen.total + fm + lossMel + lossDur + lossKL)
        }

        // Discriminator gradients of loss_disc.
        disc.total.backward()
        for (key, parameter) in mpd.namedParameters() {
            compare.gradient("dgrad.\(key)", try XCTUnwrap(parameter.grad, "\(name): no gradient for \(key)"))
        }
        let normD = GradientClipping.totalNorm(mpd.parameters())
        compare.gradient("step.grad_norm_d", Tensor(scalar: normD))

        if step {
            // One AdamW step of D (train.py hyperparameters, torch's default weight decay 0.01), then
            // the generator-side pass with the updated D.
            let t = config.train
            let optimizer = AdamW(parameters: mpd.trainableParameters(), learningRate: t.learningRate,
                                  betas: (t.betas[0], t.betas[1]), eps: t.eps, weightDecay: 0.01)
            optimizer.step()
            compare.parameterStats("step.d_param_stats", mpd.namedParameters().map(\.1), learningRate: t.learningRate)
            noGrad {
                let (real, generated) = mpd(real: ySlice, generated: yHat)
                for i in real.logits.indices {
                    compare.forward("step.y_d_hat_r.\(i)", real.logits[i])
                    compare.forward("step.y_d_hat_g.\(i)", generated.logits[i])
                }
                let gen = VITSLoss.generator(generated.logits)
                let fm = VITSLoss.featureMatching(real: real.featureMaps, generated: generated.featureMaps)
                compare.forward("step.loss_gen", gen.total)
                compare.forward("step.losses_gen", Tensor.stack(gen.terms))
                compare.forward("step.loss_fm", fm)
                compare.forward("step.loss_gen_all", gen.total + fm + lossMel + lossDur + lossKL)
            }
        }
        compare.finish()
    }
}

/// Comparison of our tensors with a fixture's, with the README's tolerances: forward 1e-4·max|ref|,
/// gradients 1e-3·max|ref| with at most 5 kink-crossing outliers up to 5e-2 (printed).
private final class FixtureComparison {
    let fixture: ReferenceFixture
    let name: String
    var outliers: [String] = []
    var compared = 0
    /// Largest error relative to max|ref| seen per kind, with its tensor (printed by `finish`).
    var worstForward: (Float, String) = (0, "-")
    var worstGradient: (Float, String) = (0, "-")

    init(fixture: ReferenceFixture, name: String) { self.fixture = fixture; self.name = name }

    /// (max |ours − ref| over the compared elements, scale max|ref|), for full or sampled references.
    private func error(_ key: String, _ ours: Tensor, file: StaticString, line: UInt) -> (Float, Float)? {
        do {
            if let sampled = try fixture.sampled(key) {
                let shape = try fixture.integers(key + ".shape").values
                XCTAssertEqual(ours.shape, shape, "\(name) \(key): shape", file: file, line: line)
                guard ours.shape == shape else { return nil }
                var worst: Float = 0
                for (value, index) in zip(sampled.values, sampled.indices) { worst = max(worst, abs(ours.pointer[index] - value)) }
                checkStats(key, ours, file: file, line: line)
                return (worst, sampled.scale)
            }
            let reference = try fixture.tensor(key)
            XCTAssertEqual(ours.count, reference.count, "\(name) \(key): size (ours \(ours.shape), ref \(reference.shape))", file: file, line: line)
            guard ours.count == reference.count else { return nil }
            var worst: Float = 0, scale: Float = 0
            for i in 0..<ours.count {
                worst = max(worst, abs(ours.pointer[i] - reference.pointer[i]))
                scale = max(scale, abs(reference.pointer[i]))
            }
            return (worst, scale)
        } catch {
            XCTFail("\(name) \(key): \(error)", file: file, line: line)
            return nil
        }
    }

    /// The full tensor's [Σx, Σ|x|, Σx², min, max] against `.stats` (rtol 1e-4; Σ|x| scales Σx).
    private func checkStats(_ key: String, _ ours: Tensor, file: StaticString, line: UInt) {
        guard let stats = try? fixture.tensor(key + ".stats").scalars.map(Double.init) else { return }
        var sum = 0.0, sumAbs = 0.0, sumSq = 0.0, lo = Double.infinity, hi = -Double.infinity
        for i in 0..<ours.count {
            let v = Double(ours.pointer[i])
            sum += v; sumAbs += abs(v); sumSq += v * v; lo = min(lo, v); hi = max(hi, v)
        }
        let scale = max(abs(stats[3]), abs(stats[4]))
        XCTAssertEqual(sum, stats[0], accuracy: 1e-4 * stats[1], "\(name) \(key): Σx", file: file, line: line)
        XCTAssertEqual(sumAbs, stats[1], accuracy: 1e-4 * stats[1], "\(name) \(key): Σ|x|", file: file, line: line)
        XCTAssertEqual(sumSq, stats[2], accuracy: 1e-4 * stats[2], "\(name) \(key): Σx²", file: file, line: line)
        XCTAssertEqual(lo, stats[3], accuracy: 1e-4 * scale, "\(name) \(key): min", file: file, line: line)
        XCTAssertEqual(hi, stats[4], accuracy: 1e-4 * scale, "\(name) \(key): max", file: file, line: line)
    }

    func exact(_ key: String, _ ours: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        guard let (worst, _) = error(key, ours, file: file, line: line) else { return }
        compared += 1
        XCTAssertEqual(worst, 0, "\(name) \(key): not an exact copy", file: file, line: line)
    }

    func forward(_ key: String, _ ours: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        guard let (worst, scale) = error(key, ours, file: file, line: line) else { return }
        compared += 1
        if worst / max(scale, .leastNormalMagnitude) > worstForward.0 { worstForward = (worst / max(scale, .leastNormalMagnitude), key) }
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name) \(key): max abs error \(worst), max|ref| \(scale)", file: file, line: line)
    }

    func gradient(_ key: String, _ ours: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        guard let (worst, scale) = error(key, ours, file: file, line: line) else { return }
        compared += 1
        let relative = worst / max(scale, .leastNormalMagnitude)
        if relative > worstGradient.0 { worstGradient = (relative, key) }
        if relative > 1e-3 {
            XCTAssertLessThanOrEqual(relative, 5e-2, "\(name) \(key): relative error \(relative)", file: file, line: line)
            outliers.append("\(key) \(relative)")
        }
    }

    /// `step.*_param_stats` rows (parameters in state-dict order) with the README's absolute
    /// tolerances: lr·√n for Σ and Σ|x|, lr for min/max, 2·lr·√n·max|x| for Σx².
    func parameterStats(_ key: String, _ parameters: [Tensor], learningRate lr: Double,
                        file: StaticString = #filePath, line: UInt = #line) {
        guard let reference = try? fixture.tensor(key) else { XCTFail("\(name): no \(key)", file: file, line: line); return }
        XCTAssertEqual(reference.shape, [parameters.count, 5], "\(name) \(key)", file: file, line: line)
        guard reference.shape == [parameters.count, 5] else { return }
        compared += 1
        for (row, p) in parameters.enumerated() {
            var sum = 0.0, sumAbs = 0.0, sumSq = 0.0, lo = Double.infinity, hi = -Double.infinity
            for i in 0..<p.count {
                let v = Double(p.pointer[i])
                sum += v; sumAbs += abs(v); sumSq += v * v; lo = min(lo, v); hi = max(hi, v)
            }
            let ref = (0..<5).map { Double(reference.pointer[row * 5 + $0]) }
            let rootN = Double(p.count).squareRoot(), maxAbs = max(abs(ref[3]), abs(ref[4]))
            let what = "\(name) \(key) row \(row)"
            XCTAssertEqual(sum, ref[0], accuracy: lr * rootN, what, file: file, line: line)
            XCTAssertEqual(sumAbs, ref[1], accuracy: lr * rootN, what, file: file, line: line)
            XCTAssertEqual(sumSq, ref[2], accuracy: 2 * lr * rootN * maxAbs, what, file: file, line: line)
            XCTAssertEqual(lo, ref[3], accuracy: lr, what, file: file, line: line)
            XCTAssertEqual(hi, ref[4], accuracy: lr, what, file: file, line: line)
        }
    }

    func finish(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(outliers.count, 5, "\(name): too many gradient outliers: \(outliers)", file: file, line: line)
        print("\(name): compared \(compared) tensors; worst forward rel \(worstForward.0) (\(worstForward.1)), worst gradient rel \(worstGradient.0) (\(worstGradient.1)); gradient outliers (1e-3 < rel ≤ 5e-2): \(outliers.isEmpty ? "none" : outliers.joined(separator: ", "))")
    }
}
