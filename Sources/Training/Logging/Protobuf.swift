import Foundation

/// The few protobuf wire-format writes TensorBoard's `Event` messages need (proto3, no codegen:
/// swift-protobuf's build cost is not worth five message types).
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func int64(_ field: Int, _ value: Int64) { key(field, 0); varint(UInt64(bitPattern: value)) }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func data<C: Collection>(_ field: Int, _ value: C) where C.Element == UInt8 {
        key(field, 2); varint(UInt64(value.count)); bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        build(&inner)
        data(field, inner.bytes)
    }
}

/// A decoded protobuf field, for reading event files back (tests, `vits` tooling).
public enum ProtoField: Equatable, Sendable {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    case bytes([UInt8])
}

/// Minimal protobuf reader: splits a message into (field number, value) pairs.
public enum ProtoReader {
    public struct MalformedMessage: Error, CustomStringConvertible {
        public let offset: Int
        public var description: String { "malformed protobuf message at byte \(offset)" }
    }

    public static func fields(_ bytes: [UInt8]) throws -> [(Int, ProtoField)] {
        var out: [(Int, ProtoField)] = []
        var i = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw MalformedMessage(offset: i) }
                let b = bytes[i]; i += 1
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return result }
                shift += 7
            }
        }
        func fixed(_ n: Int) throws -> UInt64 {
            guard i + n <= bytes.count else { throw MalformedMessage(offset: i) }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < bytes.count {
            let k = try varint()
            let field = Int(k >> 3)
            switch k & 7 {
            case 0: out.append((field, .varint(try varint())))
            case 1: out.append((field, .fixed64(try fixed(8))))
            case 5: out.append((field, .fixed32(UInt32(try fixed(4)))))
            case 2:
                let n = Int(try varint())
                guard n >= 0, i + n <= bytes.count else { throw MalformedMessage(offset: i) }
                out.append((field, .bytes(Array(bytes[i..<i + n])))); i += n
            default: throw MalformedMessage(offset: i)
            }
        }
        return out
    }
}
