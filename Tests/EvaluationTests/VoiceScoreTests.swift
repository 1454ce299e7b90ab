import XCTest
import Foundation
import Audio
import Evaluation

final class VoiceScoreTests: XCTestCase {
    func fixtureURL(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    }

    /// The same signal against itself: zero distortion, zero pitch error, full voicing agreement.
    func testIdenticalSignalsScoreZero() throws {
        let audio = try AudioFile.read(fixtureURL("pair/ref.wav"))
        let score = try VoiceScorer.score(synthesized: audio, recorded: audio)
        XCTAssertEqual(score.mcdDecibels, 0, accuracy: 1e-12)
        XCTAssertEqual(score.logF0RMSECents ?? 0, 0, accuracy: 1e-9)
        XCTAssertEqual(score.voicingDisagreement, 0)
        XCTAssertEqual(score.durationRatio, 1)
    }

    /// A pair of two espeak-ng voices against the acceptance scorer (pyworld Harvest + CheapTrick +
    /// pysptk sp2mc + DTW) on the same files: MCD within the ±0.5 dB agreement target, the duration
    /// ratio exactly. Half of this short pair's frames are digital silence, so it also checks that
    /// silent frames get independent noise floors per signal, as in WORLD.
    func testPairAgreesWithScorer() throws {
        struct Expected: Decodable { var mcd_db: Double; var dur_ratio: Double }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtureURL("pair.json")))
        let score = try VoiceScorer.score(synthesizedFile: fixtureURL("pair/synth.wav"), recordedFile: fixtureURL("pair/ref.wav"))
        XCTAssertEqual(score.mcdDecibels, expected.mcd_db, accuracy: 0.5)
        XCTAssertEqual(score.durationRatio, expected.dur_ratio, accuracy: 0.0005)
    }

    /// The figure rises with degradation: more noise, larger MCD.
    func testMCDGrowsWithNoise() throws {
        let clean = try AudioFile.read(fixtureURL("pair/ref.wav"))
        var noise = TestNoise(seed: 11)
        let power = clean.samples.reduce(0) { $0 + Double($1) * Double($1) } / Double(clean.samples.count)
        func noisy(_ snr: Double) -> MonoAudio {
            let sigma = (power / Foundation.pow(10, snr / 10)).squareRoot()
            return MonoAudio(samples: clean.samples.map { $0 + Float(sigma * noise.nextGaussian()) }, sampleRate: clean.sampleRate)
        }
        let mild = try VoiceScorer.score(synthesized: noisy(20), recorded: clean).mcdDecibels
        let strong = try VoiceScorer.score(synthesized: noisy(0), recorded: clean).mcdDecibels
        XCTAssertGreaterThan(mild, 0.1)
        XCTAssertGreaterThan(strong, mild + 1)
    }

    func testTooShortAudioIsAnError() {
        let blip = MonoAudio(samples: [Float](repeating: 0.1, count: 100), sampleRate: 22_050)
        XCTAssertThrowsError(try VoiceScorer.score(synthesized: blip, recorded: blip))
    }
}
