import Foundation

/// Element types the writer can store.
public enum SafeTensorsStorageType: Sendable {
    /// 32-bit float: exact.
    case f32
    /// IEEE half: rounded to nearest even; magnitudes above 65504 become ±infinity (as PyTorch's `.half()`).
    case f16

    var dtype: SafeTensorsDType { self == .f32 ? .f32 : .f16 }
    var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// One tensor to write: a name, a row-major shape, and Float values (an array, or a buffer that
/// must stay valid until `SafeTensors.write` returns).
public struct SafeTensorsEntry {
    enum Values { case array([Float]), buffer(UnsafeBufferPointer<Float>) }

    public let name: String
    public let shape: [Int]
    /// Overrides the file's default storage type for this tensor (e.g. F32 optimizer moments in an F16 file).
    public let storage: SafeTensorsStorageType?
    let values: Values

    public init(name: String, shape: [Int], values: [Float], storage: SafeTensorsStorageType? = nil) {
        self.name = name; self.shape = shape; self.values = .array(values); self.storage = storage
    }

    public init(name: String, shape: [Int], buffer: UnsafeBufferPointer<Float>, storage: SafeTensorsStorageType? = nil) {
        self.name = name; self.shape = shape; self.values = .buffer(buffer); self.storage = storage
    }

    func withBuffer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        switch values {
        case let .buffer(b): return try body(b)
        case let .array(a):
            // Non-throwing bridge around the typed-throw body.
            var result: Result<R, E>!
            a.withUnsafeBufferPointer { b in
                do throws(E) { result = .success(try body(b)) } catch { result = .failure(error) }
            }
            return try result.get()
        }
    }

    var count: Int { switch values { case let .array(a): return a.count; case let .buffer(b): return b.count } }
}

/// Writing safetensors files.
public enum SafeTensors {
    /// Writes `tensors` to `url` atomically (temporary file in the same directory, fsync, rename).
    /// Tensors are laid out by descending element size, then name (the reference writer's order), the
    /// header is space-padded to a multiple of 8 bytes so every tensor is naturally aligned.
    public static func write(_ tensors: [SafeTensorsEntry], storage: SafeTensorsStorageType = .f32,
                             metadata: [String: String] = [:], to url: URL) throws(SafeTensorsError) {
        let path = url.path
        var names = Set<String>()
        for t in tensors {
            func bad(_ reason: String) -> SafeTensorsError { .invalidTensor(name: t.name, reason: reason) }
            guard !t.name.isEmpty else { throw bad("empty name") }
            guard t.name != "__metadata__" else { throw bad("the name __metadata__ is reserved") }
            guard names.insert(t.name).inserted else { throw bad("duplicate name") }
            var count = 1
            for d in t.shape {
                guard d >= 0 else { throw bad("negative dimension in shape \(t.shape)") }
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("shape \(t.shape) is too large") }
                count = c
            }
            guard count == t.count else { throw bad("shape \(t.shape) needs \(count) values but \(t.count) were given") }
        }

        let ordered = tensors.sorted { a, b in
            let sa = (a.storage ?? storage).byteSize, sb = (b.storage ?? storage).byteSize
            return sa != sb ? sa > sb : a.name < b.name
        }
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }.joined(separator: ",")
            header += "}"
        }
        var offset = 0
        for (i, t) in ordered.enumerated() {
            let type = t.storage ?? storage
            let bytes = t.count * type.byteSize
            if i > 0 || !metadata.isEmpty { header += "," }
            header += "\(jsonQuoted(t.name)):{\"dtype\":\"\(type.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        func failed(_ reason: String) -> SafeTensorsError { .cannotWrite(path: path, reason: reason) }
        do {
            let writer = try AtomicFileWriter(path: path)
            let length = UInt64(headerBytes.count)
            try writer.write((0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) })
            try writer.write(headerBytes)
            // Convert in chunks so an F16 file never needs a second full copy in memory.
            let chunk = 1 << 18
            var scratch = [UInt16](repeating: 0, count: chunk)
            for t in ordered {
                let type = t.storage ?? storage
                try t.withBuffer { (values) throws(AtomicFileWriter.Failure) in
                    switch type {
                    case .f32:
                        try writer.write(UnsafeRawBufferPointer(values))
                    case .f16:
                        var start = 0
                        while start < values.count {
                            let n = min(chunk, values.count - start)
                            scratch.withUnsafeMutableBufferPointer { out in
                                for i in 0..<n { out[i] = Float16(values[start &+ i]).bitPattern.littleEndian }
                            }
                            var outcome: Result<Void, AtomicFileWriter.Failure> = .success(())
                            scratch.withUnsafeBytes { raw in
                                outcome = Result { () throws(AtomicFileWriter.Failure) in
                                    try writer.write(UnsafeRawBufferPointer(rebasing: raw[0..<(n * 2)]))
                                }
                            }
                            try outcome.get()
                            start += n
                        }
                    }
                }
            }
            try writer.commit()
        } catch {
            throw failed(error.reason)
        }
    }

    /// Convenience: `(name, shape, values)` tuples.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                             storage: SafeTensorsStorageType = .f32, metadata: [String: String] = [:],
                             to url: URL) throws(SafeTensorsError) {
        try write(tensors.map { SafeTensorsEntry(name: $0.name, shape: $0.shape, values: $0.values) },
                  storage: storage, metadata: metadata, to: url)
    }
}
