import Foundation

/// A `torch.save` file of the zip format (PyTorch ≥ 1.6): `<prefix>/data.pkl` (the object tree,
/// read by `RestrictedUnpickler`), `<prefix>/data/<key>` (one raw little-endian storage per key),
/// `<prefix>/byteorder`. Tensors are materialized on demand, converted to Float32.
public struct TorchCheckpointFile {
    public let path: String
    public let root: PickleValue
    let archive: StoredZipArchive
    let prefix: String

    public init(url: URL) throws(TorchFileError) {
        path = url.path
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(path: url.path) }
        guard StoredZipArchive.looksLikeZip(url) else {
            if let head = try? FileHandle(forReadingFrom: url).read(upToCount: 2), head.first == 0x80 {
                throw .legacyFormat(path: url.path)
            }
            throw .notACheckpoint(path: url.path, reason: "it is not a zip archive (PyTorch checkpoints since 1.6 are)")
        }
        do { archive = try StoredZipArchive(url: url) } catch { throw .zip(error) }
        guard let pickle = archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
            throw .notACheckpoint(path: url.path, reason: "the archive has no data.pkl (not written by torch.save)")
        }
        prefix = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = (try? archive.contents(of: order)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard text == "little" else { throw .notACheckpoint(path: url.path, reason: "byte order '\(text)' (only little-endian files are read)") }
        }
        let bytes: Data
        do { bytes = try archive.contents(of: pickle) } catch { throw .zip(error) }
        do { root = try RestrictedUnpickler.load([UInt8](bytes), source: url.path) } catch { throw .pickle(error) }
    }

    /// The values of tensor `t` in row-major order of its shape, converted to Float.
    public func floats(_ t: TorchTensorRef, name: String) throws(TorchFileError) -> [Float] {
        let dtype = t.storage.dtype
        guard dtype == .float32 || dtype == .float16 || dtype == .bfloat16 || dtype == .float64 else {
            throw .unsupportedTensor(path: path, name: name, reason: "\(dtype) values (model weights must be floating point)")
        }
        guard let entry = archive.entry(named: prefix + "data/" + t.storage.key) else {
            throw .notACheckpoint(path: path, reason: "tensor \(name): storage \(t.storage.key) is missing from the archive")
        }
        guard entry.size >= t.storage.elementCount * dtype.byteSize else {
            throw .notACheckpoint(path: path, reason: "tensor \(name): storage \(t.storage.key) has \(entry.size) bytes, needs \(t.storage.elementCount * dtype.byteSize)")
        }
        let raw: Data
        do { raw = try archive.contents(of: entry) } catch { throw .zip(error) }
        let count = t.elementCount
        var out = [Float](repeating: 0, count: count)
        if count == 0 { return out }
        raw.withUnsafeBytes { src in
            func element(_ i: Int) -> Float {
                switch dtype {
                case .float32: return src.loadUnaligned(fromByteOffset: i &* 4, as: Float.self)
                case .float16: return Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)))
                case .bfloat16: return Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)) << 16)
                default: return Float(src.loadUnaligned(fromByteOffset: i &* 8, as: Double.self))
                }
            }
            // Walk the view's index space in row-major order (views of transposed tensors have other strides).
            let rank = t.shape.count
            var index = [Int](repeating: 0, count: rank)
            var offset = t.offset
            for k in 0..<count {
                out[k] = element(offset)
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] += 1
                    offset += t.stride[axis]
                    if index[axis] < t.shape[axis] { break }
                    offset -= t.stride[axis] * t.shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return out
    }
}

public enum TorchFileError: Error, CustomStringConvertible, Equatable {
    case notFound(path: String)
    case legacyFormat(path: String)
    case notACheckpoint(path: String, reason: String)
    case unsupportedTensor(path: String, name: String, reason: String)
    case zip(ZipError)
    case pickle(PickleError)

    public var description: String {
        switch self {
        case let .notFound(path): return "\(path): no such file"
        case let .legacyFormat(path):
            return "\(path): a legacy (pre-1.6, non-zip) torch.save file, which is not read. Re-save it with a current PyTorch "
                + "(python -c \"import torch; torch.save(torch.load('OLD', weights_only=True), 'NEW')\") and import NEW"
        case let .notACheckpoint(path, reason): return "\(path): not a PyTorch checkpoint: \(reason)"
        case let .unsupportedTensor(path, name, reason): return "\(path): tensor \(name): \(reason)"
        case let .zip(e): return e.description
        case let .pickle(e): return e.description
        }
    }
}
