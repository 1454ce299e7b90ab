import Foundation
import XCTest
import Engine
import ReferenceCheck

/// `vits check-reference` fails loudly on what it used to pass silently: a fixture tensor nothing of
/// ours is compared with, a recorded noise draw the model never consumed, regenerated `weight_v`
/// bits that differ from the recorded ones. Each case is a copy of tiny-dp with one thing changed.
final class ReferenceCheckStrictnessTests: XCTestCase {
    private static let work = FileManager.default.temporaryDirectory.appendingPathComponent("refcheck-strict-\(getpid())")
    override class func tearDown() { try? FileManager.default.removeItem(at: work) }

    private func copyOfTinyDP(_ name: String) throws -> URL {
        let target = Self.work.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.createDirectory(at: Self.work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ReferenceFixtureTests.folder("tiny-dp"), to: target)
        return target
    }

    /// Appends float32 tensors to a safetensors file (header rewritten, existing data kept).
    private func append(_ tensors: [(String, [Int], [Float])], to url: URL) throws {
        let blob = try Data(contentsOf: url)
        let n = blob.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: blob.subdata(in: 8..<8 + n)) as? [String: Any])
        var body = blob.subdata(in: 8 + n..<blob.count)
        for (name, shape, values) in tensors {
            let start = body.count
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [start, body.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json); out.append(body)
        try out.write(to: url)
    }

    func testLeftoverNoiseAndUncomparedTensorsFail() throws {
        Engine.configure()
        let folder = try copyOfTinyDP("extra")
        try append([("noise.999", [2], [0.5, -0.5]), ("trace.enc_p.not_a_module", [3], [1, 2, 3])],
                   to: folder.appendingPathComponent("case.safetensors"))
        let check = try ReferenceCheck(folder: folder)
        try check.run()
        XCTAssertFalse(check.passed)
        let noise = try XCTUnwrap(check.lines.first { $0.name == "noise.training" })
        XCTAssertEqual(noise.status, .fail)
        XCTAssertEqual(noise.maxAbsError, 1, "one draw left over")
        XCTAssertEqual(check.failingSkips.map(\.name), ["trace.enc_p.not_a_module"])
        XCTAssertTrue(check.report(verbose: false).contains("trace.enc_p.not_a_module"))
        // Inputs are listed, not failed; everything else of the fixture was compared as before.
        XCTAssertTrue(check.skipped.contains { $0.name == "x" && !$0.fails })
        XCTAssertEqual(check.failures.map(\.name).sorted(), ["noise.step", "noise.training"])
    }

    func testWeightVBitsAreVerified() throws {
        let folder = try copyOfTinyDP("weight-v")
        let url = folder.appendingPathComponent("discriminator_weight_v.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var tensors = try XCTUnwrap(json["tensors"] as? [String: [String: Any]])
        let key = "discriminators.1.convs.2.weight_v"
        var entry = try XCTUnwrap(tensors[key])
        var head = try XCTUnwrap(entry["head_f32_bits"] as? [Int])
        head[3] ^= 1   // one bit of the 4th value
        entry["head_f32_bits"] = head
        tensors[key] = entry
        json["tensors"] = tensors
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let fixture = try ReferenceFixture(folder: folder)
        XCTAssertThrowsError(try fixture.verifiedDiscriminatorWeights()) { error in
            XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("value 3"), "\(error)")
        }
        // The untouched fixture verifies all 37.
        XCTAssertEqual(try ReferenceFixture(folder: ReferenceFixtureTests.folder("tiny-dp")).verifiedDiscriminatorWeights().verified, 37)
    }
}
