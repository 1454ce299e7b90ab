import XCTest
import Engine
import VITS

/// The pieces of pitch excitation against analytic values: the harmonic source, the position
/// features, the pitch loss, F0 from a prediction, and the decoder's source path.
final class PitchExcitationTests: XCTestCase {
    /// Replayed draws make every sample predictable: sines of k·F0 accumulated per sample from the
    /// drawn initial phase (the fundamental's is 0), σ·noise added where voiced, (A/3)·noise where
    /// unvoiced, silence above Nyquist.
    func testHarmonicSourceMatchesItsDefinition() throws {
        let settings = PitchSettings(enabled: true, harmonics: 2, sineAmplitude: 0.1, noiseStd: 0.003)
        let source = HarmonicSource(settings: settings, sampleRate: 8000)
        let hop = 4, frames = 3, channels = 3
        let f0 = Tensor(shape: [1, frames], data: [200, 0, 1500])   // 3·1500 Hz is above Nyquist (4 kHz)
        let phases: [Float] = [0.9, 0.25, 0.5]
        let noise = (0..<(channels * frames * hop)).map { Float($0 % 7) - 3 }
        let replay = ReplayNoise([Tensor(shape: [1, channels], data: phases),
                                  Tensor(shape: [1, channels, frames * hop], data: noise)])
        let out = try source(f0: f0, samplesPerFrame: hop, noise: replay).scalars
        XCTAssertTrue(replay.remaining.isEmpty)
        for k in 0..<channels {
            var phase = k == 0 ? 0 : Double(phases[k])
            for t in 0..<frames {
                let hz = Double([200, 0, 1500][t])
                for n in 0..<hop {
                    let i = k * frames * hop + t * hop + n
                    let expected: Double
                    if hz == 0 {
                        expected = 0.1 / 3 * Double(noise[i])
                    } else {
                        phase += Double(k + 1) * hz / 8000
                        let tone = Double(k + 1) * hz < 4000 ? 0.1 * sin(2 * .pi * phase) : 0
                        expected = tone + 0.003 * Double(noise[i])
                    }
                    XCTAssertEqual(Double(out[i]), expected, accuracy: 1e-6, "harmonic \(k), frame \(t), sample \(n)")
                }
            }
        }
    }

    func testPositionsAreFractionsOfEachToken() {
        let durations = Tensor(shape: [1, 1, 3], data: [2, 0, 3])
        let p = PitchPredictor.positions(durations: durations, frames: 6).scalars
        let fraction: [Float] = [0.25, 0.75, 1.0 / 6, 0.5, 5.0 / 6, 0]
        let logCount: [Float] = [log(2), log(2), log(3), log(3), log(3), 0]
        for t in 0..<6 {
            XCTAssertEqual(p[t], fraction[t], accuracy: 1e-6)
            XCTAssertEqual(p[6 + t], logCount[t], accuracy: 1e-6)
        }
    }

    /// L1 on log(F0/100) over frames voiced in the target; BCE of the voicing logit over valid frames.
    func testPitchLossValueAndGradient() {
        let prediction = Tensor(shape: [1, 2, 3], data: [0.1, -0.2, 0.3, 2, -1, 0.5], requiresGrad: true)
        let f0 = Tensor(shape: [1, 3], data: [100, 0, 200])
        let mask = Tensor(shape: [1, 1, 3], data: [1, 1, 0])
        let (l1, bce) = PitchLoss.terms(prediction: prediction, f0: f0, mask: mask)
        // Only frame 0 is voiced and valid: |0.1 − log 1| = 0.1.
        XCTAssertEqual(l1.item, 0.1, accuracy: 1e-6)
        func softplus(_ x: Double) -> Double { log(1 + exp(x)) }
        let expectedBCE = ((softplus(2) - 2) + softplus(-1)) / 2
        XCTAssertEqual(Double(bce.item), expectedBCE, accuracy: 1e-6)
        (l1 + bce).backward()
        let g = prediction.grad!.scalars
        XCTAssertEqual(g[0], 1, accuracy: 1e-6)                          // d|x − 0|/dx at 0.1
        XCTAssertEqual(g[1], 0); XCTAssertEqual(g[2], 0)                 // unvoiced, masked
        XCTAssertEqual(Double(g[3]), (1 / (1 + exp(-2.0)) - 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(Double(g[4]), (1 / (1 + exp(1.0))) / 2, accuracy: 1e-6)
        XCTAssertEqual(g[5], 0)
    }

    func testFrequenciesFromAPrediction() {
        let prediction = Tensor(shape: [1, 2, 3], data: [0, log(1.5), 0.2, 1, 3, -2])
        let mask = Tensor(shape: [1, 1, 3], data: [1, 1, 1])
        let hz = PitchPredictor.frequencies(prediction, mask: mask).scalars
        XCTAssertEqual(hz[0], 100, accuracy: 1e-4)
        XCTAssertEqual(hz[1], 150, accuracy: 1e-3)
        XCTAssertEqual(hz[2], 0)
    }

    /// The source convolutions bring the sample-rate excitation to every stage's rate and width,
    /// and the excitation changes the output (it is not ignored).
    func testGeneratorSourcePath() {
        let settings = PitchSettings(enabled: true, harmonics: 3)
        let gen = Generator(initialChannel: 4, resblock: .two, resblockKernelSizes: [3], resblockDilationSizes: [[1, 2]],
                            upsampleRates: [4, 2, 2], upsampleInitialChannel: 16, upsampleKernelSizes: [8, 4, 4],
                            generator: RandomGenerator(seed: 1))
        gen.addPitchExcitation(settings, generator: RandomGenerator(seed: 4))
        let keys = gen.stateDict()
        XCTAssertEqual(keys["m_source.merge.weight"]?.shape, [1, 4, 1])
        XCTAssertEqual(keys["noise_convs.0.weight"]?.shape, [8, 1, 8])    // stride 4 = 2·2, kernel 8
        XCTAssertEqual(keys["noise_convs.1.weight"]?.shape, [4, 1, 4])    // stride 2
        XCTAssertEqual(keys["noise_convs.2.weight"]?.shape, [2, 1, 1])    // last stage: 1×1
        let z = RandomGenerator(seed: 2).randn([1, 4, 5])
        let a = noGrad { gen(z, excitation: Tensor(zeros: [1, 4, 80])) }
        let b = noGrad { gen(z, excitation: RandomGenerator(seed: 3).randn([1, 4, 80])) }
        XCTAssertEqual(a.shape, [1, 1, 80])
        XCTAssertNotEqual(a.scalars, b.scalars)
    }
}
