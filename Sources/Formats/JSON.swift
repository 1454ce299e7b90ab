import Foundation

/// A parsed JSON value that remembers where it starts (line and column, 1-based), so callers can
/// report `config.json:57: model.upsample_rates: …`. The one JSON reader of the toolkit: safetensors
/// headers, model and voice configs, run-folder and data-folder files, and the CLI read through it
/// (`JSONSection` for keyed reading, `JSONFile` for Codable types); `JSONWriter` writes.
///
/// Why not `JSONSerialization`: it silently keeps one of two duplicate keys, turns integers into
/// doubles past 2^53, has no depth limit and reports no positions. This parser keeps object members
/// in file order, refuses duplicate keys, keeps each number's source text (so integers are checked
/// exactly) and refuses nesting deeper than `JSONParser.maxDepth`.
public struct JSONNode: Sendable, Equatable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        /// `text` is the literal as written: integers are checked against it, not against the Double.
        case number(Double, text: String)
        case string(String)
        case array([JSONNode])
        case object([(key: String, node: JSONNode)])
    }

    public let value: Value
    public let line: Int
    public let column: Int

    public init(value: Value, line: Int, column: Int) {
        self.value = value; self.line = line; self.column = column
    }

    /// "a number", "a list", … for messages ("expected an integer, found a string").
    public var typeName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    /// The value as a non-negative integer that fits in `Int`, or nil (fractions, exponents, signs
    /// and overflow are all refused: offsets and shape dimensions are plain integers).
    public var nonNegativeInt: Int? {
        guard case let .number(_, text) = value, !text.isEmpty,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
    }

    /// Structural equality: the same values, members in the same order; positions are ignored.
    public static func == (a: JSONNode, b: JSONNode) -> Bool {
        switch (a.value, b.value) {
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.node == $1.node }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.number(_, x), .number(_, y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }
}

/// Malformed JSON: where (line and column, 1-based; byte offset) and what was expected.
public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let column: Int
    public let offset: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Strict RFC 8259 parser over UTF-8 bytes (no comments, no trailing commas), depth-limited.
public struct JSONParser {
    public static let maxDepth = 64
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var line = 1
    private var lineStart = 0

    /// Parses one JSON document; anything but whitespace after it is an error. A leading UTF-8 byte
    /// order mark is skipped when `allowByteOrderMark` (some editors write one into configs).
    public static func parse(_ data: Data, allowByteOrderMark: Bool = false) throws(JSONSyntaxError) -> JSONNode {
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(JSONSyntaxError) in
            try parse(buffer, allowByteOrderMark: allowByteOrderMark)
        }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, allowByteOrderMark: Bool = false) throws(JSONSyntaxError) -> JSONNode {
        var parser = JSONParser(bytes: bytes)
        if allowByteOrderMark, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            parser.index = 3; parser.lineStart = 3
        }
        let root = try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.index < bytes.count { throw parser.error("unexpected text after the end of the JSON document") }
        return root
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private var column: Int { index - lineStart + 1 }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(line: line, column: column, offset: index, message: message)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x0A: index += 1; line += 1; lineStart = index
            case 0x20, 0x09, 0x0D: index += 1
            default: return
            }
        }
    }

    private func node(_ value: JSONNode.Value, line: Int, column: Int) -> JSONNode {
        JSONNode(value: value, line: line, column: column)
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        skipWhitespace()
        guard let c = current else { throw error("unexpected end of the document, expected a value") }
        let (startLine, startColumn) = (line, column)
        switch c {
        case UInt8(ascii: "{"): return node(.object(try object(depth: depth)), line: startLine, column: startColumn)
        case UInt8(ascii: "["): return node(.array(try array(depth: depth)), line: startLine, column: startColumn)
        case UInt8(ascii: "\""): return node(.string(try string()), line: startLine, column: startColumn)
        case UInt8(ascii: "t"): try literal("true"); return node(.bool(true), line: startLine, column: startColumn)
        case UInt8(ascii: "f"): try literal("false"); return node(.bool(false), line: startLine, column: startColumn)
        case UInt8(ascii: "n"): try literal("null"); return node(.null, line: startLine, column: startColumn)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (number, text) = try number()
            return node(.number(number, text: text), line: startLine, column: startColumn)
        default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
        }
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> [(key: String, node: JSONNode)] {
        index += 1  // {
        var members: [(key: String, node: JSONNode)] = []
        var seen = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return members }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let keyError = error("")
            let key = try string()
            guard seen.insert(key).inserted else {
                throw JSONSyntaxError(line: keyError.line, column: keyError.column, offset: keyError.offset,
                                      message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            index += 1
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard let c = current else { throw error("unexpected end of the document inside an object") }
            index += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { return members }
            index -= 1
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> [JSONNode] {
        index += 1  // [
        var items: [JSONNode] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return items }
        while true {
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard let c = current else { throw error("unexpected end of the document inside a list") }
            index += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { return items }
            index -= 1
            throw error("expected ',' or ']' in a list")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let start = index
        for byte in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard current == byte else { index = start; throw error("invalid literal, expected \(word)") }
            index += 1
        }
    }

    private mutating func number() throws(JSONSyntaxError) -> (Double, String) {
        let start = index
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while let c = p.current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { p.index += 1 }
            return p.index - s
        }
        if current == UInt8(ascii: "-") { index += 1 }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw error("invalid number") }
        // JSON forbids leading zeros ("007"): refuse them rather than guess.
        if intDigits > 1, bytes[index - intDigits] == UInt8(ascii: "0") { throw error("invalid number: leading zero") }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("invalid number: digits expected after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("invalid number: digits expected in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number \(text) is out of range") }
        return (value, text)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw error("truncated \\u escape") }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("bad hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let c = current else { throw error("unterminated string") }
            index += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = current else { throw error("unterminated escape") }
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    utf8.append(contentsOf: String(Character(u)).utf8)
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            case 0x00..<0x20: throw error("control character in a string")
            default: utf8.append(c)
            }
        }
    }
}

/// Writes `s` as a JSON string literal (quotes included), escaped as `JSONWriter` escapes.
func jsonQuoted(_ s: String) -> String { JSONWriter.quoted(s) }
