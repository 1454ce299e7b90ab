import XCTest
import Foundation
import Evaluation

/// F0 of signals whose F0 is known analytically. Tolerance: 1 % (17 cents), well inside a
/// semitone, far tighter than the errors the metric is meant to show (hundreds of cents).
final class PitchEstimatorTests: XCTestCase {
    let rate = 22_050

    func voicedFrames(_ f0: [Double]) -> [Double] { f0.filter { $0 > 0 } }

    func testSineF0() {
        for frequency in [110.0, 220.0, 330.0] {
            let x = (0..<rate / 2).map { 0.5 * sin(2 * Double.pi * frequency * Double($0) / Double(rate)) }
            let f0 = PitchEstimator(sampleRate: rate).estimate(x)
            XCTAssertEqual(f0.count, Int(0.5 / 0.005) + 1)
            // All frames whose analysis window lies inside the signal are voiced at the right pitch.
            let inner = f0[10..<(f0.count - 10)]
            XCTAssertTrue(inner.allSatisfy { $0 > 0 }, "\(frequency) Hz: unvoiced frames inside the tone")
            for v in inner { XCTAssertEqual(v, frequency, accuracy: frequency * 0.01) }
        }
    }

    /// A pulse train (rich harmonics, the shape YIN's octave errors come from) at a non-integer period.
    func testPulseTrainF0() {
        let frequency = 97.3
        var x = [Double](repeating: 0, count: rate / 2)
        var t = 0.0
        while Int(t) < x.count { x[Int(t)] = 1; t += Double(rate) / frequency }
        let f0 = PitchEstimator(sampleRate: rate).estimate(x)
        let inner = f0[10..<(f0.count - 10)]
        XCTAssertTrue(inner.allSatisfy { $0 > 0 })
        for v in inner { XCTAssertEqual(v, frequency, accuracy: frequency * 0.01) }
    }

    func testSilenceAndNoiseAreUnvoiced() {
        XCTAssertTrue(PitchEstimator(sampleRate: rate).estimate([Double](repeating: 0, count: rate / 4)).allSatisfy { $0 == 0 })
        var noise = TestNoise(seed: 7)
        let x = (0..<rate / 2).map { _ in 0.1 * noise.nextGaussian() }
        let voiced = voicedFrames(PitchEstimator(sampleRate: rate).estimate(x)).count
        XCTAssertLessThan(voiced, 5, "white noise should be (almost) entirely unvoiced")
    }
}
