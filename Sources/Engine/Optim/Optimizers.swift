import Foundation
import CKernels
import Cores

public enum OptimizerStateError: Error, CustomStringConvertible {
    case shapeMismatch(key: String, expected: [Int], got: [Int])
    case missing(key: String)
    case unexpected(keys: [String])
    public var description: String {
        switch self {
        case let .shapeMismatch(k, e, g): "optimizer state '\(k)' has shape \(g), parameter needs \(e)"
        case let .missing(k): "optimizer state is missing '\(k)'"
        case let .unexpected(ks): "optimizer state has keys for no parameter: \(ks.prefix(10).joined(separator: ", "))"
        }
    }
}

/// Common surface of the optimizers. Parameters are (key, tensor) pairs, usually
/// `module.trainableParameters()`; a parameter whose `grad` is nil (or that no longer requires grad)
/// is skipped by `step()`, its state untouched — as PyTorch does.
public protocol Optimizer: AnyObject {
    var parameters: [(name: String, tensor: Tensor)] { get }
    var learningRate: Double { get set }
    func step()
    /// Per-parameter state as named tensors (`<param>.<field>`), for checkpoints. Exact values.
    func stateTensors() -> [String: Tensor]
    /// Restores what `stateTensors()` produced; validates names and shapes.
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.tensor.grad = nil } }
}

/// torch.optim.AdamW: decoupled weight decay, bias-corrected moments, eps added after the square
/// root of the bias-corrected second moment. Scalars are computed in Double and applied in Float,
/// in PyTorch's order of operations, so trajectories agree to float rounding.
public final class AdamW: Optimizer {
    public let parameters: [(name: String, tensor: Tensor)]
    public var learningRate: Double
    public var beta1: Double, beta2: Double, eps: Double, weightDecay: Double

    final class Slot {
        var step = 0
        let expAvg: Tensor, expAvgSq: Tensor
        init(shape: [Int]) { expAvg = Tensor(zeros: shape); expAvgSq = Tensor(zeros: shape) }
    }
    private var slots: [Slot?]

    public init(parameters: [(String, Tensor)], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2) {
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        slots = Array(repeating: nil, count: parameters.count)
    }

    /// Steps taken for the parameter at `index` (0 before its first update).
    public func stepCount(_ index: Int) -> Int { slots[index]?.step ?? 0 }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard p.tensor.requiresGrad, let grad = p.tensor.grad else { continue }
            let slot = slots[i] ?? Slot(shape: p.tensor.shape)
            slots[i] = slot
            slot.step += 1
            let t = Double(slot.step)
            let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
            let constants = ck_adamw_constants(
                decay: Float(1 - learningRate * weightDecay), decays: weightDecay != 0 ? 1 : 0,
                weight: Float(1 - beta1), beta2: Float(beta2), one_minus_beta2: Float(1 - beta2),
                step_size: Float(-(learningRate / bc1)), bias_correction2_sqrt: Float(bc2.squareRoot()),
                eps: Float(eps))
            let x = p.tensor.pointer, g = grad.pointer, m = slot.expAvg.pointer, v = slot.expAvgSq.pointer
            // The element update is the C kernel (AVX2, the exact IEEE operations of torch's formula).
            withUnsafePointer(to: constants) { c in
                Parallel.forRanges(p.tensor.count, minChunk: 1 << 15) { r in
                    ck_adamw(x + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count, c)
                }
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() {
            guard let s = slots[i] else { continue }
            out[p.name + ".step"] = Tensor(scalar: Float(s.step))     // exact up to 2²⁴ steps
            out[p.name + ".exp_avg"] = s.expAvg.copy()
            out[p.name + ".exp_avg_sq"] = s.expAvgSq.copy()
        }
        return out
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var used = Set<String>()
        var newSlots: [Slot?] = Array(repeating: nil, count: parameters.count)
        for (i, p) in parameters.enumerated() {
            guard let step = state[p.name + ".step"] else { continue }
            let s = Slot(shape: p.tensor.shape)
            s.step = Int(step.pointer[0])
            for (field, dst) in [("exp_avg", s.expAvg), ("exp_avg_sq", s.expAvgSq)] {
                let key = p.name + "." + field
                guard let src = state[key] else { throw OptimizerStateError.missing(key: key) }
                guard src.shape == dst.shape else { throw OptimizerStateError.shapeMismatch(key: key, expected: dst.shape, got: src.shape) }
                dst.pointer.update(from: src.pointer, count: dst.count)
                used.insert(key)
            }
            used.insert(p.name + ".step")
            newSlots[i] = s
        }
        let extra = state.keys.filter { !used.contains($0) }.sorted()
        guard extra.isEmpty else { throw OptimizerStateError.unexpected(keys: extra) }
        slots = newSlots
    }
}

/// torch.optim.SGD (dampening 0, no Nesterov): d = g + wd·x; buf = μ·buf + d (buf = d at first); x −= lr·buf.
public final class SGD: Optimizer {
    public let parameters: [(name: String, tensor: Tensor)]
    public var learningRate: Double
    public var momentum: Double, weightDecay: Double
    private var buffers: [Tensor?]

    public init(parameters: [(String, Tensor)], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0) {
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        let lr = Float(learningRate), mu = Float(momentum), wd = Float(weightDecay)
        for (i, p) in parameters.enumerated() {
            guard p.tensor.requiresGrad, let grad = p.tensor.grad else { continue }
            let x = p.tensor.pointer, g = grad.pointer, n = p.tensor.count
            let d = Tensor(uninitialized: p.tensor.shape), pd = d.pointer
            for j in 0..<n { pd[j] = wd != 0 ? g[j] + wd * x[j] : g[j] }
            var dir = d
            if momentum != 0 {
                if let buf = buffers[i] {
                    let pb = buf.pointer
                    for j in 0..<n { pb[j] = pb[j] * mu + pd[j] }
                    dir = buf
                } else {
                    buffers[i] = d.copy()
                }
            }
            let pdir = dir.pointer
            for j in 0..<n { x[j] = x[j] - lr * pdir[j] }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() { if let b = buffers[i] { out[p.name + ".momentum_buffer"] = b.copy() } }
        return out
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var used = Set<String>()
        var newBuffers: [Tensor?] = Array(repeating: nil, count: parameters.count)
        for (i, p) in parameters.enumerated() {
            let key = p.name + ".momentum_buffer"
            guard let src = state[key] else { continue }
            guard src.shape == p.tensor.shape else { throw OptimizerStateError.shapeMismatch(key: key, expected: p.tensor.shape, got: src.shape) }
            newBuffers[i] = src.copy()
            used.insert(key)
        }
        let extra = state.keys.filter { !used.contains($0) }.sorted()
        guard extra.isEmpty else { throw OptimizerStateError.unexpected(keys: extra) }
        buffers = newBuffers
    }
}

/// torch.optim.lr_scheduler.ExponentialLR: lr ← lr·γ at each `step()`. Call it per optimizer step
/// or per epoch — the schedule only counts calls. The rate is rebuilt by the same chain of
/// multiplications PyTorch performs, so a restored schedule (`init(…, count:)`) is bit-exact.
public struct ExponentialLR: Sendable, Equatable {
    public let initialLearningRate: Double
    public let gamma: Double
    /// Number of `step()` calls so far (the state to checkpoint).
    public private(set) var count: Int
    public private(set) var learningRate: Double

    public init(initialLearningRate: Double, gamma: Double, count: Int = 0) {
        self.initialLearningRate = initialLearningRate
        self.gamma = gamma
        self.count = count
        var lr = initialLearningRate
        for _ in 0..<count { lr *= gamma }
        learningRate = lr
    }

    /// Advances the schedule and writes the new rate into `optimizer` when given.
    public mutating func step(_ optimizer: Optimizer? = nil) {
        count += 1
        learningRate *= gamma
        optimizer?.learningRate = learningRate
    }
}

/// Gradient clipping over a set of parameters' `grad`s.
public enum GradientClipping {
    /// L2 norm of all gradients together (per-tensor norms, then the norm of those, as PyTorch).
    public static func totalNorm(_ params: [Tensor]) -> Float {
        var total = 0.0
        for p in params {
            guard let g = p.grad else { continue }
            var s = 0.0
            let pg = g.pointer
            for i in 0..<g.count { s += Double(pg[i]) * Double(pg[i]) }
            let norm = Double(Float(s.squareRoot()))
            total += norm * norm
        }
        return Float(total.squareRoot())
    }

    /// torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm/(total + 1e-6)).
    /// Returns the total norm before clipping.
    @discardableResult
    public static func clipGradNorm(_ params: [Tensor], maxNorm: Float) -> Float {
        let total = totalNorm(params)
        let coef = Swift.min(maxNorm / (total + 1e-6), 1)
        if coef < 1 {
            for p in params { if let g = p.grad { let pg = g.pointer; for i in 0..<g.count { pg[i] *= coef } } }
        }
        return total
    }

    /// Clamps every gradient element into [−clip, clip] (VITS `commons.clip_grad_value_`; nil = no
    /// clamping). Returns the total L2 norm before clamping, as VITS logs it.
    @discardableResult
    public static func clipGradValue(_ params: [Tensor], _ clip: Float?) -> Float {
        let total = totalNorm(params)
        if let clip {
            for p in params { if let g = p.grad { let pg = g.pointer; for i in 0..<g.count { pg[i] = Swift.min(Swift.max(pg[i], -clip), clip) } } }
        }
        return total
    }
}
