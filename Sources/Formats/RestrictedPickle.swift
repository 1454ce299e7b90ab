import Foundation

/// A value of a pickle as the restricted unpickler rebuilds it: plain data only. Nothing is ever
/// imported or called; the few globals a PyTorch state dict names are interpreted by name
/// (`RestrictedUnpickler.allowedGlobals`), every other global is refused.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A tensor: a view (offset, shape, stride, in elements) of a storage of the archive.
    case tensor(TorchTensorRef)
    /// A storage reference from a persistent id (`('storage', type, key, location, numel)`).
    case storage(TorchStorageRef)
    /// An allowed global before it is applied (`REDUCE` / `NEWOBJ` turn it into a value).
    case global(String)

    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return "\(i)"
        case .float(let f): return "\(f)"
        case .string(let s): return "'\(s)'"
        case .bytes(let b): return "bytes(\(b.count))"
        case .tuple(let t): return "(" + t.map(\.description).joined(separator: ", ") + ")"
        case .list(let l): return "[\(l.items.count) items]"
        case .dict(let d): return "{\(d.entries.count) entries}"
        case .tensor(let t): return "tensor(\(t.storage.dtype) \(t.shape))"
        case .storage(let s): return "storage(\(s.dtype) \(s.key))"
        case .global(let g): return g
        }
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var dict: PickleDict? { if case .dict(let d) = self { return d }; return nil }
    public var tensor: TorchTensorRef? { if case .tensor(let t) = self { return t }; return nil }
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let f): return f
        case .bool(let b): return b ? 1 : 0
        case .tensor: return nil
        default: return nil
        }
    }
    /// A list's or a tuple's items.
    public var items: [PickleValue]? {
        switch self {
        case .list(let l): return l.items
        case .tuple(let t): return t
        default: return nil
        }
    }
}

/// A pickled list (a class: pickles append to a list after memoizing it, and later references share it).
public final class PickleList { public var items: [PickleValue] = []; init(_ items: [PickleValue] = []) { self.items = items } }

/// A pickled dict in insertion order.
public final class PickleDict {
    public var entries: [(key: PickleValue, value: PickleValue)] = []
    init() {}
    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key, let i = entries.firstIndex(where: { $0.key.string == s }) {
            entries[i].value = value
        } else {
            entries.append((key, value))
        }
    }
    /// The value under a string key.
    public subscript(_ key: String) -> PickleValue? { entries.first { $0.key.string == key }?.value }
    /// Entries whose keys are strings, in order.
    public var stringKeyed: [(String, PickleValue)] { entries.compactMap { e in e.key.string.map { ($0, e.value) } } }
}

/// Element types of the storages a checkpoint may hold.
public enum TorchDType: String, Sendable, Equatable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// The storage class names of `torch.save` (`torch.FloatStorage`, …).
    static let storageClasses: [String: TorchDType] = [
        "torch.FloatStorage": .float32, "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16,
        "torch.DoubleStorage": .float64, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ShortStorage": .int16, "torch.CharStorage": .int8, "torch.ByteStorage": .uint8, "torch.BoolStorage": .bool,
    ]
}

public struct TorchStorageRef: Sendable, Equatable {
    public let key: String
    public let dtype: TorchDType
    public let elementCount: Int
}

public struct TorchTensorRef: Sendable, Equatable {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let stride: [Int]
    public var elementCount: Int { shape.reduce(1, *) }
}

public enum PickleError: Error, CustomStringConvertible, Equatable {
    /// A global outside the allow-list: the pickle would import or call it.
    case refusedGlobal(source: String, name: String)
    case unsupportedOpcode(source: String, opcode: UInt8, offset: Int)
    case malformed(source: String, reason: String, offset: Int)

    public var description: String {
        switch self {
        case let .refusedGlobal(source, name):
            return "\(source): refused: the pickle names the global '\(name)', which is not part of a PyTorch state dict. "
                + "This file would import or run code when loaded with torch.load; nothing was executed. "
                + "Allowed: \(RestrictedUnpickler.allowedGlobals.sorted().joined(separator: ", "))"
        case let .unsupportedOpcode(source, opcode, offset):
            return "\(source): refused: pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) is not supported by the restricted reader"
        case let .malformed(source, reason, offset):
            return "\(source): damaged pickle at byte \(offset): \(reason)"
        }
    }
}

/// Reads pickles (protocols 2–5) into `PickleValue`s without importing or calling anything.
///
/// Globals are matched by name against `allowedGlobals` and given a fixed, data-only meaning
/// (`_rebuild_tensor_v2` → a tensor view, `OrderedDict` → a dict, `pathlib.PosixPath` → its path
/// text, …). Any other global — `os.system`, `builtins.eval`, a class of the training code — stops
/// the read with `PickleError.refusedGlobal` naming it.
public struct RestrictedUnpickler {
    public static let allowedGlobals: Set<String> = [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
        "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
        "torch.BoolStorage",
        // Data-only types found in Lightning checkpoints' hyper-parameters and loop state.
        "builtins.set", "builtins.frozenset", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
        "lightning.fabric.utilities.data.AttributeDict", "pytorch_lightning.utilities.parsing.AttributeDict",
        "torch.torch_version.TorchVersion", "_codecs.encode",
    ]

    let bytes: [UInt8]
    let source: String
    var position = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], source: String) { self.bytes = bytes; self.source = source }

    /// Unpickles `bytes` (`source` names the file in messages).
    public static func load(_ bytes: [UInt8], source: String) throws(PickleError) -> PickleValue {
        var reader = RestrictedUnpickler(bytes: bytes, source: source)
        return try reader.run()
    }

    func fail(_ reason: String) -> PickleError { .malformed(source: source, reason: reason, offset: position) }

    mutating func take(_ n: Int) throws(PickleError) -> ArraySlice<UInt8> {
        guard n >= 0, position + n <= bytes.count else { throw fail("needs \(n) more bytes, the pickle ends (truncated)") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }
    mutating func u8() throws(PickleError) -> UInt8 { try take(1).first! }
    mutating func uint(_ n: Int) throws(PickleError) -> UInt64 {
        let s = try take(n)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }
    mutating func line() throws(PickleError) -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("unterminated text line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }
    mutating func pop() throws(PickleError) -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }
    mutating func popMark() throws(PickleError) -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("no MARK for this opcode") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }
    mutating func text(_ n: Int) throws(PickleError) -> String {
        let s = try take(n)
        guard let t = String(validating: s, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return t
    }
    mutating func length(_ n: Int) throws(PickleError) -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count - position) else { throw fail("a length of \(v) bytes runs past the end (truncated)") }
        return Int(v)
    }

    mutating func run() throws(PickleError) -> PickleValue {
        while true {
            let opStart = position
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()                                   // PROTO
            case 0x95: _ = try uint(8)                                // FRAME (framing is advisory)
            case 0x2E:                                                // STOP
                guard let top = stack.popLast() else { throw fail("STOP with an empty stack") }
                return top
            case 0x28: marks.append(stack.count)                      // MARK
            case 0x4E: stack.append(.none)                            // NONE
            case 0x88: stack.append(.bool(true))                      // NEWTRUE
            case 0x89: stack.append(.bool(false))                     // NEWFALSE
            case 0x4A: stack.append(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x4B: stack.append(.int(Int64(try u8())))            // BININT1
            case 0x4D: stack.append(.int(Int64(try uint(2))))         // BININT2
            case 0x8A, 0x8B:                                          // LONG1, LONG4
                let n = op == 0x8A ? Int(try u8()) : try length(4)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
                let s = try take(n)
                var v: UInt64 = 0
                for (i, b) in s.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                if n > 0, n < 8, (s.last! & 0x80) != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }   // sign-extend
                stack.append(.int(Int64(bitPattern: v)))
            case 0x47:                                                // BINFLOAT (big-endian)
                let s = try take(8)
                var v: UInt64 = 0
                for b in s { v = v << 8 | UInt64(b) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x58: stack.append(.string(try text(try length(4))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(Int(try u8()))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try length(8))))  // BINUNICODE8
            case 0x55: stack.append(.string(String(decoding: try take(Int(try u8())), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x54: stack.append(.string(String(decoding: try take(try length(4)), as: UTF8.self)))  // BINSTRING
            case 0x43: stack.append(.bytes(Array(try take(Int(try u8())))))   // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Array(try take(try length(4)))))   // BINBYTES
            case 0x8E: stack.append(.bytes(Array(try take(try length(8)))))   // BINBYTES8
            case 0x29: stack.append(.tuple([]))                       // EMPTY_TUPLE
            case 0x85: stack.append(.tuple([try pop()]))              // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))   // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x74: stack.append(.tuple(try popMark()))            // TUPLE
            case 0x5D: stack.append(.list(PickleList()))              // EMPTY_LIST
            case 0x6C: stack.append(.list(PickleList(try popMark()))) // LIST
            case 0x7D: stack.append(.dict(PickleDict()))              // EMPTY_DICT
            case 0x8F: stack.append(.list(PickleList()))              // EMPTY_SET (kept as a list)
            case 0x64:                                                // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                let d = PickleDict()
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
                stack.append(.dict(d))
            case 0x91: stack.append(.list(PickleList(try popMark()))) // FROZENSET
            case 0x61:                                                // APPEND
                let v = try pop()
                guard case .list(let l)? = stack.last else { throw fail("APPEND to a non-list") }
                l.items.append(v)
            case 0x65, 0x90:                                          // APPENDS, ADDITEMS
                let vs = try popMark()
                guard case .list(let l)? = stack.last else { throw fail("APPENDS to a non-list") }
                l.items.append(contentsOf: vs)
            case 0x73:                                                // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEM on a non-dict") }
                d.set(k, v)
            case 0x75:                                                // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                guard case .dict(let d)? = stack.last else { throw fail("SETITEMS on a non-dict") }
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            case 0x71: memo[Int(try u8())] = stack.last               // BINPUT
            case 0x72: memo[Int(try uint(4))] = stack.last            // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                  // MEMOIZE
            case 0x68, 0x6A:                                          // BINGET, LONG_BINGET
                let i = op == 0x68 ? Int(try u8()) : Int(try uint(4))
                guard let v = memo[i] else { throw fail("memo entry \(i) is undefined") }
                stack.append(v)
            case 0x30: _ = try pop()                                  // POP
            case 0x31: _ = try popMark()                              // POP_MARK
            case 0x32: guard let top = stack.last else { throw fail("DUP on an empty stack") }; stack.append(top)  // DUP
            case 0x63:                                                // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module + "." + name))
            case 0x93:                                                // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let n = name.string, let m = module.string else { throw fail("STACK_GLOBAL without two strings") }
                stack.append(try global(m + "." + n))
            case 0x52:                                                // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try apply(callable, args))
            case 0x81:                                                // NEWOBJ
                let args = try pop(), cls = try pop()
                stack.append(try apply(cls, args))
            case 0x92:                                                // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                stack.append(try apply(cls, args))
            case 0x62:                                                // BUILD: object state
                // The state of the allowed types is metadata (OrderedDict's `_metadata`, tensor
                // hooks); it never changes the data, so it is dropped. A dict's state merges in.
                _ = try pop()
            case 0x51:                                                // BINPERSID
                stack.append(try persistent(try pop()))
            default:
                position = opStart
                throw PickleError.unsupportedOpcode(source: source, opcode: op, offset: opStart)
            }
        }
    }

    func global(_ name: String) throws(PickleError) -> PickleValue {
        guard Self.allowedGlobals.contains(name) else { throw PickleError.refusedGlobal(source: source, name: name) }
        return .global(name)
    }

    /// The meaning of calling an allowed global with `args`.
    func apply(_ callable: PickleValue, _ args: PickleValue) throws(PickleError) -> PickleValue {
        guard case .global(let name) = callable else { throw fail("REDUCE on \(callable), which is not a callable") }
        let a = args.items ?? []
        switch name {
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let storage) = a[0], case .int(let offset) = a[1],
                  let sizeItems = a[2].items, let strideItems = a[3].items else {
                throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, …)")
            }
            var shape: [Int] = [], stride: [Int] = []
            for s in sizeItems { guard case .int(let v) = s, v >= 0 else { throw fail("bad tensor size \(sizeItems)") }; shape.append(Int(v)) }
            for s in strideItems { guard case .int(let v) = s, v >= 0 else { throw fail("bad tensor stride \(strideItems)") }; stride.append(Int(v)) }
            guard shape.count == stride.count, offset >= 0 else { throw fail("tensor size \(shape) and stride \(stride) disagree") }
            // The last element the view touches must lie inside the storage.
            if !shape.contains(0) {
                let last = Int(offset) + zip(shape, stride).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
                guard last < storage.elementCount else {
                    throw fail("tensor view (offset \(offset), size \(shape), stride \(stride)) overruns its storage of \(storage.elementCount) elements")
                }
            }
            return .tensor(TorchTensorRef(storage: storage, offset: Int(offset), shape: shape, stride: stride))
        case "torch._utils._rebuild_parameter":
            guard let first = a.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        case "collections.OrderedDict", "lightning.fabric.utilities.data.AttributeDict",
             "pytorch_lightning.utilities.parsing.AttributeDict":
            let d = PickleDict()
            if let pairs = a.first?.items {
                for p in pairs { if let kv = p.items, kv.count == 2 { d.set(kv[0], kv[1]) } }
            } else if let source = a.first?.dict {
                for e in source.entries { d.set(e.key, e.value) }
            }
            return .dict(d)
        case "builtins.set", "builtins.frozenset":
            return .list(PickleList(a.first?.items ?? []))
        case "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath":
            let parts = a.compactMap(\.string)
            return .string(parts.joined(separator: "/").replacingOccurrences(of: "//", with: "/"))
        case "torch.torch_version.TorchVersion":
            return a.first ?? .string("")
        case "_codecs.encode":
            guard let text = a.first?.string else { throw fail("_codecs.encode without a string") }
            // Protocol 2 writes bytes as their latin-1 text.
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default:
            throw fail("\(name) cannot be called")
        }
    }

    /// `('storage', storage class, key, location, numel)` → a storage reference.
    func persistent(_ pid: PickleValue) throws(PickleError) -> PickleValue {
        guard let t = pid.items, t.count >= 5, t[0].string == "storage", case .global(let cls) = t[1],
              let key = t[2].string, case .int(let numel) = t[4], numel >= 0 else {
            throw fail("persistent id \(pid) is not a torch storage reference")
        }
        guard let dtype = TorchDType.storageClasses[cls] else { throw fail("\(cls) is not a storage class") }
        return .storage(TorchStorageRef(key: key, dtype: dtype, elementCount: Int(numel)))
    }
}
