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

/// Base class of every layer and model, with PyTorch's naming: every parameter, buffer and child
/// module has a key, and the dotted path of keys from the root (`enc_p.encoder.attn_layers.0.conv_q.weight`)
/// is the tensor's `state_dict` key — the same string as in a PyTorch checkpoint.
///
/// A layer declares each of its entries once, as a stored property carrying its key (in the style
/// of mlx-swift's `@ModuleInfo`/`@ParameterInfo`), and assigns it in its initializer through the
/// wrapper's storage (`_name.wrappedValue = …`, before `super.init()`):
///
///     final class Attention: Module {
///         @ParameterInfo(key: "emb_rel_k") public private(set) var embRelK: Tensor   // trainable (requiresGrad set)
///         @ModuleInfo(key: "conv_q") public private(set) var convQ: Conv1d            // child: keys conv_q.…
///         @ModuleInfo(key: "cond") public private(set) var cond: Conv1d?              // nil: no entry
///         @BufferInfo(key: "window") public private(set) var window: Tensor          // state dict, not trained
///         @ModuleInfo(key: "layers") public private(set) var layers = ModuleList<Conv1d>()
///         init(…) { _embRelK.wrappedValue = …; _convQ.wrappedValue = Conv1d(…); …; super.init() }
///     }
///
/// `Module` finds the declared entries by reflection the first time its entries are needed (a
/// walk, a state dict, a dynamic registration) and keeps the list; nothing is reflected in a
/// forward pass. Order — what the parity fixtures, the optimizer state and the replica fingerprint
/// rely on — is PyTorch's: a module's own parameters, then its buffers, then its children, each in
/// declaration order (a superclass's declarations first), followed by what was registered at run
/// time. A declared entry is assigned exactly once (a second assignment traps), so the discovered
/// list stays the truth.
///
/// Structure that only exists at run time — `ModuleList` items, a LoRA adapter attached to a
/// layer, the pitch-excitation modules added to a built decoder — is registered explicitly with
/// `register(_:_:)` / `registerBuffer(_:_:)`; those entries follow the declared ones.
open class Module {
    /// Own entries, found on first use (see the type's documentation).
    private lazy var entries = ModuleEntries(declaredIn: self)

    /// Own trainable parameters in state-dict order (key, tensor).
    public var ownParameters: [(name: String, tensor: Tensor)] { entries.parameters }
    /// Own buffers in state-dict order.
    public var ownBuffers: [(name: String, tensor: Tensor)] { entries.buffers }
    /// Direct submodules in state-dict order.
    public var children: [(name: String, module: Module)] { entries.children }
    /// Training mode (dropout active). Set for a whole tree with `train()` / `eval()`.
    public private(set) var isTraining = true

    public init() {}

    /// Registers a trainable parameter built at run time under `name` (sets `requiresGrad`), after
    /// the declared entries. Returns the tensor. A layer's fixed parameters use `@ParameterInfo`.
    @discardableResult
    public func register(_ name: String, _ tensor: Tensor) -> Tensor {
        entries.checkFree(name, in: self)
        tensor.requiresGrad = true
        entries.parameters.append((name, tensor))
        return tensor
    }

    /// Registers a non-trainable tensor built at run time that is still part of the state dict.
    /// A layer's fixed buffers use `@BufferInfo`.
    @discardableResult
    public func registerBuffer(_ name: String, _ tensor: Tensor) -> Tensor {
        entries.checkFree(name, in: self)
        entries.buffers.append((name, tensor))
        return tensor
    }

    /// Registers a child module built at run time under `name` (its keys get the prefix `name.`),
    /// after the declared children: `ModuleList` items, LoRA adapters, modules added to a built
    /// model. Returns the module. A layer's fixed children use `@ModuleInfo`.
    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        entries.checkFree(name, in: self)
        entries.children.append((name, module))
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

    /// Every parameter with its full key, in state-dict order (see the type's documentation).
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

/// What a declared entry holds, as discovery sees it.
enum DeclaredEntry {
    case parameter(Tensor)
    case buffer(Tensor)
    case child(Module)
    /// An optional entry declared as nil: no key.
    case absent
}

/// The property wrappers that declare a module entry (`ModuleInfo`, `ParameterInfo`, `BufferInfo`).
protocol ModuleEntryDeclaration {
    var key: String { get }
    /// nil while the property has not been assigned.
    var declaredEntry: DeclaredEntry? { get }
}

/// Traps unless `key` can be one component of a dotted path.
func checkEntryKey(_ key: String) {
    precondition(!key.isEmpty && !key.contains("."), "module entry key '\(key)' must be non-empty and contain no '.'")
}

@usableFromInline
func unassignedEntry<Value>(_ key: String) -> Value {
    preconditionFailure("module entry '\(key)' read before its initializer assigned it")
}

private protocol OptionalValue { var isNone: Bool { get } }
extension Optional: OptionalValue { fileprivate var isNone: Bool { self == nil } }

/// Declares a child module under its PyTorch attribute name: its entries get the prefix `key.`.
/// The value is a `Module` (any subclass, an existential of a `Module`-bound protocol, or an
/// optional of those: nil declares nothing). Assign it once, in the initializer.
@propertyWrapper
public struct ModuleInfo<Value> {
    public let key: String
    @usableFromInline var storage: Value?

    public init(key: String) {
        checkEntryKey(key)
        self.key = key
    }

    public init(wrappedValue: Value, key: String) {
        self.init(key: key)
        self.wrappedValue = wrappedValue
    }

    @inlinable
    public var wrappedValue: Value {
        get { storage ?? unassignedEntry(key) }
        set { assign(newValue) }
    }

    @usableFromInline
    mutating func assign(_ value: Value) {
        precondition(storage == nil, "module entry '\(key)' is declared once: assign it only once, in the initializer")
        precondition(value is Module || (value as? OptionalValue)?.isNone == true,
                     "@ModuleInfo(key: \"\(key)\"): \(type(of: value)) is not a Module")
        storage = value
    }
}

extension ModuleInfo: ModuleEntryDeclaration {
    var declaredEntry: DeclaredEntry? {
        guard let storage else { return nil }
        if let module = storage as? Module { return .child(module) }
        return .absent
    }
}

/// What a declared tensor is: a parameter (trainable, `requiresGrad` set on assignment) or a buffer
/// (in the state dict, no gradient, no optimizer update).
public protocol TensorEntryRole {
    static var isParameter: Bool { get }
}
public enum ParameterEntry: TensorEntryRole { public static let isParameter = true }
public enum BufferEntry: TensorEntryRole { public static let isParameter = false }

/// Declares a trainable parameter (`Tensor`, or `Tensor?` where nil declares nothing) under its
/// PyTorch key. Assigning it sets `requiresGrad`, as registration always has.
public typealias ParameterInfo<Value> = TensorInfo<Value, ParameterEntry>
/// Declares a buffer — a tensor in the state dict that is not a parameter — under its PyTorch key
/// (`Tensor`, or `Tensor?` where nil declares nothing).
public typealias BufferInfo<Value> = TensorInfo<Value, BufferEntry>

/// The one wrapper behind `ParameterInfo` and `BufferInfo`; `Role` says which.
@propertyWrapper
public struct TensorInfo<Value, Role: TensorEntryRole> {
    public let key: String
    @usableFromInline var storage: Value?

    public init(key: String) where Value == Tensor { checkEntryKey(key); self.key = key }
    public init(key: String) where Value == Tensor? { checkEntryKey(key); self.key = key }
    public init(wrappedValue: Tensor, key: String) where Value == Tensor { self.init(key: key); self.wrappedValue = wrappedValue }
    public init(wrappedValue: Tensor?, key: String) where Value == Tensor? { self.init(key: key); self.wrappedValue = wrappedValue }

    @inlinable
    public var wrappedValue: Value {
        get { storage ?? unassignedEntry(key) }
        set { assign(newValue) }
    }

    @usableFromInline
    mutating func assign(_ value: Value) {
        precondition(storage == nil, "\(Role.isParameter ? "parameter" : "buffer") '\(key)' is declared once: assign it only once, in the initializer")
        if Role.isParameter { (value as? Tensor)?.requiresGrad = true }
        storage = value
    }
}

extension TensorInfo: ModuleEntryDeclaration {
    var declaredEntry: DeclaredEntry? {
        guard let storage else { return nil }
        guard let tensor = storage as? Tensor else { return .absent }
        return Role.isParameter ? .parameter(tensor) : .buffer(tensor)
    }
}

/// A module's own entries in state-dict order: declared ones (found once by reflection), then
/// those registered at run time.
final class ModuleEntries {
    var parameters: [(name: String, tensor: Tensor)] = []
    var buffers: [(name: String, tensor: Tensor)] = []
    var children: [(name: String, module: Module)] = []

    func checkFree(_ name: String, in owner: Module) {
        checkEntryKey(name)
        precondition(!parameters.contains { $0.name == name } && !buffers.contains { $0.name == name }
                     && !children.contains { $0.name == name }, "'\(name)' registered twice in \(type(of: owner))")
    }

    /// The entries `module` declares with the property wrappers, superclass declarations first.
    init(declaredIn module: Module) {
        var mirrors: [Mirror] = []
        var next: Mirror? = Mirror(reflecting: module)
        while let mirror = next { mirrors.append(mirror); next = mirror.superclassMirror }
        for mirror in mirrors.reversed() {
            for property in mirror.children {
                guard let declaration = property.value as? ModuleEntryDeclaration else { continue }
                guard let entry = declaration.declaredEntry else {
                    preconditionFailure("\(type(of: module)): '\(declaration.key)' (\(property.label ?? "?")) was never assigned; assign it in the initializer before super.init()")
                }
                switch entry {
                case .parameter(let t): checkFree(declaration.key, in: module); parameters.append((declaration.key, t))
                case .buffer(let t): checkFree(declaration.key, in: module); buffers.append((declaration.key, t))
                case .child(let m): checkFree(declaration.key, in: module); children.append((declaration.key, m))
                case .absent: break
                }
            }
        }
    }
}
