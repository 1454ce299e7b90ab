import Foundation

extension JSONNode {
    /// The value as Foundation objects, for code that hands a parsed document (or one section of
    /// it) on to `JSONSerialization` unchanged — a sidecar that keeps a file as it was — without
    /// parsing the bytes a second time: `NSNull`, `Bool`, `Int` for an integer literal that fits
    /// (exactly, past 2^53 too), `Double` for any other number, `String`, `[Any]`, `[String: Any]`.
    /// Object members lose their file order (a dictionary has none).
    public var foundationValue: Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let v, let text):
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            if !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let i = Int(text) {
                return i
            }
            return v
        case .string(let s): return s
        case .array(let items): return items.map(\.foundationValue)
        case .object(let members):
            var out: [String: Any] = [:]
            for (key, node) in members { out[key] = node.foundationValue }
            return out
        }
    }
}
