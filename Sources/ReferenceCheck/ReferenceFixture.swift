import Foundation
import Engine
import VITS
import Formats

/// One folder of reference parity data in the documented layout: `config.json`,
/// `generator.safetensors`, `discriminator.safetensors` (+ `discriminator_weight_v.json`, whose
/// portable generator recreates the `weight_v` tensors not shipped), `case.safetensors` (training
/// forward, losses, gradients, recorded noise) and `infer.safetensors` (inference).
///
/// Used by `vits check-reference` and the parity tests; works for any configuration in that format.
public final class ReferenceFixture {
    public enum Part: String, Sendable { case training = "case", inference = "infer" }

    public let folder: URL
    public let config: VITSConfig
    public let trainingFile: SafeTensorsFile
    public let inferenceFile: SafeTensorsFile

    public init(folder: URL) throws {
        self.folder = folder
        config = try VITSConfig.load(contentsOf: folder.appendingPathComponent("config.json"))
        trainingFile = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("case.safetensors"))
        inferenceFile = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("infer.safetensors"))
    }

    /// Vocabulary size recorded by the fixture (`fixture.n_vocab`), else the embedding table's rows.
    public var vocabularySize: Int {
        if let n = config.fixture?.nVocab { return n }
        return (try? SafeTensorsFile(contentsOf: folder.appendingPathComponent("generator.safetensors"))
            .info(named: "enc_p.emb.weight").shape.first) ?? 0
    }

    /// The generator state dict (reference keys).
    public func generatorWeights() throws -> [String: Tensor] {
        try TensorFile.load(folder.appendingPathComponent("generator.safetensors"))
    }

    /// The discriminator state dict with every `weight_v` regenerated from its recorded description.
    public func discriminatorWeights() throws -> [String: Tensor] {
        var weights = try TensorFile.load(folder.appendingPathComponent("discriminator.safetensors"))
        let url = folder.appendingPathComponent("discriminator_weight_v.json")
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let seed = (json["seed"] as? NSNumber)?.uint64Value,
              let tensors = json["tensors"] as? [String: [String: Any]] else {
            throw ReferenceFixtureError.malformed("\(url.path): expected {seed, tensors: {key: {shape, …}}}")
        }
        for (key, entry) in tensors {
            guard let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue) else {
                throw ReferenceFixtureError.malformed("\(url.path): \(key) has no shape")
            }
            weights[key] = FixtureWeights.weightV(key: key, shape: shape, seed: seed)
        }
        return weights
    }

    private func file(_ part: Part) -> SafeTensorsFile { part == .training ? trainingFile : inferenceFile }

    public func names(_ part: Part) -> [String] { file(part).names }

    public func has(_ name: String, in part: Part = .training) -> Bool { file(part).names.contains(name) }

    /// A floating-point tensor (F32/F64 → Float32).
    public func tensor(_ name: String, in part: Part = .training) throws -> Tensor {
        let (shape, values) = try file(part).tensor(named: name)
        return Tensor(shape: shape, data: values)
    }

    /// An integer tensor (I64/I32/U8/Bool) as Ints, with its shape.
    public func integers(_ name: String, in part: Part = .training) throws -> (shape: [Int], values: [Int]) {
        let f = file(part)
        let info = try f.info(named: name)
        let values: [Int] = try f.withRawBytes(named: name) { raw in
            switch info.dtype {
            case .i64: return raw.bindMemory(to: Int64.self).map { Int(Int64(littleEndian: $0)) }
            case .i32: return raw.bindMemory(to: Int32.self).map { Int(Int32(littleEndian: $0)) }
            case .u8, .bool: return raw.map { Int($0) }
            default: throw ReferenceFixtureError.malformed("\(name) has dtype \(info.dtype.rawValue), expected an integer type")
            }
        }
        return (info.shape, values)
    }

    /// A tensor stored in full, or sampled (`.sample` at `.idx`, with `.stats` and `.shape`): for a
    /// sampled tensor returns the sample values and their flat indices into the full tensor.
    public func sampled(_ name: String, in part: Part = .training) throws -> (values: [Float], indices: [Int], scale: Float)? {
        guard has(name + ".sample", in: part) else { return nil }
        let values = try tensor(name + ".sample", in: part).scalars
        let indices = try integers(name + ".idx", in: part).values
        let stats = try tensor(name + ".stats", in: part).scalars   // sum, sum|x|, sum x², min, max
        return (values, indices, max(abs(stats[3]), abs(stats[4])))
    }
}

public enum ReferenceFixtureError: Error, CustomStringConvertible {
    case malformed(String)
    public var description: String { switch self { case .malformed(let m): return m } }
}
