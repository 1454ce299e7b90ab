import Foundation

/// A low-rank adapter on a layer's weight (LoRA, Hu et al. 2021): W' = W + (α/r)·B·A, with
/// A [r, fan-in] drawn like a PyTorch Linear and B [rows, r] zero — so an adapted model starts out
/// exactly equal to the base model. Keys: `<layer>.lora.lora_A`, `<layer>.lora.lora_B`.
///
/// The adapter's delta is reshaped to the weight's shape (rows = weight axis 0, columns = the rest),
/// so it applies to convolutions (incl. transposed, per input channel) as to linear layers. With
/// dropout > 0 in training mode the adapter runs as a separate path on dropped-out inputs,
/// y = layer(x) + (α/r)·layer_ΔW(dropout(x)), as the original formulation; otherwise one pass on W'.
public final class LoRAAdapter: Module {
    @ParameterInfo(key: "lora_A") public private(set) var a: Tensor
    @ParameterInfo(key: "lora_B") public private(set) var b: Tensor
    public let rank: Int
    public let alpha: Float
    public let dropout: Float
    public var scale: Float { alpha / Float(rank) }
    let generator: RandomGenerator

    public init(rows: Int, columns: Int, rank: Int, alpha: Float, dropout: Float = 0, generator: RandomGenerator) {
        precondition(rank >= 1, "LoRA rank must be ≥ 1")
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.generator = generator
        _a.wrappedValue = generator.fanInUniform([rank, columns], fanIn: columns)
        _b.wrappedValue = Tensor(zeros: [rows, rank])
        super.init()
    }

    /// (α/r)·B·A reshaped to `shape` (recorded for autograd).
    public func delta(shape: [Int]) -> Tensor {
        Tensor.matmul(b, a).multiplied(by: scale).reshaped(shape)
    }

    /// Whether the adapter must run as its own dropout path.
    func usesDropoutPath(training: Bool) -> Bool { training && dropout > 0 }
}

extension WeightedLayer {
    /// Attaches a LoRA adapter (child module `lora`). The base weights keep their values; freezing
    /// them is the caller's choice (fine-tuning freezes everything but `*.lora.*`).
    @discardableResult
    public func attachLoRA(rank: Int, alpha: Float, dropout: Float = 0, generator: RandomGenerator) -> LoRAAdapter {
        precondition(lora == nil, "a LoRA adapter is already attached")
        let shape = (weight ?? weightV!).shape
        let adapter = LoRAAdapter(rows: shape[0], columns: shape.dropFirst().reduce(1, *), rank: rank,
                                  alpha: alpha, dropout: dropout, generator: generator)
        lora = register("lora", adapter)
        return adapter
    }

    /// The weight including the adapter's delta.
    public var adaptedWeight: Tensor {
        guard let lora else { return effectiveWeight }
        let w = effectiveWeight
        return w + lora.delta(shape: w.shape)
    }

    /// Plain-weight tensors with the adapter folded in, under this layer's reference keys
    /// (`weight` or `weight_g`/`weight_v`, plus `bias`), for export: a weight-normed layer gets
    /// v = W' and g = ‖W'‖ per row, so w = g·v/‖v‖ reproduces W' exactly.
    public func mergedTensors() -> [(String, Tensor)] {
        let merged = noGrad { adaptedWeight.copy() }
        var out: [(String, Tensor)] = []
        if isWeightNormed {
            let rows = merged.shape[0], n = merged.count / rows
            var norms = [Float](repeating: 0, count: rows)
            for r in 0..<rows {
                var s = 0.0
                for j in 0..<n { let v = Double(merged.pointer[r * n + j]); s += v * v }
                norms[r] = Float(s.squareRoot())
            }
            out.append(("weight_g", Tensor(shape: weightG!.shape, data: norms)))
            out.append(("weight_v", merged))
        } else {
            out.append(("weight", merged))
        }
        if let bias { out.append(("bias", bias.copy())) }
        return out
    }
}

extension Module {
    /// Attaches LoRA adapters to every convolution/linear-like layer whose key path starts with one of
    /// `prefixes` (whole path components). Returns the adapted layers' paths.
    @discardableResult
    public func attachLoRA(toPrefixes prefixes: [String], rank: Int, alpha: Float, dropout: Float = 0,
                           generator: RandomGenerator) -> [String] {
        var adapted: [String] = []
        for (path, module) in namedModules() {
            guard let layer = module as? WeightedLayer, layer.lora == nil else { continue }
            let matches = prefixes.contains { p in p.isEmpty || path == p || path.hasPrefix(p + ".") }
            guard matches else { continue }
            layer.attachLoRA(rank: rank, alpha: alpha, dropout: dropout, generator: generator)
            adapted.append(path)
        }
        return adapted
    }

    /// The state dict with every LoRA adapter merged into its layer's weights and no `lora` keys:
    /// what an exported voice stores.
    public func mergedStateDict() -> [String: Tensor] {
        var state = stateDict().filter { !$0.key.contains(".lora.") && !$0.key.hasPrefix("lora.") }
        for (path, module) in namedModules() {
            guard let layer = module as? WeightedLayer, layer.lora != nil else { continue }
            for (name, t) in layer.mergedTensors() { state[path.isEmpty ? name : path + "." + name] = t }
        }
        return state
    }

    /// Only the adapters' tensors (what a LoRA checkpoint stores besides the frozen base).
    public func loraStateDict() -> [String: Tensor] {
        stateDict().filter { $0.key.contains(".lora.") || $0.key.hasPrefix("lora.") }
    }
}
