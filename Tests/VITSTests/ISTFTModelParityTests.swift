import XCTest
import Engine
import VITS
import ReferenceCheck

/// The assembled model with an iSTFT decoder against the MB-iSTFT-VITS authors' code: the whole
/// `vits check-reference` procedure on `Fixtures/reference/tiny-mb-istft` (written by
/// scripts/fixtures/make_istft_reference.py from their models.py / train_latest.py): every
/// intermediate, loss (the sub-band STFT loss included), G and D gradient, one AdamW step of each,
/// and inference, with the VITS tolerances.
final class ISTFTModelParityTests: XCTestCase {
    private func check(_ name: String, decoder: DecoderKind) throws -> ReferenceCheck {
        Engine.configure()
        let check = try ReferenceCheck(folder: ReferenceFixtureTests.folder(name))
        XCTAssertEqual(check.fixture.config.model.decoder.kind, decoder, "\(name): the decoder kind comes from the config")
        try check.run()
        print(check.report(verbose: false))
        XCTAssertTrue(check.passed, "\(name):\n\(check.report(verbose: false))")
        XCTAssertTrue(check.failingSkips.isEmpty, "\(check.failingSkips)")
        // every generator parameter's gradient and every discriminator one was compared
        let parameters = try check.fixture.generatorWeights().count
        XCTAssertEqual(check.lines.filter { $0.name.hasPrefix("grad.") }.count, parameters)
        XCTAssertEqual(check.lines.filter { $0.name.hasPrefix("dgrad.") && !$0.name.hasSuffix(".stats") }.count, 111)
        for name in ["o", "o_mb", "loss_gen_all", "step.loss_gen_all", "step.g_param_stats", "step.d_param_stats", "infer.o", "infer.o_mb"] {
            XCTAssertEqual(check.lines.first { $0.name == name }?.status, .pass, "\(name) compared and within tolerance")
        }
        return check
    }

    func testTinyMBISTFT() throws {
        let check = try check("tiny-mb-istft", decoder: .mbISTFT)
        // the sub-band STFT loss of train_latest.py, its PQMF target, and the post conv's trace
        for name in ["loss_subband", "y_mb", "trace.dec.subband_conv_post"] {
            XCTAssertEqual(check.lines.first { $0.name == name }?.status, .pass, "\(name) compared and within tolerance")
        }
    }
}
