import Foundation

/// The subset of an ONNX model (onnx/onnx.proto3) that importing weights needs: the
/// graph's initializers (name, shape, values as Float), its nodes (name, op type, input and output
/// names) and the graph's input and output names. Everything else in the file is skipped.
///
/// Read with a small protobuf wire-format decoder rather than generated code: the subset is a dozen
/// fields of five messages, and a generated onnx.pb.swift plus the SwiftProtobuf runtime would add a
/// dependency and thousands of lines for it (docs/piper.md). `OnnxGraph` (OnnxWriter.swift) writes it.
public struct OnnxModel: Sendable {
    public struct Initializer: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
        /// ONNX `TensorProto.DataType` (1 float, 7 int64, …): integer initializers are shapes and indices, not weights.
        public let dataType: Int
        public var isFloatingPoint: Bool { [1, 10, 11, 16].contains(dataType) }
    }
    public struct Node: Sendable {
        public let name: String
        public let opType: String
        public let inputs: [String]
        public let outputs: [String]
        /// Integer and integer-list attributes (`strides`, `dilations`, `group`, …).
        public let ints: [String: [Int]]
    }

    public let path: String
    public var producer: String = ""
    public var opset: Int = 0
    public var initializers: [Initializer] = []
    public var nodes: [Node] = []
    public var inputs: [String] = []
    public var outputs: [String] = []

    public init(url: URL) throws(OnnxError) {
        path = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .cannotOpen(path: url.path, reason: error.localizedDescription)
        }
        let outcome: Result<Void, OnnxError> = data.withUnsafeBytes { raw in
            var reader = ProtoReader(bytes: raw, path: url.path)
            do throws(OnnxError) { try parseModel(&reader); return .success(()) } catch { return .failure(error) }
        }
        try outcome.get()
        guard !nodes.isEmpty else { throw .invalid(path: url.path, reason: "the file holds no graph nodes (not an ONNX model)") }
    }

    /// The nodes that read `name`, with the input position at which they read it.
    public func consumers(of name: String) -> [(node: Node, index: Int)] {
        var out: [(Node, Int)] = []
        for n in nodes { for (i, input) in n.inputs.enumerated() where input == name { out.append((n, i)) } }
        return out
    }

    mutating func parseModel(_ r: inout ProtoReader) throws(OnnxError) {
        while let (field, wire) = try r.tag() {
            switch (field, wire) {
            case (2, 2): producer = try r.string()
            case (7, 2): var g = try r.message(); try parseGraph(&g)
            case (8, 2):
                var o = try r.message()
                var domain = "", version = 0
                while let (f, w) = try o.tag() {
                    if f == 1, w == 2 { domain = try o.string() } else if f == 2, w == 0 { version = Int(truncatingIfNeeded: try o.varint()) } else { try o.skip(w) }
                }
                if domain.isEmpty || domain == "ai.onnx" { opset = version }
            default: try r.skip(wire)
            }
        }
    }

    mutating func parseGraph(_ r: inout ProtoReader) throws(OnnxError) {
        while let (field, wire) = try r.tag() {
            switch (field, wire) {
            case (1, 2): var n = try r.message(); nodes.append(try Self.parseNode(&n))
            case (5, 2): var t = try r.message(); initializers.append(try Self.parseTensor(&t, path: path))
            case (11, 2), (12, 2):
                var v = try r.message()
                var name = ""
                while let (f, w) = try v.tag() { if f == 1, w == 2 { name = try v.string() } else { try v.skip(w) } }
                if field == 11 { inputs.append(name) } else { outputs.append(name) }
            default: try r.skip(wire)
            }
        }
    }

    static func parseNode(_ r: inout ProtoReader) throws(OnnxError) -> Node {
        var name = "", op = "", inputs: [String] = [], outputs: [String] = []
        var ints: [String: [Int]] = [:]
        while let (field, wire) = try r.tag() {
            switch (field, wire) {
            case (1, 2): inputs.append(try r.string())
            case (2, 2): outputs.append(try r.string())
            case (3, 2): name = try r.string()
            case (4, 2): op = try r.string()
            case (5, 2):
                // AttributeProto: name (1), i (3), ints (8); other kinds are skipped.
                var a = try r.message()
                var attribute = "", values: [Int] = []
                while let (f, w) = try a.tag() {
                    switch (f, w) {
                    case (1, 2): attribute = try a.string()
                    case (3, 0), (8, 0): values.append(Int(truncatingIfNeeded: Int64(bitPattern: try a.varint())))
                    case (8, 2): var p = try a.message(); while !p.atEnd { values.append(Int(truncatingIfNeeded: Int64(bitPattern: try p.varint()))) }
                    default: try a.skip(w)
                    }
                }
                if !values.isEmpty { ints[attribute] = values }
            default: try r.skip(wire)
            }
        }
        return Node(name: name, opType: op, inputs: inputs, outputs: outputs, ints: ints)
    }

    static func parseTensor(_ r: inout ProtoReader, path: String) throws(OnnxError) -> Initializer {
        var name = "", dims: [Int] = [], dataType = 0
        var raw: [UInt8]? = nil
        var floats: [Float] = [], doubles: [Double] = [], int64s: [Int64] = [], int32s: [Int32] = []
        var external = false
        while let (field, wire) = try r.tag() {
            switch (field, wire) {
            case (1, 0): dims.append(Int(truncatingIfNeeded: Int64(bitPattern: try r.varint())))
            case (1, 2): var p = try r.message(); while !p.atEnd { dims.append(Int(truncatingIfNeeded: Int64(bitPattern: try p.varint()))) }
            case (2, 0): dataType = Int(truncatingIfNeeded: try r.varint())
            case (4, 5): floats.append(Float(bitPattern: try r.fixed32()))
            case (4, 2): var p = try r.message(); while !p.atEnd { floats.append(Float(bitPattern: try p.fixed32())) }
            case (5, 0): int32s.append(Int32(truncatingIfNeeded: Int64(bitPattern: try r.varint())))
            case (5, 2): var p = try r.message(); while !p.atEnd { int32s.append(Int32(truncatingIfNeeded: Int64(bitPattern: try p.varint()))) }
            case (7, 0): int64s.append(Int64(bitPattern: try r.varint()))
            case (7, 2): var p = try r.message(); while !p.atEnd { int64s.append(Int64(bitPattern: try p.varint())) }
            case (8, 2): name = try r.string()
            case (9, 2): raw = try r.byteArray()
            case (10, 1): doubles.append(Double(bitPattern: try r.fixed64()))
            case (10, 2): var p = try r.message(); while !p.atEnd { doubles.append(Double(bitPattern: try p.fixed64())) }
            case (14, 0): external = try r.varint() == 1
            default: try r.skip(wire)
            }
        }
        guard !external else {
            throw .unsupported(path: path, reason: "initializer \(name) keeps its data in an external file (models over 2 GB); not supported")
        }
        guard dims.allSatisfy({ $0 >= 0 }) else { throw .invalid(path: path, reason: "initializer \(name) has negative dimensions \(dims)") }
        let count = dims.reduce(1, *)
        var values: [Float]
        if let raw {
            let size: Int
            switch dataType {
            case 1, 6: size = 4
            case 7, 11: size = 8
            case 10, 16: size = 2
            default: throw .unsupported(path: path, reason: "initializer \(name) has ONNX data type \(dataType) (float, float16, bfloat16, double and integers are read)")
            }
            guard raw.count == count * size else {
                throw .invalid(path: path, reason: "initializer \(name): \(raw.count) bytes of data for shape \(dims) (\(count * size) expected)")
            }
            values = [Float](repeating: 0, count: count)
            raw.withUnsafeBytes { b in
                for i in 0..<count {
                    switch dataType {
                    case 1: values[i] = b.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                    case 6: values[i] = Float(b.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                    case 7: values[i] = Float(b.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                    case 11: values[i] = Float(b.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                    case 10: values[i] = Float(Float16(bitPattern: b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                    default: values[i] = Float(bitPattern: UInt32(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16)
                    }
                }
            }
        } else {
            switch dataType {
            case 1: values = floats
            case 11: values = doubles.map(Float.init)
            case 7: values = int64s.map(Float.init)
            case 6: values = int32s.map(Float.init)
            // float16 / bfloat16 without raw_data sit in int32_data, one 16-bit pattern each.
            case 10: values = int32s.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) }
            case 16: values = int32s.map { Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: $0)) << 16) }
            default: throw .unsupported(path: path, reason: "initializer \(name) has ONNX data type \(dataType)")
            }
            guard values.count == count else {
                throw .invalid(path: path, reason: "initializer \(name): \(values.count) values for shape \(dims)")
            }
        }
        return Initializer(name: name, shape: dims, values: values, dataType: dataType)
    }
}

public enum OnnxError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case invalid(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .invalid(path, reason): return "\(path): not a valid ONNX model: \(reason)"
        case let .unsupported(path, reason): return "\(path): \(reason)"
        }
    }
}

/// Protocol-buffer wire format over a byte range: tags, varints, fixed-width and length-delimited fields.
struct ProtoReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position: Int
    let end: Int

    init(bytes: UnsafeRawBufferPointer, path: String, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes; self.path = path; position = start; self.end = end ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    func fail(_ reason: String) -> OnnxError { .invalid(path: path, reason: "\(reason) at byte \(position)") }

    mutating func varint() throws(OnnxError) -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard position < end else { throw fail("a varint runs past its message (truncated file)") }
            let b = bytes[position]
            position += 1
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw fail("a varint is longer than 10 bytes") }
        }
    }

    /// The next field number and wire type, or nil at the end of the message.
    mutating func tag() throws(OnnxError) -> (Int, Int)? {
        if atEnd { return nil }
        let key = try varint()
        return (Int(truncatingIfNeeded: key >> 3), Int(key & 7))
    }

    mutating func fixed32() throws(OnnxError) -> UInt32 {
        guard position + 4 <= end else { throw fail("a 32-bit field runs past its message") }
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func fixed64() throws(OnnxError) -> UInt64 {
        guard position + 8 <= end else { throw fail("a 64-bit field runs past its message") }
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    mutating func lengthDelimited() throws(OnnxError) -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - position) else { throw fail("a field of \(n) bytes runs past its message (truncated file)") }
        let range = position..<(position + Int(n))
        position += Int(n)
        return range
    }

    mutating func message() throws(OnnxError) -> ProtoReader {
        let r = try lengthDelimited()
        return ProtoReader(bytes: bytes, path: path, start: r.lowerBound, end: r.upperBound)
    }

    mutating func byteArray() throws(OnnxError) -> [UInt8] { let r = try lengthDelimited(); return Array(bytes[r]) }

    mutating func string() throws(OnnxError) -> String {
        let r = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    mutating func skip(_ wire: Int) throws(OnnxError) {
        switch wire {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw fail("unsupported wire type \(wire) (groups are not used by ONNX)")
        }
    }
}
