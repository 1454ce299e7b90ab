import Cores
import Foundation
import XCTest
import VITS
import ReferenceCheck

/// Files under Tests/VITSTests/Fixtures (copied from ../shared by scripts/fixtures/extract_vits_fixtures.py).
enum Fixtures {
    static let fixtureNames = ["tiny-sdp", "tiny-dp", "tiny-spk"]

    static func url(_ relative: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.resourceURL, "test bundle has no resources")
        let url = base.appendingPathComponent("Fixtures").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("fixture \(relative) missing from the test bundle")  // never expected: fixtures are committed
        }
        return url
    }

    static func config(_ name: String) throws -> VITSConfig {
        try VITSConfig.load(contentsOf: url("configs/\(name).json"))
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: url(relative), encoding: .utf8)
    }

    /// Key list files: `key<TAB>[d0, d1, …][<TAB>numel]` lines, `#` comments.
    static func keyList(_ relative: String) throws -> [ParameterSpec] {
        var specs: [ParameterSpec] = []
        for line in try text(relative).split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let fields = line.split(separator: "\t")
            let dims = fields[1].trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",")
            specs.append(ParameterSpec(key: String(fields[0]), shape: dims.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }))
        }
        return specs
    }

    static func floats(bits: [UInt32]) -> [Float] { bits.map { Float(bitPattern: $0) } }
}

/// Alignment data of one fixture (see the extraction script for the meaning of each field).
struct AlignmentFixture: Decodable {
    struct Train: Decodable {
        let shape: [Int]
        let x_lengths: [Int]
        let spec_lengths: [Int]
        let neg_cent_bits: [UInt32]
        let attn: [Int]
        let w_bits: [UInt32]
        let slice_uniform_bits: [UInt32]
        let ids_slice: [Int]
        let segment_frames: Int
    }
    struct Infer: Decodable {
        let shape: [Int]
        let x_lengths: [Int]
        let y_lengths: [Int]
        let w_ceil_bits: [UInt32]
        let attn: [Int]
    }
    let name: String
    let train: Train
    let infer: Infer

    static func load(_ name: String) throws -> AlignmentFixture {
        try JSONDecoder().decode(AlignmentFixture.self, from: Data(contentsOf: Fixtures.url("alignment/\(name).json")))
    }
}

/// Deterministic test randomness (splitmix64).
struct TestRandom {
    var bits: SplitMix64
    init(state: UInt64) { bits = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { bits.next() }
    /// Uniform in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}
