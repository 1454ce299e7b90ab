import Foundation

/// A JSON file that could not be read: the file, the 1-based line of the offending value when known,
/// the key path inside the document (`speakers[2].name`, "" for the whole document) and what was
/// expected. Reads as `data/manifest.jsonl:12: speaker_id: expected an integer, found a string`.
public struct JSONReadError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let keyPath: String
    public let message: String

    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file; self.line = line; self.keyPath = keyPath; self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return keyPath.isEmpty ? "\(place): \(message)" : "\(place): \(keyPath): \(message)"
    }
}

/// Reading and writing whole JSON files through the Formats layer: `JSONParser` reads (positions,
/// duplicate keys refused, exact integers), `JSONWriter` writes. Codable types go through
/// `JSONValueEncoder` / `JSONNodeDecoder` below, so their CodingKeys stay the one statement of the
/// file's key names, and a bad value is reported with file, line and key path.
public enum JSONFile {
    /// Parses one document; syntax errors name the file, line and column.
    public static func parse(_ data: Data, file: String, firstLine: Int = 1) throws(JSONReadError) -> JSONNode {
        do { return try JSONParser.parse(data, allowByteOrderMark: true) } catch {
            throw JSONReadError(file: file, line: error.line + firstLine - 1, keyPath: "",
                                message: "column \(error.column): not valid JSON: \(error.message)")
        }
    }

    /// Parses a document whose top level must be an object and returns it as a keyed section
    /// (problems then collect in the section's log; `check` throws them).
    public static func object(_ data: Data, file: String) throws(JSONReadError) -> JSONSection {
        let node = try parse(data, file: file)
        guard case .object(let members) = node.value else {
            throw JSONReadError(file: file, line: node.line, keyPath: "", message: "expected a JSON object, found \(node.typeName)")
        }
        return JSONSection(path: "", members: members, line: node.line, log: JSONIssueLog())
    }

    /// Throws the first problem a section's log recorded (all of them in the message), if any.
    public static func check(_ log: JSONIssueLog, file: String) throws(JSONReadError) {
        guard let first = log.errors.first else { return }
        var message = first.message
        if log.errors.count > 1 {
            message += " (and: " + log.errors.dropFirst().map { issue in
                (issue.line.map { "line \($0): " } ?? "") + issue.description
            }.joined(separator: "; ") + ")"
        }
        throw JSONReadError(file: file, line: first.line, keyPath: first.keyPath, message: message)
    }

    /// Decodes one document into `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(JSONReadError) -> T {
        try decode(type, from: try parse(data, file: file), file: file)
    }

    /// Decodes a parsed node into `T`; `firstLine` shifts reported lines (one JSON Lines record),
    /// `keyPath` names where the node sits in its document (`trainer` of a state.json).
    public static func decode<T: Decodable>(_ type: T.Type, from node: JSONNode, file: String, firstLine: Int = 1,
                                            keyPath prefix: String = "") throws(JSONReadError) -> T {
        func path(_ p: String) -> String {
            if prefix.isEmpty { return p }
            if p.isEmpty { return prefix }
            return p.hasPrefix("[") ? prefix + p : prefix + "." + p
        }
        func line(_ l: Int?) -> Int? { l.map { $0 + firstLine - 1 } }
        do {
            return try T(from: JSONNodeDecoder(node: node, codingPath: []))
        } catch let e as JSONReadError {
            throw JSONReadError(file: file, line: line(e.line), keyPath: path(e.keyPath), message: e.message)
        } catch let e as DecodingError {
            // Raised by a type's own init(from:) (an enum's unknown raw value, a custom check).
            let (codingPath, message): ([CodingKey], String)
            switch e {
            case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
                (codingPath, message) = (c.codingPath, c.debugDescription)
            @unknown default: (codingPath, message) = ([], "\(e)")
            }
            throw JSONReadError(file: file, line: line(JSONNodeDecoder.locate(codingPath, in: node)?.line),
                                keyPath: path(JSONNodeDecoder.keyPath(codingPath)), message: message)
        } catch {
            throw JSONReadError(file: file, line: line(node.line), keyPath: prefix, message: "\(error)")
        }
    }

    /// Decodes a JSON Lines file: one `T` per non-empty line; errors name the file's line.
    public static func decodeLines<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(JSONReadError) -> [T] {
        var out: [T] = []
        for (number, line) in lines(of: data) {
            let node = try parse(Data(line), file: file, firstLine: number)
            out.append(try decode(type, from: node, file: file, firstLine: number))
        }
        return out
    }

    /// The non-blank lines of a JSON Lines file with their 1-based numbers.
    public static func lines(of data: Data) -> [(Int, Data.SubSequence)] {
        var out: [(Int, Data.SubSequence)] = []
        var number = 1
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            defer { number += 1 }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            out.append((number, line))
        }
        return out
    }

    /// `value` as a JSON document. Default: pretty, keys sorted, followed by a newline (a file).
    public static func encode<T: Encodable>(_ value: T, writer: JSONWriter = JSONWriter(style: .pretty, sortedKeys: true),
                                            trailingNewline: Bool = true) throws(JSONWriteError) -> Data {
        var data = try writer.data(try JSONValueEncoder.encode(value))
        if trailingNewline { data.append(0x0A) }
        return data
    }
}

// MARK: - Encodable → JSONValue

/// Turns an `Encodable` value into a `JSONValue` (then written by `JSONWriter`). Integers stay
/// exact, `Float` stays `float` (written in its own shortest form), `JSONValue` members are taken
/// as they are; `URL` is written as its absolute string, as Foundation's encoder does.
public enum JSONValueEncoder {
    public static func encode<T: Encodable>(_ value: T) throws(JSONWriteError) -> JSONValue {
        if let direct = primitive(value) { return direct }
        let slot = EncodingSlot()
        do { try value.encode(to: NodeEncoder(slot: slot, codingPath: [])) } catch let e as JSONWriteError { throw e } catch {
            throw JSONWriteError(keyPath: "", message: "cannot encode: \(error)")
        }
        return slot.resolved
    }

    static func primitive(_ value: Any) -> JSONValue? {
        switch value {
        case let v as JSONValue: return v
        case let v as Bool: return .bool(v)
        case let v as String: return .string(v)
        case let v as Double: return .double(v)
        case let v as Float: return .float(v)
        case let v as Int: return .int(Int64(v))
        case let v as Int8: return .int(Int64(v))
        case let v as Int16: return .int(Int64(v))
        case let v as Int32: return .int(Int64(v))
        case let v as Int64: return .int(v)
        case let v as UInt: return .uint(UInt64(v))
        case let v as UInt8: return .uint(UInt64(v))
        case let v as UInt16: return .uint(UInt64(v))
        case let v as UInt32: return .uint(UInt64(v))
        case let v as UInt64: return .uint(v)
        case let v as URL: return .string(v.absoluteString)
        default: return nil
        }
    }
}

/// Where an encoder writes: a leaf, an object (members in encoding order) or a list.
final class EncodingSlot {
    enum Content { case empty, leaf(JSONValue), object([(String, EncodingSlot)]), array([EncodingSlot]) }
    var content: Content = .empty

    var resolved: JSONValue {
        switch content {
        case .empty: return .object([])
        case .leaf(let v): return v
        case .object(let members): return .object(members.map { (key: $0.0, value: $0.1.resolved) })
        case .array(let items): return .array(items.map(\.resolved))
        }
    }

    func member(_ key: String) -> EncodingSlot {
        var members: [(String, EncodingSlot)] = []
        if case .object(let m) = content { members = m }
        let slot = EncodingSlot()
        if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = slot } else { members.append((key, slot)) }
        content = .object(members)
        return slot
    }

    func appendItem() -> EncodingSlot {
        var items: [EncodingSlot] = []
        if case .array(let a) = content { items = a }
        let slot = EncodingSlot()
        items.append(slot)
        content = .array(items)
        return slot
    }

    func makeObject() { if case .object = content {} else { content = .object([]) } }
    func makeArray() { if case .array = content {} else { content = .array([]) } }

    func set<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws {
        if let v = JSONValueEncoder.primitive(value) { content = .leaf(v); return }
        try value.encode(to: NodeEncoder(slot: self, codingPath: codingPath))
    }
}

struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ i: Int) { intValue = i; stringValue = "\(i)" }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { return nil }
}

struct NodeEncoder: Encoder {
    let slot: EncodingSlot
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.makeObject()
        return KeyedEncodingContainer(KeyedEncoder<Key>(slot: slot, codingPath: codingPath))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer {
        slot.makeArray()
        return UnkeyedEncoder(slot: slot, codingPath: codingPath)
    }
    func singleValueContainer() -> SingleValueEncodingContainer { SingleEncoder(slot: slot, codingPath: codingPath) }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: EncodingSlot
    let codingPath: [CodingKey]

    private func put(_ v: JSONValue, _ key: Key) { slot.member(key.stringValue).content = .leaf(v) }
    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ v: Bool, forKey key: Key) throws { put(.bool(v), key) }
    mutating func encode(_ v: String, forKey key: Key) throws { put(.string(v), key) }
    mutating func encode(_ v: Double, forKey key: Key) throws { put(.double(v), key) }
    mutating func encode(_ v: Float, forKey key: Key) throws { put(.float(v), key) }
    mutating func encode(_ v: Int, forKey key: Key) throws { put(.int(Int64(v)), key) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { put(.int(Int64(v)), key) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { put(.int(Int64(v)), key) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { put(.int(Int64(v)), key) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { put(.int(v), key) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { put(.uint(UInt64(v)), key) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { put(.uint(UInt64(v)), key) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { put(.uint(UInt64(v)), key) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { put(.uint(UInt64(v)), key) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { put(.uint(v), key) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws {
        try slot.member(key.stringValue).set(v, codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = slot.member(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(slot: child, codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = slot.member(key.stringValue)
        child.makeArray()
        return UnkeyedEncoder(slot: child, codingPath: codingPath + [key])
    }
    mutating func superEncoder() -> Encoder { NodeEncoder(slot: slot.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> Encoder { NodeEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]) }
}

struct UnkeyedEncoder: UnkeyedEncodingContainer, LeafEncoding {
    let slot: EncodingSlot
    let codingPath: [CodingKey]
    var count: Int { if case .array(let a) = slot.content { return a.count } else { return 0 } }

    func put(_ v: JSONValue) { slot.appendItem().content = .leaf(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        let index = count
        try slot.appendItem().set(v, codingPath: codingPath + [IndexKey(index)])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let index = count
        let child = slot.appendItem()
        child.makeObject()
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(slot: child, codingPath: codingPath + [IndexKey(index)]))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let index = count
        let child = slot.appendItem()
        child.makeArray()
        return UnkeyedEncoder(slot: child, codingPath: codingPath + [IndexKey(index)])
    }
    mutating func superEncoder() -> Encoder {
        let index = count
        return NodeEncoder(slot: slot.appendItem(), codingPath: codingPath + [IndexKey(index)])
    }
}

/// The primitive `encode` overloads of the two value containers, written once over `put`.
protocol LeafEncoding {
    func put(_ v: JSONValue)
}

extension LeafEncoding {
    func encodeNil() throws { put(.null) }
    func encode(_ v: Bool) throws { put(.bool(v)) }
    func encode(_ v: String) throws { put(.string(v)) }
    func encode(_ v: Double) throws { put(.double(v)) }
    func encode(_ v: Float) throws { put(.float(v)) }
    func encode(_ v: Int) throws { put(.int(Int64(v))) }
    func encode(_ v: Int8) throws { put(.int(Int64(v))) }
    func encode(_ v: Int16) throws { put(.int(Int64(v))) }
    func encode(_ v: Int32) throws { put(.int(Int64(v))) }
    func encode(_ v: Int64) throws { put(.int(v)) }
    func encode(_ v: UInt) throws { put(.uint(UInt64(v))) }
    func encode(_ v: UInt8) throws { put(.uint(UInt64(v))) }
    func encode(_ v: UInt16) throws { put(.uint(UInt64(v))) }
    func encode(_ v: UInt32) throws { put(.uint(UInt64(v))) }
    func encode(_ v: UInt64) throws { put(.uint(v)) }
}

struct SingleEncoder: SingleValueEncodingContainer, LeafEncoding {
    let slot: EncodingSlot
    let codingPath: [CodingKey]

    func put(_ v: JSONValue) { slot.content = .leaf(v) }
    mutating func encode<T: Encodable>(_ v: T) throws { try slot.set(v, codingPath: codingPath) }
}

// MARK: - JSONNode → Decodable

/// Decodes a `Decodable` type from a parsed node. Problems are `JSONReadError`s carrying the line
/// of the offending value and its key path (the file is filled in by `JSONFile.decode`). Integers
/// are read from their exact text (a UInt64 RNG word never passes through a Double); `Float` from
/// the text too, so a value written by `JSONWriter` comes back with the same bits.
struct JSONNodeDecoder: Decoder {
    let node: JSONNode
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func keyPath(_ path: [CodingKey]) -> String {
        var s = ""
        for key in path {
            if key is IndexKey { s += "[\(key.stringValue)]" } else { s += s.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return s
    }

    /// The node at `path` below `root` (as far as it exists), for placing a type's own errors.
    static func locate(_ path: [CodingKey], in root: JSONNode) -> JSONNode? {
        var node = root
        for key in path {
            switch node.value {
            case .object(let members):
                guard let next = members.first(where: { $0.key == key.stringValue })?.node else { return node }
                node = next
            case .array(let items):
                guard let i = key.intValue, items.indices.contains(i) else { return node }
                node = items[i]
            default: return node
            }
        }
        return node
    }

    static func failure(_ node: JSONNode, _ path: [CodingKey], _ message: String) -> JSONReadError {
        JSONReadError(file: "", line: node.line, keyPath: keyPath(path), message: message)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = node.value else {
            throw Self.failure(node, codingPath, "expected an object, found \(node.typeName)")
        }
        return KeyedDecodingContainer(KeyedDecoder<Key>(node: node, members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let items) = node.value else {
            throw Self.failure(node, codingPath, "expected a list, found \(node.typeName)")
        }
        return UnkeyedDecoder(node: node, items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleDecoder(node: node, codingPath: codingPath) }

    // Scalars, shared by the three containers.

    static func decodeBool(_ n: JSONNode, _ path: [CodingKey]) throws -> Bool {
        guard case .bool(let b) = n.value else { throw failure(n, path, "expected true or false, found \(n.typeName)") }
        return b
    }

    static func decodeString(_ n: JSONNode, _ path: [CodingKey]) throws -> String {
        guard case .string(let s) = n.value else { throw failure(n, path, "expected a string, found \(n.typeName)") }
        return s
    }

    static func decodeDouble(_ n: JSONNode, _ path: [CodingKey]) throws -> Double {
        guard case .number(let v, _) = n.value else { throw failure(n, path, "expected a number, found \(n.typeName)") }
        return v
    }

    static func decodeFloat(_ n: JSONNode, _ path: [CodingKey]) throws -> Float {
        guard case .number(_, let text) = n.value else { throw failure(n, path, "expected a number, found \(n.typeName)") }
        guard let v = Float(text), v.isFinite else { throw failure(n, path, "\(text) is out of range for a 32-bit float") }
        return v
    }

    static func decodeInteger<T: FixedWidthInteger>(_ n: JSONNode, _ path: [CodingKey], as type: T.Type) throws -> T {
        guard case .number(let v, let text) = n.value else { throw failure(n, path, "expected an integer, found \(n.typeName)") }
        if let exact = T(text) { return exact }
        // "3.0" or "1e3": accepted when the number is an integer exactly representable here.
        if v == v.rounded(), abs(v) <= 0x1p53, let exact = T(exactly: v) { return exact }
        if v == v.rounded() { throw failure(n, path, "\(text) is out of range for \(T.self)") }
        throw failure(n, path, "expected an integer, found \(text)")
    }

    static func decode<T: Decodable>(_ type: T.Type, _ n: JSONNode, _ path: [CodingKey]) throws -> T {
        if type == JSONValue.self { return JSONValue(n) as! T }
        if type == URL.self {
            let s = try decodeString(n, path)
            guard let url = URL(string: s) else { throw failure(n, path, "\"\(s)\" is not a URL") }
            return url as! T
        }
        return try T(from: JSONNodeDecoder(node: n, codingPath: path))
    }
}

struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: JSONNode
    let members: [(key: String, node: JSONNode)]
    let codingPath: [CodingKey]

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }
    func contains(_ key: Key) -> Bool { members.contains { $0.key == key.stringValue } }

    private func child(_ key: Key) throws -> JSONNode {
        guard let n = members.first(where: { $0.key == key.stringValue })?.node else {
            throw JSONNodeDecoder.failure(node, codingPath + [key], "missing required key")
        }
        return n
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try child(key).value { return true }
        return false
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try JSONNodeDecoder.decodeBool(child(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try JSONNodeDecoder.decodeString(child(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try JSONNodeDecoder.decodeDouble(child(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try JSONNodeDecoder.decodeFloat(child(key), codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try JSONNodeDecoder.decodeInteger(child(key), codingPath + [key], as: type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try JSONNodeDecoder.decode(type, child(key), codingPath + [key]) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONNodeDecoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try JSONNodeDecoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder {
        let n = members.first { $0.key == "super" }?.node ?? JSONNode(value: .null, line: node.line, column: node.column)
        return JSONNodeDecoder(node: n, codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> Decoder { JSONNodeDecoder(node: try child(key), codingPath: codingPath + [key]) }
}

struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let node: JSONNode
    let items: [JSONNode]
    let codingPath: [CodingKey]
    var currentIndex = 0

    init(node: JSONNode, items: [JSONNode], codingPath: [CodingKey]) {
        self.node = node; self.items = items; self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (JSONNode, [CodingKey]) {
        guard currentIndex < items.count else {
            throw JSONNodeDecoder.failure(node, codingPath, "the list has only \(items.count) entries, more were expected")
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count else { _ = try next(); return false }
        if case .null = items[currentIndex].value { currentIndex += 1; return true }
        return false
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { let (n, p) = try next(); return try JSONNodeDecoder.decodeBool(n, p) }
    mutating func decode(_ type: String.Type) throws -> String { let (n, p) = try next(); return try JSONNodeDecoder.decodeString(n, p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (n, p) = try next(); return try JSONNodeDecoder.decodeDouble(n, p) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (n, p) = try next(); return try JSONNodeDecoder.decodeFloat(n, p) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (n, p) = try next(); return try JSONNodeDecoder.decodeInteger(n, p, as: type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { let (n, p) = try next(); return try JSONNodeDecoder.decode(type, n, p) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (n, p) = try next()
        return try JSONNodeDecoder(node: n, codingPath: p).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (n, p) = try next()
        return try JSONNodeDecoder(node: n, codingPath: p).unkeyedContainer()
    }
    mutating func superDecoder() throws -> Decoder {
        let (n, p) = try next()
        return JSONNodeDecoder(node: n, codingPath: p)
    }
}

struct SingleDecoder: SingleValueDecodingContainer {
    let node: JSONNode
    let codingPath: [CodingKey]

    func decodeNil() -> Bool { if case .null = node.value { return true } else { return false } }
    func decode(_ type: Bool.Type) throws -> Bool { try JSONNodeDecoder.decodeBool(node, codingPath) }
    func decode(_ type: String.Type) throws -> String { try JSONNodeDecoder.decodeString(node, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try JSONNodeDecoder.decodeDouble(node, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try JSONNodeDecoder.decodeFloat(node, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: UInt.Type) throws -> UInt { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONNodeDecoder.decodeInteger(node, codingPath, as: type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONNodeDecoder.decode(type, node, codingPath) }
}

extension JSONValue: Codable {
    /// Through `JSONNodeDecoder` the node is taken whole (exact integers, member order); other
    /// decoders go by probing (object member order is then the decoder's).
    public init(from decoder: Decoder) throws {
        if let d = decoder as? JSONNodeDecoder { self = JSONValue(d.node); return }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        if let e = encoder as? NodeEncoder { e.slot.content = .leaf(self); return }
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .uint(let u): var c = encoder.singleValueContainer(); try c.encode(u)
        case .double(let d): var c = encoder.singleValueContainer(); try c.encode(d)
        case .float(let f): var c = encoder.singleValueContainer(); try c.encode(f)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let a): var c = encoder.unkeyedContainer(); for v in a { try c.encode(v) }
        case .object(let members):
            var c = encoder.container(keyedBy: IndexFreeKey.self)
            for m in members { try c.encode(m.value, forKey: IndexFreeKey(m.key)) }
        }
    }
}

struct IndexFreeKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
