import Foundation
import XCTest
import VITS
import ReferenceCheck

/// The portable discriminator `weight_v` generator against `discriminator_weight_v.json` of each fixture.
final class FixtureWeightsTests: XCTestCase {
    struct Description: Decodable {
        struct Entry: Decodable {
            let shape: [Int]
            let fan_in: Int
            let bound_f32_bits: UInt32
            let head_f32_bits: [UInt32]
            let sum: Double
            let sum_sq: Double
        }
        let seed: UInt64
        let tensors: [String: Entry]
    }

    func testRegeneratedWeightVMatchesTheFixtureDescription() throws {
        for name in Fixtures.fixtureNames {
            let description = try JSONDecoder().decode(Description.self, from: Data(contentsOf: Fixtures.url("weight_v/\(name).json")))
            XCTAssertEqual(description.tensors.count, 37)
            // Every weight_v of the reference discriminator is described, with the layout's shape.
            let layout = try VITSParameters.discriminator(Fixtures.config(name)).filter { $0.key.hasSuffix("weight_v") }
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: layout.map { ($0.key, $0.shape) }), description.tensors.mapValues(\.shape))

            // Whole tensors (sums) for one fixture; heads only for the others keeps the suite fast.
            let full = name == Fixtures.fixtureNames[0]
            for (key, entry) in description.tensors {
                XCTAssertEqual(FixtureWeights.bound(shape: entry.shape).bitPattern, entry.bound_f32_bits, key)
                let count = full ? entry.shape.reduce(1, *) : entry.head_f32_bits.count
                let values = UnsafeMutablePointer<Float>.allocate(capacity: entry.shape.reduce(1, *))
                defer { values.deallocate() }
                FixtureWeights.fillWeightV(key: key, shape: entry.shape, seed: description.seed, into: values)
                XCTAssertEqual((0..<entry.head_f32_bits.count).map { values[$0].bitPattern }, entry.head_f32_bits, "\(name) \(key)")
                guard full else { continue }
                var sum = 0.0, sumSq = 0.0
                for i in 0..<count { let v = Double(values[i]); sum += v; sumSq += v * v }
                XCTAssertEqual(sum, entry.sum, accuracy: 1e-6, "\(name) \(key)")
                XCTAssertEqual(sumSq, entry.sum_sq, accuracy: 1e-10 * entry.sum_sq, "\(name) \(key)")
            }
        }
    }
}
