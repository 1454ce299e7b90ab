import XCTest
import Engine
import VITS
import ReferenceCheck

/// The assembled model with an iSTFT decoder against the MB-iSTFT-VITS authors' code: the whole
/// `vits check-reference` procedure on `Fixtures/reference/tiny-mb-istft`, `tiny-istft` and `tiny-ms-istft` (written by
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
        let parameters = try VITSParameters.generator(check.fixture.config, vocabularySize: check.fixture.vocabularySize)
            .filter { !$0.isBuffer }.count
        XCTAssertEqual(check.lines.filter { $0.name.hasPrefix("grad.") }.count, parameters)
        XCTAssertEqual(check.lines.filter { $0.name.hasPrefix("dgrad.") && !$0.name.hasSuffix(".stats") }.count, 111)
        let bands = decoder == .istft ? [] : ["o_mb", "infer.o_mb"]
        for name in ["o", "loss_gen_all", "step.loss_gen_all", "step.g_param_stats", "step.d_param_stats", "infer.o"] + bands {
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

    /// One band, no PQMF: no sub-band loss (the authors add it for mb_istft only), no `o_mb`.
    func testTinyISTFT() throws {
        let check = try check("tiny-istft", decoder: .istft)
        XCTAssertNil(check.lines.first { $0.name == "loss_subband" || $0.name == "o_mb" })
        XCTAssertEqual(check.lines.first { $0.name == "trace.dec.conv_post" }?.status, .pass)
    }

    /// Zero-inserted streams through the trainable 63-tap conv; the state dict has the buffer
    /// `dec.updown_filter`, which the layout check counts apart from the parameters.
    func testTinyMSISTFT() throws {
        let check = try check("tiny-ms-istft", decoder: .msISTFT)
        XCTAssertNil(check.lines.first { $0.name == "loss_subband" })
        for name in ["layout.generator", "grad.dec.multistream_conv_post.weight_v", "trace.dec.subband_conv_post"] {
            XCTAssertEqual(check.lines.first { $0.name == name }?.status, .pass, "\(name) compared and within tolerance")
        }
    }
}
