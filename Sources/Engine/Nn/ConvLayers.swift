import Foundation

/// Initial weights of a (weight-normed) convolution: PyTorch's default (uniform ±1/√fan_in), or
/// N(0, std) as VITS's `init_weights` applies to the HiFi-GAN convs.
public enum ConvInit: Sendable {
    case pytorchDefault
    case normal(std: Float)
}

/// Weight storage shared by the convolution layers: either a plain `weight`, or the weight-norm
/// pair `weight_g` [rows,1,…] and `weight_v` (w = g·v/‖v‖ over every axis but 0, as
/// `torch.nn.utils.weight_norm(dim=0)` stores it; for a transposed conv, axis 0 is the input channel).
public class WeightedLayer: Module {
    // Declaration order = PyTorch state_dict order: a plain conv has weight, bias; weight_norm()
    // deletes `weight` and appends weight_g, weight_v after the bias.
    @ParameterInfo(key: "weight") public private(set) var weight: Tensor?
    @ParameterInfo(key: "bias") public private(set) var bias: Tensor?
    @ParameterInfo(key: "weight_g") public private(set) var weightG: Tensor?
    @ParameterInfo(key: "weight_v") public private(set) var weightV: Tensor?
    /// Low-rank adapter (fine-tuning), see LoRA.swift.
    public internal(set) var lora: LoRAAdapter?

    init(weightShape: [Int], fanIn: Int, biasCount: Int?, weightNorm: Bool, initializer: ConvInit, generator: RandomGenerator) {
        let w: Tensor
        switch initializer {
        case .pytorchDefault: w = generator.fanInUniform(weightShape, fanIn: fanIn)
        case .normal(let std): w = generator.normal(weightShape, std: std)
        }
        let b = biasCount.map { generator.fanInUniform([$0], fanIn: fanIn) }
        if weightNorm {
            // g starts as ‖v‖ per row, so the initial effective weight equals v (what weight_norm() does).
            let rows = weightShape[0], n = w.count / rows
            var norms = [Float](repeating: 0, count: rows)
            for r in 0..<rows {
                var s = 0.0
                for j in 0..<n { let v = Double(w.pointer[r * n + j]); s += v * v }
                norms[r] = Float(s.squareRoot())
            }
            _weightG.wrappedValue = Tensor(shape: [rows] + Array(repeating: 1, count: weightShape.count - 1), data: norms)
            _weightV.wrappedValue = w
            _weight.wrappedValue = nil
        } else {
            _weight.wrappedValue = w; _weightG.wrappedValue = nil; _weightV.wrappedValue = nil
        }
        _bias.wrappedValue = b
        super.init()
    }

    /// The weight the convolution uses (recomputed from g and v each call when weight-normed, so
    /// gradients reach both).
    public var effectiveWeight: Tensor {
        if let weight { return weight }
        return Tensor.weightNorm(v: weightV!, g: weightG!)
    }

    public var isWeightNormed: Bool { weightG != nil }

    /// Runs the layer's operation `op(input, weight, bias)` with the adapted weight; with a LoRA
    /// adapter in dropout mode, as base path + adapter path on dropped-out inputs (see LoRA.swift).
    func applyWeights(_ x: Tensor, _ op: (Tensor, Tensor, Tensor?) -> Tensor) -> Tensor {
        if let lora, lora.usesDropoutPath(training: isTraining) {
            let w = effectiveWeight
            return op(x, w, bias) + op(x.dropout(lora.dropout, training: true, generator: lora.generator), lora.delta(shape: w.shape), nil)
        }
        return op(x, adaptedWeight, bias)
    }
}

/// `torch.nn.Conv1d` (optionally weight-normed): weight [out, in/groups, k], bias [out].
public final class Conv1d: WeightedLayer {
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                initializer: ConvInit = .pytorchDefault, generator: RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "Conv1d: channels must divide by groups")
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
        super.init(weightShape: [outChannels, inChannels / groups, kernelSize], fanIn: inChannels / groups * kernelSize,
                   biasCount: bias ? outChannels : nil, weightNorm: weightNorm, initializer: initializer, generator: generator)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        applyWeights(x) { conv1d($0, weight: $1, bias: $2, stride: stride, padding: padding, dilation: dilation, groups: groups) }
    }
}

/// `torch.nn.ConvTranspose1d` (optionally weight-normed): weight [in, out/groups, k], bias [out].
///
/// With `boxWidth` w > 1 the stored kernel (k taps) is summed over w consecutive taps before use
/// (`kernel(_:)`, k + w − 1 taps). With w = stride that is nearest-neighbour upsampling followed by an
/// ordinary convolution with the stored kernel, computed as one transposed convolution: every output
/// phase then sums the same taps, so a constant input gives a constant output (a free transposed
/// convolution turns it into a pattern repeating every input step — Odena et al., "Deconvolution and
/// checkerboard artifacts", Distill 2016).
public final class ConvTranspose1d: WeightedLayer {
    public let stride: Int, padding: Int, outputPadding: Int, groups: Int
    /// Consecutive taps summed into each tap of the kernel the convolution uses (1: none).
    public let boxWidth: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                boxWidth: Int = 1, initializer: ConvInit = .pytorchDefault, generator: RandomGenerator) {
        precondition(boxWidth >= 1, "ConvTranspose1d: box width must be ≥ 1, got \(boxWidth)")
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding; self.groups = groups
        self.boxWidth = boxWidth
        // PyTorch computes fan-in of a transposed conv from weight.size(1)·k = (out/groups)·k.
        super.init(weightShape: [inChannels, outChannels / groups, kernelSize], fanIn: outChannels / groups * kernelSize,
                   biasCount: bias ? outChannels : nil, weightNorm: weightNorm, initializer: initializer, generator: generator)
    }

    /// The kernel the convolution applies for stored kernel `w` (the weight, or a LoRA delta):
    /// `v[m] = Σ_{d<boxWidth} w[m − d]` along the last axis, k + boxWidth − 1 taps.
    public func kernel(_ w: Tensor) -> Tensor {
        guard boxWidth > 1 else { return w }
        var sum: Tensor?
        for d in 0..<boxWidth {
            let shifted = w.padded(axis: -1, before: d, after: boxWidth - 1 - d)
            sum = sum.map { $0 + shifted } ?? shifted
        }
        return sum!
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        applyWeights(x) { convTranspose1d($0, weight: kernel($1), bias: $2, stride: stride, padding: padding, outputPadding: outputPadding, groups: groups) }
    }
}

/// `torch.nn.Conv2d` with a (k, 1) kernel, stride (s, 1), padding (p, 0) — the period discriminators'
/// layer. Weight [out, in, k, 1].
public final class Conv2dK1: WeightedLayer {
    public let stride: Int, padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, weightNorm: Bool = false, generator: RandomGenerator) {
        self.stride = stride; self.padding = padding
        super.init(weightShape: [outChannels, inChannels, kernelSize, 1], fanIn: inChannels * kernelSize,
                   biasCount: bias ? outChannels : nil, weightNorm: weightNorm, initializer: .pytorchDefault, generator: generator)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        applyWeights(x) { conv2dK1($0, weight: $1, bias: $2, stride: stride, padding: padding) }
    }
}

/// VITS's `modules.LayerNorm`: normalizes the channel axis of [B, C, T]; parameters `gamma`, `beta`.
public final class ChannelLayerNorm: Module {
    @ParameterInfo(key: "gamma") public private(set) var gamma: Tensor
    @ParameterInfo(key: "beta") public private(set) var beta: Tensor
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-5) {
        _gamma.wrappedValue = Tensor(repeating: 1, shape: [channels])
        _beta.wrappedValue = Tensor(zeros: [channels])
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNormChannels(x, gamma: gamma, beta: beta, eps: eps) }
}
