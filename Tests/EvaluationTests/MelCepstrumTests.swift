import XCTest
import Foundation
import Evaluation

/// Mel-cepstral analysis against pysptk (fixture from scripts/fixtures/make_evaluation_fixtures.py).
final class MelCepstrumTests: XCTestCase {
    struct Fixture: Decodable {
        var alphas: [String: Double]
        var fft_size: Int
        var alpha: Double
        var order: Int
        var power: [Double]
        var mel_cepstrum: [Double]
    }

    func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/melcepstrum", withExtension: "json"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testAlphaMatchesSPTKMcepalpha() throws {
        for (rate, expected) in try fixture().alphas {
            XCTAssertEqual(MelCepstrum.alpha(sampleRate: try XCTUnwrap(Int(rate))), expected, accuracy: 1e-9, "rate \(rate)")
        }
    }

    /// sp2mc of an all-pole power spectrum: every coefficient as pysptk computes it (float64 there
    /// and here; the bound covers FFT rounding only).
    func testSp2mcMatchesPysptk() throws {
        let f = try fixture()
        let mc = MelCepstrum.fromPowerSpectra(f.power, fftSize: f.fft_size, order: f.order, alpha: f.alpha)
        XCTAssertEqual(mc.count, f.order + 1)
        for (k, (ours, theirs)) in zip(mc, f.mel_cepstrum).enumerated() {
            XCTAssertEqual(ours, theirs, accuracy: 1e-9, "coefficient \(k)")
        }
    }

    /// With α = 0 the warping is the identity: freqt returns the input cepstrum truncated to the order.
    func testFreqtWithZeroAlphaIsTruncation() {
        let input: [Double] = [0.5, -0.25, 0.125, 0.0625, -0.03125, 0.015625]
        var output = [Double](repeating: 0, count: 4), scratch = [Double](repeating: 0, count: 4)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    MelCepstrum.freqt(i.baseAddress!, count: input.count, order: 3, alpha: 0,
                                      output: o.baseAddress!, previous: s.baseAddress!)
                }
            }
        }
        XCTAssertEqual(output, Array(input.prefix(4)))
    }
}
