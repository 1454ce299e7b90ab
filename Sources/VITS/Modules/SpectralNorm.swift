import Foundation
import Engine

/// A discriminator convolution, weight-normed (Engine `Conv1d`/`Conv2dK1`) or spectral-normed.
public protocol DiscriminatorLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension Conv1d: DiscriminatorLayer {}
extension Conv2dK1: DiscriminatorLayer {}

/// A convolution whose weight is spectral-normalised as `torch.nn.utils.spectral_norm` (the legacy
/// forward-pre-hook VITS applies when `use_spectral_norm` is true): W = weight_orig / σ with
/// σ = uᵀ·W_mat·v, W_mat = weight_orig viewed as [out, rest].
///
/// In training mode every call first runs one power iteration that updates the buffers in place,
/// v ← normalize(W_matᵀ u), u ← normalize(W_mat v) (normalize: x / max(‖x‖, 1e-12)), exactly as the
/// hook does on each module call; in eval mode the stored u, v are used. σ is differentiated
/// through W_mat only (u and v are constants of the call, as in PyTorch, which clones them).
///
/// Keys: `bias`, `weight_orig` (parameters), then buffers `weight_u` [out], `weight_v` [rest].
public final class SpectralNormConv: Module, DiscriminatorLayer {
    @ParameterInfo(key: "bias") public private(set) var bias: Tensor
    @ParameterInfo(key: "weight_orig") public private(set) var weightOrig: Tensor
    @BufferInfo(key: "weight_u") public private(set) var weightU: Tensor
    @BufferInfo(key: "weight_v") public private(set) var weightV: Tensor
    public let stride: Int, padding: Int, groups: Int
    /// true: Conv2d with a (k, 1) kernel (period discriminators); false: Conv1d.
    public let isPeriodConv: Bool
    static let eps: Float = 1e-12

    public convenience init(_ c: DiscriminatorConv, periodConv: Bool, generator: RandomGenerator) {
        self.init(inChannels: c.inChannels, outChannels: c.outChannels, kernel: c.kernel, stride: c.stride,
                  padding: c.padding, groups: c.groups, periodConv: periodConv, generator: generator)
    }

    /// Conv1d weight [out, in/groups, k], or with `periodConv` Conv2d weight [out, in/groups, k, 1].
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                periodConv: Bool, generator: RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "SpectralNormConv: channels must divide by groups")
        let fanIn = inChannels / groups * kernel
        let shape = periodConv ? [outChannels, inChannels / groups, kernel, 1] : [outChannels, inChannels / groups, kernel]
        _weightOrig.wrappedValue = generator.fanInUniform(shape, fanIn: fanIn)          // PyTorch default conv init
        _bias.wrappedValue = generator.fanInUniform([outChannels], fanIn: fanIn)
        // spectral_norm(): u, v = normalize(N(0, 1)) of sizes [out] and [rest].
        _weightU.wrappedValue = SpectralNormConv.normalized(generator.randn([outChannels]))
        _weightV.wrappedValue = SpectralNormConv.normalized(generator.randn([fanIn]))
        self.stride = stride; self.padding = padding; self.groups = groups
        isPeriodConv = periodConv
        super.init()
    }

    /// x / max(‖x‖, eps), a new tensor.
    static func normalized(_ x: Tensor) -> Tensor {
        var s = 0.0
        for i in 0..<x.count { s += Double(x.pointer[i]) * Double(x.pointer[i]) }
        let scale = 1 / Swift.max(Float(s.squareRoot()), eps)
        let out = Tensor(uninitialized: x.shape)
        for i in 0..<x.count { out.pointer[i] = x.pointer[i] * scale }
        return out
    }

    /// One power iteration on the buffers (in place).
    public func powerIteration() {
        let rows = weightU.count, cols = weightV.count
        noGrad {
            let matrix = weightOrig.detached().reshaped([rows, cols])
            let v = Self.normalized(Tensor.matmul(matrix, weightU.reshaped([rows, 1]), transposeA: true))
            weightV.pointer.update(from: v.pointer, count: cols)
            let u = Self.normalized(Tensor.matmul(matrix, weightV.reshaped([cols, 1])))
            weightU.pointer.update(from: u.pointer, count: rows)
        }
    }

    /// weight_orig / σ (runs the power iteration first in training mode).
    public func normalizedWeight() -> Tensor {
        if isTraining { powerIteration() }
        let rows = weightU.count, cols = weightV.count
        // Copies: later calls update the buffers in place, this call's graph must keep its u, v.
        let u = weightU.copy().reshaped([1, rows]), v = weightV.copy().reshaped([cols, 1])
        let sigma = Tensor.matmul(u, Tensor.matmul(weightOrig.reshaped([rows, cols]), v))   // [1, 1]
        return weightOrig / sigma.reshaped(Array(repeating: 1, count: weightOrig.rank))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let w = normalizedWeight()
        if isPeriodConv { return conv2dK1(x, weight: w, bias: bias, stride: stride, padding: padding, groups: groups) }
        return conv1d(x, weight: w, bias: bias, stride: stride, padding: padding, groups: groups)
    }
}
