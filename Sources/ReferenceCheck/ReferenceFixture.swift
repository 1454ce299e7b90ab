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

    /// The discriminator state dict with every `weight_v` regenerated from its recorded description
    /// and verified against it (see `verifiedDiscriminatorWeights`).
    public func discriminatorWeights() throws -> [String: Tensor] { try verifiedDiscriminatorWeights().weights }

    /// The discriminator state dict with every `weight_v` regenerated from `discriminator_weight_v.json`,
    /// each checked against what the JSON records of it: `bound_f32_bits` and `scale_f32_bits` (the
    /// float32 bit patterns of 1/√fan_in and of that times 2⁻²⁴), `numel`, the first values' bit patterns
    /// (`head_f32_bits`), and the float64 `sum` and `sum_sq` (relative 1e-9: only the summation order
    /// may differ). Any mismatch throws, naming the tensor and the field: the generator would not
    /// reproduce the reference weights, and every discriminator comparison would be meaningless.
    public func verifiedDiscriminatorWeights() throws -> (weights: [String: Tensor], verified: Int) {
        var weights = try TensorFile.load(folder.appendingPathComponent("discriminator.safetensors"))
        let url = folder.appendingPathComponent("discriminator_weight_v.json")
        let record: WeightVFile
        do {
            record = try JSONFile.decode(WeightVFile.self, from: try Data(contentsOf: url), file: url.path)
        } catch let error as JSONReadError {
            throw ReferenceFixtureError.malformed("\(error) (expected {seed, tensors: {key: {shape, …}}})")
        }
        let seed = record.seed, tensors = record.tensors
        for (key, entry) in tensors.sorted(by: { $0.key < $1.key }) {
            let (shape, boundBits, scaleBits) = (entry.shape, entry.boundBits, entry.scaleBits)
            let (head, sum, sumSq, numel) = (entry.headBits, entry.sum, entry.sumSq, entry.numel)
            func mismatch(_ what: String) -> ReferenceFixtureError {
                .malformed("\(url.path): regenerated \(key) does not match the recorded \(what); the portable generator "
                           + "(FixtureWeights) and this fixture disagree")
            }
            let bound = FixtureWeights.bound(shape: shape)
            guard bound.bitPattern == boundBits else { throw mismatch("bound_f32_bits (ours \(bound.bitPattern), recorded \(boundBits))") }
            guard (bound * 0x1p-24).bitPattern == scaleBits else { throw mismatch("scale_f32_bits") }
            guard numel == shape.reduce(1, *), head.count <= numel else { throw mismatch("numel \(numel) for shape \(shape)") }
            let t = FixtureWeights.weightV(key: key, shape: shape, seed: seed)
            for (i, bits) in head.enumerated() where t.pointer[i].bitPattern != bits {
                throw mismatch("value \(i) (bits ours \(t.pointer[i].bitPattern), recorded \(bits))")
            }
            var s = 0.0, sa = 0.0, sq = 0.0
            for i in 0..<t.count { let v = Double(t.pointer[i]); s += v; sa += abs(v); sq += v * v }
            guard abs(s - sum) <= 1e-9 * sa else { throw mismatch("sum (ours \(s), recorded \(sum))") }
            guard abs(sq - sumSq) <= 1e-9 * sq else { throw mismatch("sum_sq (ours \(sq), recorded \(sumSq))") }
            weights[key] = t
        }
        return (weights, tensors.count)
    }

    /// `discriminator_weight_v.json`, as `scripts/fixtures` writes it.
    struct WeightVFile: Decodable {
        struct Record: Decodable {
            var shape: [Int]
            var boundBits: UInt32
            var scaleBits: UInt32
            var headBits: [UInt32]
            var sum: Double
            var sumSq: Double
            var numel: Int
            enum CodingKeys: String, CodingKey {
                case shape, sum, numel, boundBits = "bound_f32_bits", scaleBits = "scale_f32_bits"
                case headBits = "head_f32_bits", sumSq = "sum_sq"
            }
        }
        var seed: UInt64
        var tensors: [String: Record]
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
