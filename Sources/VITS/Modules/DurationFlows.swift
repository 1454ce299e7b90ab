import Foundation
import Engine

/// VITS `modules.DDSConv`: dilated depth-separable convolutions with residual connections.
/// Layer i (dilation k^i, same padding):
///     y = drop(gelu(LN₂(conv1x1(gelu(LN₁(conv_sep(x·mask)))))));  x = x + y
/// The optional g is added to the input first; the output is masked.
/// Keys: `convs_sep.i` [C, 1, k] (depthwise), `convs_1x1.i` [C, C, 1], `norms_1.i`, `norms_2.i`.
public final class DDSConv: Module {
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout
    @ModuleInfo(key: "convs_sep") public private(set) var convsSep = ModuleList<Conv1d>()
    @ModuleInfo(key: "convs_1x1") public private(set) var convs1x1 = ModuleList<Conv1d>()
    @ModuleInfo(key: "norms_1") public private(set) var norms1 = ModuleList<ChannelLayerNorm>()
    @ModuleInfo(key: "norms_2") public private(set) var norms2 = ModuleList<ChannelLayerNorm>()

    public init(channels: Int, kernelSize: Int, layers: Int, dropout: Float, generator: RandomGenerator) {
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        super.init()
        var dilation = 1
        for _ in 0..<layers {
            convsSep.append(Conv1d(channels, channels, kernelSize: kernelSize, padding: (kernelSize * dilation - dilation) / 2,
                                   dilation: dilation, groups: channels, generator: generator))
            convs1x1.append(Conv1d(channels, channels, kernelSize: 1, generator: generator))
            norms1.append(ChannelLayerNorm(channels))
            norms2.append(ChannelLayerNorm(channels))
            dilation *= kernelSize
        }
    }

    public func callAsFunction(_ input: Tensor, mask: Tensor, g: Tensor? = nil) -> Tensor {
        var x = g.map { input + $0 } ?? input
        for i in 0..<convsSep.count {
            var y = norms1[i](convsSep[i](x * mask)).gelu()
            y = drop(norms2[i](convs1x1[i](y)).gelu())
            x = x + y
        }
        return x * mask
    }
}

/// VITS `modules.ElementwiseAffine`: y = (m + e^{logs}·x)·mask, log|det| = Σ logs·mask per item.
/// Keys: `m`, `logs` [C, 1] (zero at init).
public final class ElementwiseAffine: Module {
    @ParameterInfo(key: "m") public private(set) var m: Tensor
    @ParameterInfo(key: "logs") public private(set) var logs: Tensor

    public init(channels: Int) {
        _m.wrappedValue = Tensor(zeros: [channels, 1])
        _logs.wrappedValue = Tensor(zeros: [channels, 1])
        super.init()
    }

    /// x [B, C, T] → (y, logdet [B]).
    public func forward(_ x: Tensor, mask: Tensor) -> (y: Tensor, logdet: Tensor) {
        let y = (m + logs.exp() * x) * mask
        return (y, (logs * mask).sum(axes: [1, 2]))
    }

    public func reverse(_ y: Tensor, mask: Tensor) -> Tensor {
        (y - m) * logs.neg().exp() * mask
    }
}

/// VITS `modules.ConvFlow`: a coupling layer whose transform of the second half is a monotonic
/// rational-quadratic spline (linear tails) with parameters predicted from the first half:
///     h = proj(DDSConv(pre(x₀), mask, g))·mask  → per position [3·bins − 1] values:
///     widths = h[0..<K]/√F, heights = h[K..<2K]/√F, derivatives = h[2K..<3K−1]
///     x₁ ← spline(x₁);  y = cat(x₀, x₁)·mask,  log|det| = Σ log|dx₁'/dx₁|·mask.
/// Keys: `pre` [F, C/2, 1], `convs` (DDSConv, no dropout), `proj` [C/2·(3K−1), F, 1] (zero at init).
public final class ConvFlow: Module {
    public let halfChannels: Int
    public let filterChannels: Int
    public let bins: Int
    public let tailBound: Float
    @ModuleInfo(key: "pre") public private(set) var pre: Conv1d
    @ModuleInfo(key: "convs") public private(set) var convs: DDSConv
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d

    public init(inChannels: Int, filterChannels: Int, kernelSize: Int, layers: Int, bins: Int = 10, tailBound: Float = 5,
                generator: RandomGenerator) {
        halfChannels = inChannels / 2
        self.filterChannels = filterChannels
        self.bins = bins
        self.tailBound = tailBound
        _pre.wrappedValue = Conv1d(halfChannels, filterChannels, kernelSize: 1, generator: generator)
        _convs.wrappedValue = DDSConv(channels: filterChannels, kernelSize: kernelSize, layers: layers, dropout: 0, generator: generator)
        _proj.wrappedValue = Conv1d(filterChannels, halfChannels * (3 * bins - 1), kernelSize: 1, generator: generator)
        super.init()
        // The reference starts the flow as the identity: proj weight and bias zero.
        proj.weight!.pointer.update(repeating: 0, count: proj.weight!.count)
        proj.bias!.pointer.update(repeating: 0, count: proj.bias!.count)
    }

    /// Forward (x → y, with log|det| [B]) or, with `reverse`, the inverse (logdet unused).
    public func transform(_ x: Tensor, mask: Tensor, g: Tensor?, reverse: Bool) -> (y: Tensor, logdet: Tensor) {
        let b = x.shape[0], t = x.shape[2], c = halfChannels
        let halves = x.split(sizes: [c, c], axis: 1)
        let x0 = halves[0], x1 = halves[1]
        let h = proj(convs(pre(x0), mask: mask, g: g)) * mask                               // [B, c·(3K−1), T]
        let params = h.reshaped([b, c, 3 * bins - 1, t]).permuted([0, 1, 3, 2])             // [B, c, T, 3K−1]
        let scale = Float(Double(filterChannels).squareRoot())
        let widths = params.slice(axis: 3, start: 0, end: bins).divided(by: scale)
        let heights = params.slice(axis: 3, start: bins, end: 2 * bins).divided(by: scale)
        let derivatives = params.slice(axis: 3, start: 2 * bins)
        let (x1New, logAbsDet) = RationalQuadraticSpline.transform(x1, widths: widths, heights: heights, derivatives: derivatives,
                                                                     inverse: reverse, tailBound: tailBound)
        let y = Tensor.concat([x0, x1New], axis: 1) * mask
        return (y, (logAbsDet * mask).sum(axes: [1, 2]))
    }
}
