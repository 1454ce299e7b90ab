import Foundation

/// A JSON document being written: the one value type the toolkit builds its JSON files from
/// (state.json, metrics.jsonl, manifests, voice.json, provenance, CLI `--json` output).
///
/// Integers stay integers (`int`, `uint`: 64-bit words such as RNG states are written exactly, never
/// through a Double); `double` and `float` are written in the shortest form that reads back to the
/// same bits (Swift's `description`). Object members keep the order they were added in; the writer
/// sorts them when asked.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func int(_ v: Int) -> JSONValue { .int(Int64(v)) }

    /// An object from a dictionary (member order is whatever the dictionary gives; write it with
    /// `sortedKeys` for a deterministic file).
    public static func object(_ members: [String: JSONValue]) -> JSONValue {
        .object(members.map { (key: $0.key, value: $0.value) })
    }

    /// Structural equality; object members compare in order. `int`, `uint`, `double` and `float`
    /// holding the same number are equal (`int(3) == uint(3)`, `double(0.5) == float(0.5)`), since
    /// the document cannot tell them apart either; otherwise numbers compare bit for bit (NaN == NaN
    /// of the same payload, -0.0 ≠ 0.0).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default:
            guard let x = a.numberKey, let y = b.numberKey else { return false }
            return x == y
        }
    }

    /// Numbers normalised for `==`: integers by value, floating values by the bits of their Double.
    private var numberKey: NumberKey? {
        switch self {
        case .int(let v): return v >= 0 ? .integer(UInt64(v), negative: false) : .integer(v.magnitude, negative: true)
        case .uint(let v): return .integer(v, negative: false)
        case .double(let v): return NumberKey(v)
        case .float(let v): return NumberKey(Double(v))
        default: return nil
        }
    }

    private enum NumberKey: Equatable {
        case integer(UInt64, negative: Bool)
        case bits(UInt64)
        init(_ v: Double) {
            if v.isFinite, v == v.rounded(), abs(v) < 0x1p63, !(v == 0 && v.sign == .minus) {
                let i = Int64(v)
                self = i >= 0 ? .integer(UInt64(i), negative: false) : .integer(i.magnitude, negative: true)
            } else {
                self = .bits(v.bitPattern)
            }
        }
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// A parsed node as a value: numbers written without fraction or exponent become `int` (or
    /// `uint` past Int64.max) from their exact text; every other number a `double`.
    public init(_ node: JSONNode) {
        switch node.value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.map { (key: $0.key, value: JSONValue($0.node)) })
        case let .number(v, text):
            let integral = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            if integral, let i = Int64(text) { self = .int(i) }
            else if integral, let u = UInt64(text) { self = .uint(u) }
            else { self = .double(v) }
        }
    }
}

/// A value the writer refuses: where (key path, "" for the whole document) and why.
public struct JSONWriteError: Error, CustomStringConvertible, Equatable {
    public let keyPath: String
    public let message: String
    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}

/// Writes `JSONValue` documents deterministically: the same value gives the same bytes.
///
/// - `pretty`: two-space indentation, one member or item per line, `"key": value`, a final newline
///   is not added (callers append one to files). `compact`: one line, no spaces (JSON Lines).
/// - Strings: `"` and `\` escaped, control characters U+0000–U+001F as `\b \f \n \r \t` or `\u00XX`
///   (RFC 8259 §7); everything else, non-ASCII included, written as UTF-8. `/` is not escaped.
/// - Numbers: integers exactly; `double`/`float` via `description`, the shortest text that parses
///   back to the same bits (`0.1`, `1e-05`, `-0.0`, `5e-324`).
/// - Non-finite numbers: JSON has none. By default the writer refuses them with the key path
///   (`NonFinite.refuse`); `NonFinite.null` writes `null` instead, for callers that document it.
public struct JSONWriter: Sendable {
    public enum Style: Sendable { case pretty, compact }
    public enum NonFinite: Sendable { case refuse, null }

    public var style: Style
    public var sortedKeys: Bool
    public var nonFinite: NonFinite
    /// Writes a `double`/`float` whose shortest form ends in ".0" without it (`1`, `-0`), as
    /// Foundation's serializer did; only for reproducing text hashed by earlier versions.
    public var dropsZeroFraction = false

    public init(style: Style = .pretty, sortedKeys: Bool = false, nonFinite: NonFinite = .refuse) {
        self.style = style; self.sortedKeys = sortedKeys; self.nonFinite = nonFinite
    }

    /// The document as UTF-8 bytes (no trailing newline).
    public func data(_ value: JSONValue) throws(JSONWriteError) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        var path: [String] = []
        try write(value, into: &out, depth: 0, path: &path)
        return Data(out)
    }

    /// The document as a String (no trailing newline).
    public func string(_ value: JSONValue) throws(JSONWriteError) -> String {
        String(decoding: try data(value), as: UTF8.self)
    }

    private func keyPath(_ path: [String]) -> String {
        var s = ""
        for p in path {
            if p.hasPrefix("[") { s += p } else { s += s.isEmpty ? p : "." + p }
        }
        return s
    }

    private func newline(_ out: inout [UInt8], depth: Int) {
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    private func write(_ value: JSONValue, into out: inout [UInt8], depth: Int, path: inout [String]) throws(JSONWriteError) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .uint(let u): out.append(contentsOf: String(u).utf8)
        case .double(let d): try number(d.isFinite ? d.description : nil, d, into: &out, path: path)
        case .float(let f): try number(f.isFinite ? f.description : nil, Double(f), into: &out, path: path)
        case .string(let s): JSONWriter.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if style == .pretty { newline(&out, depth: depth + 1) }
                path.append("[\(i)]")
                try write(item, into: &out, depth: depth + 1, path: &path)
                path.removeLast()
            }
            if style == .pretty, !items.isEmpty { newline(&out, depth: depth) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            let ordered = sortedKeys ? members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : members
            out.append(UInt8(ascii: "{"))
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if style == .pretty { newline(&out, depth: depth + 1) }
                JSONWriter.appendQuoted(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                if style == .pretty { out.append(UInt8(ascii: " ")) }
                path.append(member.key)
                try write(member.value, into: &out, depth: depth + 1, path: &path)
                path.removeLast()
            }
            if style == .pretty, !ordered.isEmpty { newline(&out, depth: depth) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private func number(_ text: String?, _ value: Double, into out: inout [UInt8], path: [String]) throws(JSONWriteError) {
        if let text {
            out.append(contentsOf: text.utf8)
            if dropsZeroFraction, text.hasSuffix(".0") { out.removeLast(2) }
            return
        }
        switch nonFinite {
        case .null: out.append(contentsOf: "null".utf8)
        case .refuse:
            throw JSONWriteError(keyPath: keyPath(path), message: "\(value) cannot be written: JSON has no NaN or infinite numbers")
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal (quotes included), escaped per RFC 8259.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `s` as a JSON string literal (quotes included).
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

// Literals, so documents read as JSON in code: `["kind": "finetune", "parent": nil, "rank": 4]`.
extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
                     ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
                     ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Members in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
}

// Typed views of a value (nil when it is of another kind).
extension JSONValue {
    /// An `int`/`uint` in Int's range, or a `double` holding an integer exactly.
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .uint(let u): return Int(exactly: u)
        case .double(let d): return d == d.rounded() && abs(d) < 0x1p53 ? Int(d) : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .double(let d): return d
        case .float(let f): return Double(f)
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// Object members, in order.
    public var members: [(key: String, value: JSONValue)]? { if case .object(let m) = self { return m } else { return nil } }

    /// Sets (replaces in place, or appends) member `key` of an object; other values become an
    /// object holding just that member.
    public mutating func set(_ key: String, _ value: JSONValue) {
        var m = members ?? []
        if let i = m.firstIndex(where: { $0.key == key }) { m[i].value = value } else { m.append((key: key, value: value)) }
        self = .object(m)
    }
}
