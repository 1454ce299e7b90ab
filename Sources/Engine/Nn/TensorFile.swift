import Foundation
import Formats

/// Named tensors ↔ safetensors files: how modules and optimizer states reach the disk.
public enum TensorFile {
    /// Writes `tensors` (names kept as given) atomically. Float32 by default; `.f16` halves the size
    /// (voice bundles). The tensors' storage is written directly, without copies.
    public static func save(_ tensors: [(String, Tensor)], to url: URL, storage: SafeTensorsStorageType = .f32,
                            metadata: [String: String] = [:]) throws {
        // Entries borrow the tensors' buffers; the tensors stay alive for the duration of the call.
        let entries = tensors.map { name, t in
            SafeTensorsEntry(name: name, shape: t.shape, buffer: UnsafeBufferPointer(start: t.pointer, count: t.count))
        }
        try withExtendedLifetime(tensors) {
            try SafeTensors.write(entries, storage: storage, metadata: metadata, to: url)
        }
    }

    /// Reads every floating-point tensor of a file (F32/F16/BF16/F64, converted to Float32).
    public static func load(_ url: URL) throws -> [String: Tensor] {
        let file = try SafeTensorsFile(contentsOf: url)
        var out: [String: Tensor] = [:]
        for info in file.infos where info.dtype.convertsToFloat {
            let t = Tensor(uninitialized: info.shape)
            try file.read(named: info.name, into: t.storage.buffer)
            out[info.name] = t
        }
        return out
    }

    /// The file's `__metadata__`.
    public static func metadata(_ url: URL) throws -> [String: String] {
        try SafeTensorsFile(contentsOf: url).metadata
    }
}

extension Module {
    /// Saves the state dict (reference key names) to a safetensors file.
    public func save(to url: URL, storage: SafeTensorsStorageType = .f32, metadata: [String: String] = [:]) throws {
        try TensorFile.save(stateDict().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: url, storage: storage, metadata: metadata)
    }

    /// Loads a safetensors state dict; strict mode throws on any missing, unexpected or mis-shaped key.
    @discardableResult
    public func load(contentsOf url: URL, strict: Bool = true) throws -> LoadReport {
        try load(TensorFile.load(url), strict: strict)
    }
}
