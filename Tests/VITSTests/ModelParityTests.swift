import XCTest
import Engine
import VITS
import ReferenceCheck

/// The assembled model against the reference fixtures: the whole `vits check-reference` procedure
/// (every intermediate, loss, G and D gradient, one AdamW step of each, inference audio).
final class ModelParityTests: XCTestCase {
    private func check(_ name: String) throws {
        Engine.configure()
        let check = try ReferenceCheck(folder: ReferenceFixtureTests.folder(name))
        try check.run()
        print(check.report(verbose: false))
        XCTAssertTrue(check.passed, "\(name):\n\(check.report(verbose: false))")
        XCTAssertGreaterThan(check.lines.count, 900)   // the comparison really covered the fixture
        XCTAssertTrue(check.failingSkips.isEmpty, "\(check.failingSkips)")
        // every generator and discriminator gradient of the fixture was compared
        XCTAssertGreaterThanOrEqual(check.lines.filter { $0.name.hasPrefix("grad.") }.count, 400)   // notes list any fixture gradient not produced
        XCTAssertGreaterThanOrEqual(check.lines.filter { $0.name.hasPrefix("dgrad.") }.count, 111)
    }

    func testTinySDP() throws { try check("tiny-sdp") }
    func testTinyDP() throws { try check("tiny-dp") }
    func testTinySpeakers() throws { try check("tiny-spk") }

    /// Parameter counts of the assembled reference-size model (issue numbers from the reference).
    func testLJSBaseParameterCounts() throws {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/configs/ljs_base.json")
        let config = try VITSConfig.load(contentsOf: url)
        let g = SynthesizerTrn(config: config, vocabularySize: 178, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(g.parameterCount, 36_321_072)
        let d = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(d.parameterCount, 46_747_132)
    }

    /// Inference output length is Σ⌈w⌉·hop, and length_scale 2 doubles the frames.
    func testInferenceLengthFollowsDurationsAndLengthScale() throws {
        let config = try ReferenceFixture(folder: ReferenceFixtureTests.folder("tiny-dp")).config
        let g = SynthesizerTrn(config: config, vocabularySize: 40, generator: RandomGenerator(seed: 2))
        g.eval()
        let tokens = IntTensor(shape: [1, 7], values: [1, 5, 9, 3, 12, 7, 2])
        let a = try g.infer(tokens: tokens, tokenLengths: [7], noise: GeneratorNoise(RandomGenerator(seed: 3)))
        XCTAssertEqual(a.frameLengths[0], Int(a.wCeil.sum().item))
        XCTAssertEqual(a.audio.shape, [1, 1, a.frameLengths[0] * config.data.hopLength])
        let b = try g.infer(tokens: tokens, tokenLengths: [7], lengthScale: 2, noise: GeneratorNoise(RandomGenerator(seed: 3)))
        // ⌈2w⌉ is within one frame per token of 2⌈w⌉
        XCTAssertLessThanOrEqual(abs(b.frameLengths[0] - 2 * a.frameLengths[0]), 7)
        XCTAssertGreaterThan(b.frameLengths[0], a.frameLengths[0] * 3 / 2)
    }
}
