import XCTest
import Engine
import VITS
import ReferenceCheck

/// The fixture reader itself: shapes documented in the fixture README, integer tensors, sampled tensors,
/// regenerated discriminator weights with the recorded checksums.
final class ReferenceFixtureTests: XCTestCase {
    static func folder(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reference/\(name)")
    }

    func testReadsDocumentedTensors() throws {
        let fx = try ReferenceFixture(folder: Self.folder("tiny-sdp"))
        XCTAssertEqual(fx.vocabularySize, 40)
        XCTAssertEqual(try fx.tensor("noise.000").shape, [2, 16, 96])
        XCTAssertEqual(try fx.tensor("noise.000", in: .inference).shape, [2, 2, 29])
        let g = try fx.generatorWeights()
        XCTAssertEqual(g["enc_p.emb.weight"]?.shape, [40, 32])
        XCTAssertEqual(g.count, 766)
        let d = try fx.discriminatorWeights()
        XCTAssertEqual(d["discriminators.0.convs.0.weight_v"]?.shape.count, 3)
    }
}
