import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types a safetensors header may name (huggingface/safetensors `Dtype`).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64", c64 = "C64"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ", f8e5m2fnuz = "F8_E5M2FNUZ"
    case f4 = "F4", f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2"

    /// Bits per element (sub-byte types pack several elements per byte).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .f64, .i64, .u64, .c64: return 64
        }
    }

    /// Whether `SafeTensorsFile.tensor(named:)` converts this type to Float.
    public var convertsToFloat: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

/// One tensor entry of a safetensors header.
public struct SafeTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range of the data, relative to the start of the data buffer (after the header).
    public let dataOffsets: Range<Int>
    /// Number of elements (product of `shape`; 1 for a scalar `[]`).
    public let elementCount: Int
}

/// Everything that can be wrong with a safetensors file; every message names the file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    /// The file is shorter than its header says (`needed` bytes, file has `actual`).
    case truncated(path: String, needed: Int, actual: Int)
    case headerTooLarge(path: String, length: UInt64, limit: Int)
    case invalidHeader(path: String, reason: String)
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    /// dtype × shape disagrees with the byte length of `data_offsets`.
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case overlappingTensors(path: String, first: String, second: String)
    /// Bytes of the data buffer that no tensor covers (the format forbids holes and trailing data).
    case uncoveredBytes(path: String, range: Range<Int>)
    case tensorNotFound(path: String, name: String)
    case unsupportedDType(path: String, tensor: String, dtype: SafeTensorsDType)
    case destinationTooSmall(path: String, tensor: String, needed: Int, given: Int)
    case invalidTensor(name: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open safetensors file: \(reason)"
        case let .readFailed(path, reason): return "\(path): read error: \(reason)"
        case let .truncated(path, needed, actual):
            return "\(path): truncated safetensors file: its header needs \(needed) bytes but the file has \(actual)"
        case let .headerTooLarge(path, length, limit):
            return "\(path): safetensors header length \(length) exceeds the limit of \(limit) bytes (corrupt or not a safetensors file)"
        case let .invalidHeader(path, reason): return "\(path): invalid safetensors header: \(reason)"
        case let .invalidTensorEntry(path, tensor, reason):
            return "\(path): invalid header entry for tensor \"\(tensor)\": \(reason)"
        case let .sizeMismatch(path, tensor, expected, actual):
            return "\(path): tensor \"\(tensor)\": dtype × shape needs \(expected) bytes but data_offsets span \(actual)"
        case let .overlappingTensors(path, first, second):
            return "\(path): tensors \"\(first)\" and \"\(second)\" overlap in the data buffer"
        case let .uncoveredBytes(path, range):
            return "\(path): data buffer bytes \(range.lowerBound)..<\(range.upperBound) belong to no tensor (holes and trailing bytes are not allowed)"
        case let .tensorNotFound(path, name): return "\(path): no tensor named \"\(name)\""
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor \"\(tensor)\" has dtype \(dtype.rawValue); only F32, F16, BF16 and F64 convert to Float"
        case let .destinationTooSmall(path, tensor, needed, given):
            return "\(path): tensor \"\(tensor)\" has \(needed) elements but the destination holds \(given)"
        case let .invalidTensor(name, reason): return "cannot write tensor \"\(name)\": \(reason)"
        case let .cannotWrite(path, reason): return "\(path): cannot write safetensors file: \(reason)"
        }
    }
}

/// A safetensors file opened for reading. The header is parsed and fully validated on open:
/// a file that opens is well-formed (every tensor inside the buffer, buffer tiled exactly).
///
/// The data is either read into memory in one read (default) or memory-mapped (`mapped: true`,
/// no copy; the file must not be truncated by another process while it is open).
public final class SafeTensorsFile: @unchecked Sendable {
    /// The reference implementation's limit (`MAX_HEADER_SIZE`).
    public static let maxHeaderLength = 100_000_000

    public let url: URL
    /// `__metadata__` (string → string); empty when the file has none.
    public let metadata: [String: String]
    /// Tensor entries in file (offset) order.
    public let infos: [SafeTensorInfo]
    private let index: [String: Int]
    private let data: UnsafeRawBufferPointer
    private let release: () -> Void

    /// Tensor names in file order.
    public var names: [String] { infos.map(\.name) }

    public init(contentsOf url: URL, mapped: Bool = false) throws(SafeTensorsError) {
        let path = url.path
        self.url = url
        let file = try ReadableFile(path: path) { SafeTensorsError.cannotOpen(path: path, reason: $0) }
        guard file.size >= 8 else { throw .truncated(path: path, needed: 8, actual: file.size) }

        var lengthLE: UInt64 = 0
        try Self.read(file, path: path, into: &lengthLE, count: 8, at: 0)
        let headerLength64 = UInt64(littleEndian: lengthLE)
        guard headerLength64 <= UInt64(Self.maxHeaderLength) else {
            throw .headerTooLarge(path: path, length: headerLength64, limit: Self.maxHeaderLength)
        }
        let headerLength = Int(headerLength64)
        guard 8 + headerLength <= file.size else {
            throw .truncated(path: path, needed: 8 + headerLength, actual: file.size)
        }
        let header: [UInt8]
        do {
            guard let bytes = try file.readBytes(count: headerLength, at: 8) else {
                throw SafeTensorsError.truncated(path: path, needed: 8 + headerLength, actual: file.size)
            }
            header = bytes
        } catch let failure as ReadableFile.ReadFailure {
            throw .readFailed(path: path, reason: failure.reason)
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw .readFailed(path: path, reason: "\(error)")
        }
        let bufferSize = file.size - 8 - headerLength
        let (metadata, infos) = try Self.parseHeader(header, path: path, bufferSize: bufferSize)
        self.metadata = metadata
        self.infos = infos
        var index: [String: Int] = [:]
        for (i, info) in infos.enumerated() { index[info.name] = i }
        self.index = index

        // Only now, with the header proven consistent with the file size, touch the data.
        if bufferSize == 0 {
            data = UnsafeRawBufferPointer(start: nil, count: 0)
            release = {}
        } else if mapped {
            guard let base = mmap(nil, file.size, PROT_READ, MAP_PRIVATE, file.descriptor, 0),
                  base != MAP_FAILED else { throw .readFailed(path: path, reason: "mmap: \(errnoText())") }
            data = UnsafeRawBufferPointer(start: base + 8 + headerLength, count: bufferSize)
            let size = file.size
            nonisolated(unsafe) let mappedBase = base
            release = { munmap(mappedBase, size) }
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
            do {
                try Self.read(file, path: path, into: buffer.baseAddress!, count: bufferSize, at: 8 + headerLength)
            } catch {
                buffer.deallocate()
                throw error
            }
            data = UnsafeRawBufferPointer(buffer)
            release = { buffer.deallocate() }
        }
    }

    deinit { release() }

    private static func read(_ file: ReadableFile, path: String, into buffer: UnsafeMutableRawPointer,
                             count: Int, at offset: Int) throws(SafeTensorsError) {
        let complete: Bool
        do { complete = try file.read(into: buffer, count: count, at: offset) } catch {
            throw .readFailed(path: path, reason: error.reason)
        }
        // The size came from fstat; a short read means the file shrank under us.
        guard complete else { throw .truncated(path: path, needed: offset + count, actual: file.size) }
    }

    /// Parses and validates the JSON header against a data buffer of `bufferSize` bytes.
    static func parseHeader(_ header: [UInt8], path: String, bufferSize: Int)
        throws(SafeTensorsError) -> ([String: String], [SafeTensorInfo]) {
        guard header.first == UInt8(ascii: "{") else {
            throw .invalidHeader(path: path, reason: "header does not start with '{' (not a safetensors file?)")
        }
        let json: JSONNode
        do {
            json = try header.withUnsafeBufferPointer { (bytes) throws(JSONSyntaxError) in try JSONParser.parse(bytes) }
        } catch {
            throw .invalidHeader(path: path, reason: "malformed JSON: \(error) (byte \(error.offset) of the header)")
        }
        guard case let .object(members) = json.value else { throw .invalidHeader(path: path, reason: "header is not a JSON object") }

        var metadata: [String: String] = [:]
        var infos: [SafeTensorInfo] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(pairs) = value.value else {
                    throw .invalidHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (key, item) in pairs {
                    guard case let .string(text) = item.value else {
                        throw .invalidHeader(path: path, reason: "__metadata__ value for \"\(key)\" is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            infos.append(try parseEntry(name: name, value: value, path: path, bufferSize: bufferSize))
        }

        // Data past the end of the file: a truncated file (or offsets pointing outside it).
        if let last = infos.max(by: { $0.dataOffsets.upperBound < $1.dataOffsets.upperBound }),
           last.dataOffsets.upperBound > bufferSize {
            let fileSize = 8 + header.count + bufferSize
            throw .truncated(path: path, needed: 8 + header.count + last.dataOffsets.upperBound, actual: fileSize)
        }
        // Tensors sorted by offset must tile the buffer exactly: no overlap, no hole, no tail.
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var cursor = 0
        var previous: String? = nil
        for info in infos {
            let r = info.dataOffsets
            if r.lowerBound < cursor, let previous {
                throw .overlappingTensors(path: path, first: previous, second: info.name)
            }
            if r.lowerBound > cursor { throw .uncoveredBytes(path: path, range: cursor..<r.lowerBound) }
            if !r.isEmpty || previous == nil { previous = info.name }
            cursor = max(cursor, r.upperBound)
        }
        if cursor < bufferSize { throw .uncoveredBytes(path: path, range: cursor..<bufferSize) }
        return (metadata, infos)
    }

    private static func parseEntry(name: String, value: JSONNode, path: String, bufferSize: Int)
        throws(SafeTensorsError) -> SafeTensorInfo {
        func bad(_ reason: String) -> SafeTensorsError { .invalidTensorEntry(path: path, tensor: name, reason: reason) }
        guard case let .object(fields) = value.value else { throw bad("entry is not an object") }
        var dtypeText: String?, shapeValue: JSONNode?, offsetsValue: JSONNode?
        for (key, field) in fields {
            switch key {
            case "dtype":
                guard case let .string(s) = field.value else { throw bad("dtype is not a string") }
                dtypeText = s
            case "shape": shapeValue = field
            case "data_offsets": offsetsValue = field
            default: throw bad("unknown field \"\(key)\"")
            }
        }
        guard let dtypeText else { throw bad("missing dtype") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeText) else { throw bad("unknown dtype \"\(dtypeText)\"") }
        guard case let .array(dims)? = shapeValue?.value else { throw bad("missing or non-array shape") }
        guard case let .array(offsets)? = offsetsValue?.value, offsets.count == 2 else {
            throw bad("data_offsets must be an array [begin, end]")
        }
        var shape: [Int] = []
        var count = 1
        var overflow = false
        for dim in dims {
            guard let d = dim.nonNegativeInt else { throw bad("shape entries must be non-negative integers") }
            shape.append(d)
            (count, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw bad("shape \(shape)… has too many elements") }
        }
        let (bits, bitsOverflow) = count.multipliedReportingOverflow(by: dtype.bitSize)
        guard !bitsOverflow, bits % 8 == 0 else { throw bad("shape \(shape) of \(dtype.rawValue) is not a whole number of bytes") }
        guard let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw bad("data_offsets must be non-negative integers")
        }
        guard begin <= end else { throw bad("data_offsets begin \(begin) is after end \(end)") }
        guard end - begin == bits / 8 else {
            throw .sizeMismatch(path: path, tensor: name, expectedBytes: bits / 8, actualBytes: end - begin)
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: count)
    }

    public func info(named name: String) throws(SafeTensorsError) -> SafeTensorInfo {
        guard let i = index[name] else { throw .tensorNotFound(path: url.path, name: name) }
        return infos[i]
    }

    /// The raw little-endian bytes of a tensor (valid only inside `body`).
    public func withRawBytes<R>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(named: name)
        return try body(UnsafeRawBufferPointer(rebasing: data[info.dataOffsets]))
    }

    /// Converts a F32/F16/BF16/F64 tensor to Float into `destination` (at least `elementCount` long).
    public func read(named name: String, into destination: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        let info = try info(named: name)
        guard info.dtype.convertsToFloat else {
            throw .unsupportedDType(path: url.path, tensor: name, dtype: info.dtype)
        }
        guard destination.count >= info.elementCount else {
            throw .destinationTooSmall(path: url.path, tensor: name, needed: info.elementCount, given: destination.count)
        }
        let n = info.elementCount
        guard n > 0, let out = destination.baseAddress, let base = data.baseAddress else { return }
        let src = base + info.dataOffsets.lowerBound
        switch info.dtype {
        case .f32:
            // memcpy: the offset need not be 4-aligned in files from other writers.
            memcpy(out, src, n &* 4)
        case .f16:
            for i in 0..<n {
                out[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))))
            }
        case .bf16:
            for i in 0..<n {
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
                out[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f64:
            for i in 0..<n {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))))
            }
        default:
            break
        }
    }

    /// A tensor converted to Float (F32, F16, BF16 or F64 in the file).
    public func tensor(named name: String) throws(SafeTensorsError) -> (shape: [Int], values: [Float]) {
        let info = try info(named: name)
        guard info.dtype.convertsToFloat else {
            throw .unsupportedDType(path: url.path, tensor: name, dtype: info.dtype)
        }
        var values = [Float](repeating: 0, count: info.elementCount)
        var outcome: Result<Void, SafeTensorsError> = .success(())
        values.withUnsafeMutableBufferPointer { buffer in
            outcome = Result { () throws(SafeTensorsError) in try read(named: name, into: buffer) }
        }
        try outcome.get()
        return (info.shape, values)
    }
}
