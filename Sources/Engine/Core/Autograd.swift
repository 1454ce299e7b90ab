import Foundation

/// One recorded operation: the tensors it read and a closure mapping the gradient of its output
/// to gradients of those inputs (nil where an input needs none).
///
/// Which inputs need a gradient is decided when the operation is recorded (`inputNeedsGrad`), as in
/// PyTorch: a parameter frozen while a loss is recorded (`Module.withoutParameterGradients`) gets no
/// gradient from that loss even if it is unfrozen before `backward()`, and one that required a
/// gradient at record time gets it even if frozen since. (Reading the flags at backward time instead
/// let the GAN generator loss, recorded with D frozen and back-propagated after D was unfrozen, add
/// into the discriminator's gradients.)
///
/// The closure captures whatever activations the backward pass needs; `release()` drops it after
/// it ran, so saved activations are freed as soon as backward has passed them.
public final class GradNode {
    public let name: String
    public private(set) var inputs: [Tensor]
    /// `inputs[i].requiresGrad` at record time: only these inputs receive gradients.
    public private(set) var inputNeedsGrad: [Bool]
    private var backwardFn: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.inputNeedsGrad = inputs.map(\.requiresGrad)
        self.backwardFn = backward
    }

    /// Runs the backward closure with every input's `requiresGrad` set to its record-time value, so
    /// rules that skip work for inputs without `requiresGrad` see the same flags as at record time;
    /// the current flags are restored afterwards. (Backward runs on one thread; kernels inside the
    /// closure do not read the flags.)
    func runBackward(_ gradOutput: Tensor) -> [Tensor?] {
        guard let fn = backwardFn else {
            fatalError("backward through '\(name)' ran twice; the graph's saved activations were already freed")
        }
        let current = inputs.map(\.requiresGrad)
        for (input, needs) in zip(inputs, inputNeedsGrad) { input.requiresGrad = needs }
        defer { for (input, flag) in zip(inputs, current) { input.requiresGrad = flag } }
        return fn(gradOutput)
    }

    func release() {
        backwardFn = nil
        inputs = []
        inputNeedsGrad = []
    }
}

/// Whether operations are recorded for backward. Scoped per task/thread with `noGrad { }`.
public enum GradMode {
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` without recording any operation (inference, optimizer updates, metrics).
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

extension Tensor {
    /// Attaches `output` to the graph when gradients are enabled and any input requires them.
    /// Every differentiable op ends with this call. `backward` receives dL/d(output) (same shape as
    /// output) and returns dL/d(input) for each input, in order, each of the input's shape.
    @discardableResult
    public static func record(_ name: String, output: Tensor, inputs: [Tensor],
                              backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
        output.requiresGrad = true
        output.node = GradNode(name: name, inputs: inputs, backward: backward)
        return output
    }

    /// Reverse-mode differentiation from this tensor. With no `gradient`, the tensor must hold one
    /// element and its gradient is 1. Gradients accumulate (+=) into leaves' `grad`; the recorded
    /// graph is freed as it is walked.
    public func backward(gradient: Tensor? = nil) {
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "gradient shape \(gradient.shape) != tensor shape \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward() without a gradient needs a one-element tensor, shape is \(shape)")
            seed = Tensor(repeating: 1, shape: shape)
        }
        noGrad {
            // Topological order of interior tensors (iterative DFS: graphs of deep models overflow recursion).
            var order: [Tensor] = []
            var visited = Set<ObjectIdentifier>()
            var stack: [(Tensor, Bool)] = [(self, false)]
            while let (t, expanded) = stack.popLast() {
                if expanded { order.append(t); continue }
                guard let node = t.node, visited.insert(ObjectIdentifier(t)).inserted else { continue }
                stack.append((t, true))
                for input in node.inputs where input.node != nil && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            if node == nil { Tensor.accumulate(seed, into: self); return }
            for t in order.reversed() {
                guard let node = t.node else { continue }
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { node.release(); t.node = nil; continue }
                let inputGrads = node.runBackward(g)
                precondition(inputGrads.count == node.inputs.count, "op '\(node.name)' returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (k, (input, ig)) in zip(node.inputs, inputGrads).enumerated() {
                    guard let ig, node.inputNeedsGrad[k] else { continue }
                    precondition(ig.shape == input.shape, "op '\(node.name)' returned gradient of shape \(ig.shape) for input of shape \(input.shape)")
                    if input.node == nil {
                        Tensor.accumulate(ig, into: input)
                    } else {
                        let key = ObjectIdentifier(input)
                        if let existing = grads[key] { grads[key] = Tensor.sum(existing, ig) } else { grads[key] = ig }
                    }
                }
                node.release()
                t.node = nil
            }
        }
    }

    /// leaf.grad += g
    static func accumulate(_ g: Tensor, into leaf: Tensor) {
        if let existing = leaf.grad {
            let n = existing.count
            let dst = existing.pointer, src = g.pointer
            for i in 0..<n { dst[i] += src[i] }
        } else {
            leaf.grad = g.copy()
        }
    }

    /// Elementwise a + b of two same-shape tensors into new storage (no graph).
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Tensor(uninitialized: a.shape)
        let n = a.count, pa = a.pointer, pb = b.pointer, po = out.pointer
        for i in 0..<n { po[i] = pa[i] + pb[i] }
        return out
    }

    /// Clears this tensor's gradient.
    public func zeroGrad() { grad = nil }
}
