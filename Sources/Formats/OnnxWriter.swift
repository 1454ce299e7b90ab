import Foundation

/// The write side of the ONNX subset `OnnxModel` reads: a graph of nodes over named values, float
/// and int64 initializers, typed graph inputs and outputs with symbolic dimensions, one opset.
/// Serialised with `ProtoWriter`, the wire-format encoder beside `ProtoReader` (docs/piper.md says
/// why there is no generated protobuf code).
///
/// Field numbers are onnx/onnx.proto3's: ModelProto (ir_version 1, producer_name 2,
/// producer_version 3, graph 7, opset_import 8), GraphProto (node 1, name 2, initializer 5, input 11,
/// output 12), NodeProto (input 1, output 2, name 3, op_type 4, attribute 5), AttributeProto (name 1,
/// f 2, i 3, s 4, t 5, floats 7, ints 8, type 20), TensorProto (dims 1, data_type 2, name 8,
/// raw_data 9), ValueInfoProto (name 1, type 2), TypeProto.tensor_type 1 (elem_type 1, shape 2),
/// TensorShapeProto.dim 1 (dim_value 1, dim_param 2).
public struct OnnxGraph: Sendable {
    /// `TensorProto.DataType`.
    public enum ElementType: Int, Sendable {
        case float = 1, bool = 9, int64 = 7
    }

    /// A tensor literal: an initializer or a `Constant` node's value. Data is little-endian raw bytes.
    public struct TensorLiteral: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var type: ElementType
        public var raw: [UInt8]

        public init(name: String = "", floats: [Float], shape: [Int]) {
            precondition(floats.count == shape.reduce(1, *), "tensor literal \(name): \(floats.count) values for shape \(shape)")
            self.name = name; self.shape = shape; type = .float
            raw = [UInt8](repeating: 0, count: floats.count * 4)
            raw.withUnsafeMutableBytes { b in for (i, v) in floats.enumerated() { b.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) } }
        }

        public init(name: String = "", int64s: [Int], shape: [Int]) {
            precondition(int64s.count == shape.reduce(1, *), "tensor literal \(name): \(int64s.count) values for shape \(shape)")
            self.name = name; self.shape = shape; type = .int64
            raw = [UInt8](repeating: 0, count: int64s.count * 8)
            raw.withUnsafeMutableBytes { b in for (i, v) in int64s.enumerated() { b.storeBytes(of: Int64(v).littleEndian, toByteOffset: i * 8, as: Int64.self) } }
        }
    }

    public enum Attribute: Sendable, Equatable {
        case int(Int)
        case ints([Int])
        case float(Float)
        case floats([Float])
        case string(String)
        case tensor(TensorLiteral)
    }

    /// A dimension of a graph input or output: fixed, or named (dynamic, e.g. `batch_size`).
    public enum Dimension: Sendable, Equatable {
        case fixed(Int)
        case symbolic(String)
    }

    public struct ValueInfo: Sendable, Equatable {
        public var name: String
        public var type: ElementType
        public var shape: [Dimension]
        public init(name: String, type: ElementType, shape: [Dimension]) { self.name = name; self.type = type; self.shape = shape }
    }

    public struct Node: Sendable, Equatable {
        public var opType: String
        public var name: String
        public var inputs: [String]
        public var outputs: [String]
        public var attributes: [(String, Attribute)]

        public static func == (a: Node, b: Node) -> Bool {
            a.opType == b.opType && a.name == b.name && a.inputs == b.inputs && a.outputs == b.outputs
                && a.attributes.map(\.0) == b.attributes.map(\.0) && a.attributes.map(\.1) == b.attributes.map(\.1)
        }
    }

    public var name: String
    public var opset: Int
    public var producer: String
    public var producerVersion: String
    public private(set) var nodes: [Node] = []
    public private(set) var initializers: [TensorLiteral] = []
    public var inputs: [ValueInfo] = []
    public var outputs: [ValueInfo] = []
    private var initializerNames: Set<String> = []
    private var counter = 0

    public init(name: String, opset: Int, producer: String, producerVersion: String) {
        self.name = name; self.opset = opset; self.producer = producer; self.producerVersion = producerVersion
    }

    /// A fresh value name (`prefix_N`), unique in the graph.
    public mutating func freshName(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_\(counter)"
    }

    public func hasInitializer(_ name: String) -> Bool { initializerNames.contains(name) }

    /// Adds an initializer; a name may be added once.
    public mutating func addInitializer(_ t: TensorLiteral) {
        precondition(!initializerNames.contains(t.name), "ONNX initializer \(t.name) added twice")
        initializerNames.insert(t.name)
        initializers.append(t)
    }

    /// Appends a node; returns its output names (fresh names unless given).
    @discardableResult
    public mutating func addNode(_ opType: String, _ inputs: [String], name: String? = nil, outputs: [String]? = nil,
                                 outputCount: Int = 1, attributes: [(String, Attribute)] = []) -> [String] {
        let nodeName = name ?? freshName("/" + opType)
        let outs = outputs ?? (0..<outputCount).map { _ in freshName(nodeName + "_output") }
        nodes.append(Node(opType: opType, name: nodeName, inputs: inputs, outputs: outs, attributes: attributes))
        return outs
    }

    /// The serialised `ModelProto` (IR version 8, the ONNX 1.10+ format for opsets up to 15…17).
    public func serialized(irVersion: Int = 8) -> [UInt8] {
        var model = ProtoWriter()
        model.varint(field: 1, UInt64(irVersion))
        model.string(field: 2, producer)
        model.string(field: 3, producerVersion)
        var graph = ProtoWriter()
        for n in nodes { graph.message(field: 1, Self.encode(n)) }
        graph.string(field: 2, name)
        for t in initializers { graph.message(field: 5, Self.encode(t)) }
        for v in inputs { graph.message(field: 11, Self.encode(v)) }
        for v in outputs { graph.message(field: 12, Self.encode(v)) }
        model.message(field: 7, graph)
        var opsetID = ProtoWriter()
        opsetID.string(field: 1, "")
        opsetID.varint(field: 2, UInt64(opset))
        model.message(field: 8, opsetID)
        return model.bytes
    }

    public func write(to url: URL) throws {
        try Data(serialized()).write(to: url, options: .atomic)
    }

    static func encode(_ n: Node) -> ProtoWriter {
        var w = ProtoWriter()
        for i in n.inputs { w.string(field: 1, i) }
        for o in n.outputs { w.string(field: 2, o) }
        w.string(field: 3, n.name)
        w.string(field: 4, n.opType)
        for (name, value) in n.attributes {
            var a = ProtoWriter()
            a.string(field: 1, name)
            switch value {
            case .float(let f): a.fixed32(field: 2, f.bitPattern); a.varint(field: 20, 1)
            case .int(let i): a.varint(field: 3, UInt64(bitPattern: Int64(i))); a.varint(field: 20, 2)
            case .string(let s): a.string(field: 4, s); a.varint(field: 20, 3)
            case .tensor(let t): a.message(field: 5, encode(t)); a.varint(field: 20, 4)
            case .floats(let fs):
                var packed = ProtoWriter()
                for f in fs { packed.rawFixed32(f.bitPattern) }
                a.message(field: 7, packed); a.varint(field: 20, 6)
            case .ints(let xs):
                var packed = ProtoWriter()
                for x in xs { packed.rawVarint(UInt64(bitPattern: Int64(x))) }
                a.message(field: 8, packed); a.varint(field: 20, 7)
            }
            w.message(field: 5, a)
        }
        return w
    }

    static func encode(_ t: TensorLiteral) -> ProtoWriter {
        var w = ProtoWriter()
        if !t.shape.isEmpty {
            var dims = ProtoWriter()
            for d in t.shape { dims.rawVarint(UInt64(bitPattern: Int64(d))) }
            w.message(field: 1, dims)
        }
        w.varint(field: 2, UInt64(t.type.rawValue))
        if !t.name.isEmpty { w.string(field: 8, t.name) }
        w.bytes(field: 9, t.raw)
        return w
    }

    static func encode(_ v: ValueInfo) -> ProtoWriter {
        var shape = ProtoWriter()
        for d in v.shape {
            var dim = ProtoWriter()
            switch d {
            case .fixed(let n): dim.varint(field: 1, UInt64(bitPattern: Int64(n)))
            case .symbolic(let s): dim.string(field: 2, s)
            }
            shape.message(field: 1, dim)
        }
        var tensorType = ProtoWriter()
        tensorType.varint(field: 1, UInt64(v.type.rawValue))
        tensorType.message(field: 2, shape)
        var type = ProtoWriter()
        type.message(field: 1, tensorType)
        var w = ProtoWriter()
        w.string(field: 1, v.name)
        w.message(field: 2, type)
        return w
    }
}

/// Protocol-buffer wire format, write side: the encodings `ProtoReader` decodes.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func rawFixed32(_ value: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func tag(_ field: Int, _ wire: Int) { rawVarint(UInt64(field << 3 | wire)) }

    mutating func varint(field: Int, _ value: UInt64) { tag(field, 0); rawVarint(value) }

    mutating func fixed32(field: Int, _ value: UInt32) { tag(field, 5); rawFixed32(value) }

    mutating func bytes(field: Int, _ data: [UInt8]) {
        tag(field, 2)
        rawVarint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    mutating func string(field: Int, _ s: String) { bytes(field: field, Array(s.utf8)) }

    mutating func message(field: Int, _ m: ProtoWriter) { bytes(field: field, m.bytes) }
}
