import Foundation

/// Errors reading or writing NumPy `.npy` files; every message names the file.
public enum NpyError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    case notNpy(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case truncated(path: String, needed: Int, actual: Int)
    case invalidShape(shape: [Int], count: Int)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open .npy file: \(reason)"
        case let .readFailed(path, reason): return "\(path): read error: \(reason)"
        case let .notNpy(path, reason): return "\(path): not a valid .npy file: \(reason)"
        case let .unsupported(path, reason): return "\(path): unsupported .npy content: \(reason)"
        case let .truncated(path, needed, actual):
            return "\(path): .npy data size mismatch: the header needs \(needed) bytes in total, the file has \(actual)"
        case let .invalidShape(shape, count): return "shape \(shape) does not hold \(count) values"
        case let .cannotWrite(path, reason): return "\(path): cannot write .npy file: \(reason)"
        }
    }
}

/// NumPy `.npy` files of float32 (little-endian, C order): what `np.load` reads and `np.save` writes.
public enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Writes a version 1.0 file atomically (temporary file, then rename: a failure never leaves a
    /// partial file). Not fsynced: .npy outputs are cheap to recompute, and the sync costs more
    /// waiting than computing a 10-minute file's features.
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to url: URL) throws(NpyError) {
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { throw .invalidShape(shape: shape, count: values.count) }
            count = c
        }
        guard count == values.count else { throw .invalidShape(shape: shape, count: values.count) }
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        // numpy pads with spaces and a final newline so the data starts 64-byte aligned.
        let unpadded = magic.count + 2 + 2 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let headerLength = dict.utf8.count
        guard headerLength <= Int(UInt16.max) else { throw .invalidShape(shape: shape, count: values.count) }
        var prefix = magic + [1, 0, UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)]
        prefix += Array(dict.utf8)
        do {
            let writer = try AtomicFileWriter(path: url.path)
            try writer.write(prefix)
            try writer.write(UnsafeRawBufferPointer(values))
            try writer.commit(durable: false)
        } catch {
            throw .cannotWrite(path: url.path, reason: error.reason)
        }
    }

    public static func write(_ values: [Float], shape: [Int], to url: URL) throws(NpyError) {
        var result: Result<Void, NpyError> = .success(())
        values.withUnsafeBufferPointer { b in
            do throws(NpyError) { try write(b, shape: shape, to: url) } catch { result = .failure(error) }
        }
        try result.get()
    }

    /// Reads a float32 little-endian C-order file (versions 1.0, 2.0 and 3.0 of the format).
    public static func read(contentsOf url: URL) throws(NpyError) -> (shape: [Int], values: [Float]) {
        let path = url.path
        let file = try ReadableFile(path: path) { NpyError.cannotOpen(path: path, reason: $0) }
        func readBytes(_ count: Int, at offset: Int) throws(NpyError) -> [UInt8] {
            guard offset + count <= file.size else { throw .truncated(path: path, needed: offset + count, actual: file.size) }
            let bytes: [UInt8]?
            do { bytes = try file.readBytes(count: count, at: offset) } catch {
                throw .readFailed(path: path, reason: error.reason)
            }
            guard let bytes else { throw .truncated(path: path, needed: offset + count, actual: file.size) }
            return bytes
        }
        guard file.size >= 10 else { throw .notNpy(path: path, reason: "file is only \(file.size) bytes") }
        let start = try readBytes(12 <= file.size ? 12 : 10, at: 0)
        guard Array(start[0..<6]) == magic else { throw .notNpy(path: path, reason: "missing \\x93NUMPY magic") }
        let major = start[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(start[8]) | Int(start[9]) << 8; headerStart = 10
        case 2, 3:
            guard start.count == 12 else { throw .truncated(path: path, needed: 12, actual: file.size) }
            headerLength = Int(start[8]) | Int(start[9]) << 8 | Int(start[10]) << 16 | Int(start[11]) << 24
            headerStart = 12
        default: throw .unsupported(path: path, reason: "format version \(major)")
        }
        let headerBytes = try readBytes(headerLength, at: headerStart)
        guard let header = String(validating: headerBytes, as: UTF8.self) else {
            throw .notNpy(path: path, reason: "header is not text")
        }
        func value(of key: String) throws(NpyError) -> Substring {
            guard let k = header.range(of: "'\(key)':") else { throw .notNpy(path: path, reason: "header has no '\(key)'") }
            return header[k.upperBound...].drop { $0 == " " }
        }
        let descr = try value(of: "descr")
        guard descr.hasPrefix("'<f4'") || descr.hasPrefix("'|f4'") else {
            throw .unsupported(path: path, reason: "dtype \(descr.prefix { $0 != "," }), only '<f4' (float32 little-endian) is read")
        }
        guard try value(of: "fortran_order").hasPrefix("False") else {
            throw .unsupported(path: path, reason: "Fortran-order arrays are not read")
        }
        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw .notNpy(path: path, reason: "malformed shape")
        }
        var shape: [Int] = []
        var count = 1
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let d = Int(trimmed), d >= 0 else { throw .notNpy(path: path, reason: "malformed shape \(shapeText[...close])") }
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .notNpy(path: path, reason: "shape too large") }
            shape.append(d); count = c
        }
        let dataStart = headerStart + headerLength
        let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow, dataStart + bytes == file.size else {
            throw .truncated(path: path, needed: overflow ? Int.max : dataStart + bytes, actual: file.size)
        }
        let values: [Float]?
        do { values = try file.readFloats(count: count, at: dataStart) } catch {
            throw .readFailed(path: path, reason: error.reason)
        }
        guard let values else { throw .truncated(path: path, needed: dataStart + bytes, actual: file.size) }
        return (shape, values)
    }
}
