import XCTest
import Foundation
import Engine
@testable import VITS

/// The full-band multi-resolution STFT loss (`train.c_stft`) against analytic truth, and its config keys.
final class FullBandSTFTLossTests: XCTestCase {
    /// For ŷ = a·y every STFT magnitude scales by a (no bin near the 1e-7 floor for a noise signal),
    /// so each resolution's spectral convergence is |1 − a| and its log-magnitude distance |ln a|.
    func testScaledSignalGivesTheAnalyticLoss() {
        Engine.configure()
        let target = RandomGenerator(seed: 3).randn([2, 1, 4096]) * 0.3
        let loss = MultiResolutionSTFTLoss(.parallelWaveGAN)
        for a: Float in [1, 0.5, 1.7] {
            let value = VITSLoss.fullBand(generated: target * a, target: target, loss: loss).scalars[0]
            let expected = abs(1 - a) + abs(log(a))
            XCTAssertEqual(value, expected, accuracy: 2e-5 * max(1, expected), "a = \(a)")
        }
    }

    /// A harmonic series at 100 Hz against one at 86 Hz (the frame rate of hop 256 at 22.05 kHz,
    /// where an untrained HiFi-GAN buzzes): the 2048-point resolution separates them far more
    /// than a copy of the right pitch 20 % too loud.
    func testWrongPitchCostsMoreThanWrongLevel() {
        Engine.configure()
        // 30 harmonics plus a little white noise, so that no STFT bin sits at the magnitude floor
        // (there the loss no longer scales with the gain).
        let n = 8192, sr = 22050.0
        let noise = RandomGenerator(seed: 11).randn([n]).scalars
        func harmonics(_ f0: Double, gain: Double = 1) -> Tensor {
            let values = (0..<n).map { i -> Float in
                let tone = (1...30).reduce(0.0) { $0 + sin(2 * .pi * f0 * Double($1) * Double(i) / sr) / Double($1) } * 0.1
                return Float(gain * (tone + 1e-3 * Double(noise[i])))
            }
            return Tensor(shape: [1, 1, n], data: values)
        }
        let loss = MultiResolutionSTFTLoss(.parallelWaveGAN)
        let target = harmonics(100)
        let wrongPitch = VITSLoss.fullBand(generated: harmonics(86), target: target, loss: loss).scalars[0]
        let louder = VITSLoss.fullBand(generated: harmonics(100, gain: 1.2), target: target, loss: loss).scalars[0]
        XCTAssertEqual(louder, 0.2 + log(1.2), accuracy: 1e-3)
        XCTAssertGreaterThan(wrongPitch, 2 * louder)   // 0.99 against 0.38 in a numpy recomputation
    }

    func testConfigKeys() throws {
        let base = try Fixtures.text("configs/ljs_base.json")
        let plain = try VITSConfig.parse(Data(base.utf8))
        XCTAssertEqual(plain.train.cSTFT, 0)
        XCTAssertEqual(plain.train.stftLoss, .parallelWaveGAN)
        XCTAssertEqual(WaveformLosses(config: plain).names, [])

        let withLoss = base.replacingOccurrences(of: "\"c_mel\": 45,", with: "\"c_mel\": 45, \"c_stft\": 2.5, \"stft_fft_sizes\": [256, 512], \"stft_hop_sizes\": [64, 128], \"stft_win_lengths\": [256, 400],")
        XCTAssertNotEqual(withLoss, base, "the fixture's c_mel line moved")
        let config = try VITSConfig.parse(Data(withLoss.utf8))
        XCTAssertEqual(config.train.cSTFT, 2.5)
        XCTAssertEqual(config.train.stftLoss, STFTLossResolutions(fftSizes: [256, 512], hopSizes: [64, 128], winLengths: [256, 400]))
        XCTAssertFalse(config.warnings.contains { $0.contains("unknown key") }, "\(config.warnings)")
        XCTAssertEqual(WaveformLosses(config: config).names, ["loss/g/stft"])

        var bad = config
        bad.train.stftLoss.fftSizes = [256, 2 * config.train.segmentSize]
        XCTAssertThrowsError(try bad.validate()) { error in
            XCTAssertTrue("\(error)".contains("train.stft_fft_sizes") && "\(error)".contains("resolution 1"), "\(error)")
        }
        bad = config
        bad.train.stftLoss.hopSizes = [64]
        XCTAssertThrowsError(try bad.validate()) { error in XCTAssertTrue("\(error)".contains("train.stft_fft_sizes"), "\(error)") }
        bad = config
        bad.train.cSTFT = -1
        XCTAssertThrowsError(try bad.validate()) { error in XCTAssertTrue("\(error)".contains("train.c_stft"), "\(error)") }
        bad.train.cSTFT = 0
        bad.train.stftLoss.hopSizes = [64]
        XCTAssertNoThrow(try bad.validate(), "resolutions of a loss that is off are not checked")
    }
}
