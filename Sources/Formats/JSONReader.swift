import Foundation

/// One problem of a JSON document: the dotted key path (`model.upsample_rates`, "" for the whole
/// document), the 1-based line of the value when known, and what was expected.
public struct JSONIssue: Equatable, Sendable, CustomStringConvertible {
    public let keyPath: String
    public let line: Int?
    public let message: String

    public init(keyPath: String, line: Int?, message: String) {
        self.keyPath = keyPath; self.line = line; self.message = message
    }

    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}

/// What reading a document found: errors, warnings (unknown keys) and the line of every key read.
public final class JSONIssueLog {
    public var errors: [JSONIssue] = []
    public var warnings: [String] = []
    /// Line of every value read, by key path, for validation messages.
    public var lines: [String: Int] = [:]
    public init() {}
}

/// One JSON object of a document, read key by key: the keyed layer over `JSONParser` that configs
/// use. Type and presence problems go to the log with the key path and line ("model.hidden_channels:
/// expected an integer, found a string"); the getters then return a placeholder so reading continues
/// and every problem is reported at once. Keys never read are reported by `warnUnknown`.
public final class JSONSection {
    public let path: String
    public let members: [(key: String, node: JSONNode)]
    public let line: Int
    public let log: JSONIssueLog
    private var known: Set<String> = []

    public init(path: String, members: [(key: String, node: JSONNode)], line: Int, log: JSONIssueLog) {
        self.path = path
        self.members = members
        self.line = line
        self.log = log
        for (key, node) in members { log.lines[keyPath(key)] = node.line }
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func has(_ key: String) -> Bool { members.contains { $0.key == key } }

    public func isNull(_ key: String) -> Bool {
        if case .null? = node(key)?.value { return true }
        return false
    }

    public func markKnown(_ keys: [String]) { known.formUnion(keys) }

    public func fail(_ key: String, _ message: String) {
        log.errors.append(JSONIssue(keyPath: keyPath(key), line: node(key)?.line ?? line, message: message))
    }

    public func warnUnknown() {
        for (key, node) in members where !known.contains(key) {
            log.warnings.append("line \(node.line): \(keyPath(key)): unknown key, ignored")
        }
    }

    private func node(_ key: String) -> JSONNode? { members.first { $0.key == key }?.node }

    /// Looks a key up, marking it known; records "missing" when required and absent.
    private func lookup(_ key: String, required: Bool) -> JSONNode? {
        known.insert(key)
        guard let n = node(key) else {
            if required { log.errors.append(JSONIssue(keyPath: keyPath(key), line: line, message: "missing required key")) }
            return nil
        }
        return n
    }

    private func typeError(_ key: String, _ n: JSONNode, _ expected: String) {
        log.errors.append(JSONIssue(keyPath: keyPath(key), line: n.line, message: "expected \(expected), found \(n.typeName)"))
    }

    public func section(_ key: String, required: Bool = true) -> JSONSection? {
        guard let n = lookup(key, required: required) else { return nil }
        guard case .object(let members) = n.value else { typeError(key, n, "an object"); return nil }
        return JSONSection(path: keyPath(key), members: members, line: n.line, log: log)
    }

    private static func integer(_ n: JSONNode) -> Int? {
        guard case .number(let v, _) = n.value, v == v.rounded(), abs(v) < 9.0e15 else { return nil }
        return Int(v)
    }

    public func int(_ key: String, default value: Int? = nil) -> Int {
        guard let n = lookup(key, required: value == nil) else { return value ?? 0 }
        guard let v = JSONSection.integer(n) else { typeError(key, n, "an integer"); return value ?? 0 }
        return v
    }

    public func optionalInt(_ key: String) -> Int? {
        guard let n = lookup(key, required: false) else { return nil }
        if case .null = n.value { return nil }
        guard let v = JSONSection.integer(n) else { typeError(key, n, "an integer"); return nil }
        return v
    }

    public func double(_ key: String, default value: Double? = nil) -> Double {
        guard let n = lookup(key, required: value == nil) else { return value ?? 0 }
        guard case .number(let v, _) = n.value else { typeError(key, n, "a number"); return value ?? 0 }
        return v
    }

    public func optionalDouble(_ key: String) -> Double? {
        guard let n = lookup(key, required: false) else { return nil }
        if case .null = n.value { return nil }
        guard case .number(let v, _) = n.value else { typeError(key, n, "a number or null"); return nil }
        return v
    }

    public func bool(_ key: String, default value: Bool? = nil) -> Bool {
        guard let n = lookup(key, required: value == nil) else { return value ?? false }
        guard case .bool(let v) = n.value else { typeError(key, n, "true or false"); return value ?? false }
        return v
    }

    public func string(_ key: String) -> String {
        guard let n = lookup(key, required: true) else { return "" }
        guard case .string(let v) = n.value else { typeError(key, n, "a string"); return "" }
        return v
    }

    /// A string naming one case of `E` (`"decoder": "mb_istft"`); `value` when the key is absent. An
    /// unknown name fails with the key and every accepted name, and reading continues with `value`.
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) -> E where E.RawValue == String {
        guard let n = lookup(key, required: false) else { return value }
        guard case .string(let text) = n.value else { typeError(key, n, "a string"); return value }
        guard let chosen = E(rawValue: text) else {
            fail(key, "expected one of " + E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ", found \"\(text)\"")
            return value
        }
        return chosen
    }

    public func optionalString(_ key: String) -> String? {
        guard let n = lookup(key, required: false) else { return nil }
        if case .null = n.value { return nil }
        guard case .string(let v) = n.value else { typeError(key, n, "a string"); return nil }
        return v
    }

    private func list(_ key: String, required: Bool) -> (JSONNode, [JSONNode])? {
        guard let n = lookup(key, required: required) else { return nil }
        guard case .array(let items) = n.value else { typeError(key, n, "a list"); return nil }
        return (n, items)
    }

    public func ints(_ key: String, default value: [Int]? = nil) -> [Int] {
        guard let (_, items) = list(key, required: value == nil) else { return value ?? [] }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard let v = JSONSection.integer(item) else {
                log.errors.append(JSONIssue(keyPath: keyPath(key), line: item.line, message: "entry \(i): expected an integer, found \(item.typeName)"))
                return value ?? []
            }
            out.append(v)
        }
        return out
    }

    public func intLists(_ key: String) -> [[Int]] {
        guard let (_, items) = list(key, required: true) else { return [] }
        var out: [[Int]] = []
        for (i, item) in items.enumerated() {
            guard case .array(let inner) = item.value else {
                log.errors.append(JSONIssue(keyPath: keyPath(key), line: item.line, message: "entry \(i): expected a list of integers, found \(item.typeName)"))
                return []
            }
            var row: [Int] = []
            for v in inner {
                guard let x = JSONSection.integer(v) else {
                    log.errors.append(JSONIssue(keyPath: keyPath(key), line: v.line, message: "entry \(i): expected integers, found \(v.typeName)"))
                    return []
                }
                row.append(x)
            }
            out.append(row)
        }
        return out
    }

    public func doubles(_ key: String) -> [Double] {
        guard let (_, items) = list(key, required: true) else { return [] }
        var out: [Double] = []
        for (i, item) in items.enumerated() {
            guard case .number(let v, _) = item.value else {
                log.errors.append(JSONIssue(keyPath: keyPath(key), line: item.line, message: "entry \(i): expected a number, found \(item.typeName)"))
                return []
            }
            out.append(v)
        }
        return out
    }

    public func strings(_ key: String, default value: [String]) -> [String] {
        guard let (_, items) = list(key, required: false) else { return value }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let v) = item.value else {
                log.errors.append(JSONIssue(keyPath: keyPath(key), line: item.line, message: "entry \(i): expected a string, found \(item.typeName)"))
                return value
            }
            out.append(v)
        }
        return out
    }

    /// A required list of objects, each as a section keyed `key[i]`; entries that are not objects
    /// are logged and left out.
    public func sections(_ key: String) -> [JSONSection] {
        guard let (_, items) = list(key, required: true) else { return [] }
        var out: [JSONSection] = []
        for (i, item) in items.enumerated() {
            guard case .object(let members) = item.value else {
                log.errors.append(JSONIssue(keyPath: keyPath(key), line: item.line, message: "entry \(i): expected an object, found \(item.typeName)"))
                continue
            }
            out.append(JSONSection(path: "\(keyPath(key))[\(i)]", members: members, line: item.line, log: log))
        }
        return out
    }
}
