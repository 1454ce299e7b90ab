import Foundation

/// A shape disagreement found while loading a state dict.
public struct ShapeMismatch: Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let expected: [Int]
    public let got: [Int]
    public init(key: String, expected: [Int], got: [Int]) { self.key = key; self.expected = expected; self.got = got }
    public var description: String { "\(key): model has \(expected), file has \(got)" }
}

/// What `Module.load` did: keys copied, keys the model has but the state lacks, keys the state has
/// but the model lacks, and keys present in both with different shapes (not copied).
public struct LoadReport: Sendable, Equatable, CustomStringConvertible {
    public var loaded: [String] = []
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatched: [ShapeMismatch] = []

    /// True when every model key was loaded and nothing was left over.
    public var isComplete: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatched.isEmpty }

    public var description: String {
        func list(_ xs: [String]) -> String {
            xs.prefix(20).joined(separator: ", ") + (xs.count > 20 ? ", … (\(xs.count - 20) more)" : "")
        }
        var lines = ["loaded \(loaded.count) tensors"]
        if !missing.isEmpty { lines.append("missing \(missing.count): \(list(missing))") }
        if !unexpected.isEmpty { lines.append("unexpected \(unexpected.count): \(list(unexpected))") }
        if !shapeMismatched.isEmpty { lines.append("shape mismatch \(shapeMismatched.count): \(list(shapeMismatched.map(\.description)))") }
        return lines.joined(separator: "\n")
    }
}

public enum ModuleError: Error, CustomStringConvertible {
    /// Strict load found missing, unexpected or mis-shaped keys; nothing was modified.
    case stateMismatch(LoadReport)
    public var description: String {
        switch self {
        case let .stateMismatch(r): "state dict does not match the model (nothing loaded):\n\(r)"
        }
    }
}

/// Base class of every layer and model. Parameters and child modules are registered by name in
/// the order a layer creates them; the dotted path from the root (`enc_p.encoder.attn_layers.0.conv_q.weight`)
/// is the parameter's key — the same string as the PyTorch `state_dict` key. Registration is the
/// only naming mechanism: use the reference attribute name and the key follows.
///
///     final class Linear: Module {
///         let weight: Tensor, bias: Tensor?
///         init(...) { weight = ...; bias = ...; super.init(); register("weight", weight); if let bias { register("bias", bias) } }
///     }
open class Module {
    public private(set) var ownParameters: [(name: String, tensor: Tensor)] = []
    public private(set) var ownBuffers: [(name: String, tensor: Tensor)] = []
    public private(set) var children: [(name: String, module: Module)] = []
    /// Training mode (dropout active). Set for a whole tree with `train()` / `eval()`.
    public private(set) var isTraining = true

    public init() {}

    private func checkFree(_ name: String) {
        precondition(!name.isEmpty && !name.contains("."), "module entry name '\(name)' must be non-empty and contain no '.'")
        precondition(!ownParameters.contains { $0.name == name } && !ownBuffers.contains { $0.name == name }
                     && !children.contains { $0.name == name }, "'\(name)' registered twice in \(type(of: self))")
    }

    /// Registers a trainable parameter under `name` (sets `requiresGrad`). Returns the tensor.
    @discardableResult
    public func register(_ name: String, _ tensor: Tensor) -> Tensor {
        checkFree(name)
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers a non-trainable tensor that is still part of the state dict.
    @discardableResult
    public func registerBuffer(_ name: String, _ tensor: Tensor) -> Tensor {
        checkFree(name)
        ownBuffers.append((name, tensor))
        return tensor
    }

    /// Registers a child module under `name` (its keys get the prefix `name.`). Returns the module.
    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        checkFree(name)
        children.append((name, module))
        return module
    }

    private func walk(_ prefix: String, _ body: (String, Module) -> Void) {
        body(prefix, self)
        for (name, child) in children { child.walk(prefix.isEmpty ? name : prefix + "." + name, body) }
    }

    /// Every submodule (self first, key "") with its dotted path.
    public func namedModules() -> [(String, Module)] {
        var out: [(String, Module)] = []
        walk("") { out.append(($0, $1)) }
        return out
    }

    /// Every parameter with its full key, in registration order.
    public func namedParameters() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        walk("") { prefix, m in
            for (name, t) in m.ownParameters { out.append((prefix.isEmpty ? name : prefix + "." + name, t)) }
        }
        return out
    }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Parameters that currently require gradients (what an optimizer should update).
    public func trainableParameters() -> [(String, Tensor)] { namedParameters().filter { $0.1.requiresGrad } }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Parameters and buffers by key. The tensors are the live ones (not copies).
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        walk("") { prefix, m in
            for (name, t) in m.ownParameters + m.ownBuffers { out[prefix.isEmpty ? name : prefix + "." + name] = t }
        }
        return out
    }

    /// Copies values from `state` into the model's tensors, in place (layers keep their references).
    /// Strict: any missing, unexpected or mis-shaped key throws `ModuleError.stateMismatch` and
    /// nothing is modified. Non-strict: loads what matches and reports the rest.
    @discardableResult
    public func load(_ state: [String: Tensor], strict: Bool = true) throws -> LoadReport {
        let own = stateDict()
        var report = LoadReport()
        for key in own.keys.sorted() {
            guard let src = state[key] else { report.missing.append(key); continue }
            let dst = own[key]!
            if src.shape != dst.shape { report.shapeMismatched.append(ShapeMismatch(key: key, expected: dst.shape, got: src.shape)) }
            else { report.loaded.append(key) }
        }
        report.unexpected = state.keys.filter { own[$0] == nil }.sorted()
        if strict && !report.isComplete { throw ModuleError.stateMismatch(report) }
        for key in report.loaded {
            let dst = own[key]!, src = state[key]!
            if dst.storage !== src.storage { dst.pointer.update(from: src.pointer, count: dst.count) }
        }
        return report
    }

    /// The submodule at a dotted path ("" = self).
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var m: Module = self
        for part in path.split(separator: ".") {
            guard let next = m.children.first(where: { $0.name == part })?.module else { return nil }
            m = next
        }
        return m
    }

    /// Sets `requiresGrad` on every parameter whose key is `prefix` or starts with `prefix.`
    /// (every parameter when `prefix` is empty). Returns how many were changed.
    @discardableResult
    public func setRequiresGrad(_ value: Bool, prefix: String = "") -> Int {
        var n = 0
        for (key, t) in namedParameters() where prefix.isEmpty || key == prefix || key.hasPrefix(prefix + ".") {
            t.requiresGrad = value
            if !value { t.grad = nil }
            n += 1
        }
        return n
    }

    /// Freezes (no gradient, no optimizer update) the parameters under `prefix`.
    @discardableResult public func freeze(_ prefix: String = "") -> Int { setRequiresGrad(false, prefix: prefix) }
    @discardableResult public func unfreeze(_ prefix: String = "") -> Int { setRequiresGrad(true, prefix: prefix) }

    /// Runs `body` with every parameter's `requiresGrad` off — no weight gradients are computed, while
    /// gradients still flow through the module to its inputs — then restores each flag. Unlike
    /// `freeze`, existing `.grad`s are kept (the GAN generator step uses this on the discriminator).
    public func withoutParameterGradients<T>(_ body: () throws -> T) rethrows -> T {
        let params = parameters()
        let saved = params.map(\.requiresGrad)
        for p in params { p.requiresGrad = false }
        defer { for (p, s) in zip(params, saved) { p.requiresGrad = s } }
        return try body()
    }

    /// Training mode for this module and all submodules.
    public func train(_ on: Bool = true) { walk("") { $1.isTraining = on } }
    public func eval() { train(false) }

    public func zeroGrad() { for p in parameters() { p.grad = nil } }
}

/// Numbered children `0`, `1`, … like `torch.nn.ModuleList`.
public final class ModuleList<M: Module>: Module, RandomAccessCollection {
    public private(set) var items: [M] = []

    public override init() { super.init() }

    public init(_ modules: [M]) {
        super.init()
        for m in modules { append(m) }
    }

    public func append(_ m: M) {
        register(String(items.count), m)
        items.append(m)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(i: Int) -> M { items[i] }
}
