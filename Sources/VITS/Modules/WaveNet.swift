import Engine

/// VITS `modules.WN`: the non-causal WaveNet stack of the posterior encoder and of the coupling layers.
///
/// Layer i: `a = tanh(x_in[:H] + g_i[:H]) · σ(x_in[H:] + g_i[H:])` with `x_in = in_layers[i](x)`
/// (dilation `dilationRate^i`, same padding) and `g_i` the i-th 2H-channel slice of `cond_layer(g)`;
/// `rs = res_skip_layers[i](a)`; the first H channels of `rs` update the residual stream
/// `x = (x + rs[:H])·mask`, the rest accumulate into the output. The last layer's res_skip conv has
/// only the H skip channels. The output is `Σ skip · mask`.
///
/// Keys (state_dict order): `in_layers.i`, `res_skip_layers.i` (all weight-normed), `cond_layer` when
/// `ginChannels > 0` — the reference fills its ModuleLists after registering `cond_layer`, but lists
/// are registered first, so the lists' keys come first (the declaration order below).
public final class WN: Module {
    public let hiddenChannels: Int
    public let layerCount: Int
    @ModuleInfo(key: "in_layers") public private(set) var inLayers = ModuleList<Conv1d>()
    @ModuleInfo(key: "res_skip_layers") public private(set) var resSkipLayers = ModuleList<Conv1d>()
    /// No parameters; a child so that train()/eval() reach it.
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout
    @ModuleInfo(key: "cond_layer") public private(set) var condLayer: Conv1d?

    /// - Parameters:
    ///   - dropout: probability after the gate (0 in every VITS configuration); active only in training mode,
    ///     drawing its masks from `generator`.
    public init(hiddenChannels: Int, kernelSize: Int, dilationRate: Int, layers: Int, ginChannels: Int = 0,
                dropout: Float = 0, generator: RandomGenerator) {
        precondition(kernelSize % 2 == 1, "WN: kernel size must be odd (same padding), got \(kernelSize)")
        precondition(layers >= 1 && hiddenChannels >= 1, "WN: needs at least one layer and one channel")
        self.hiddenChannels = hiddenChannels
        self.layerCount = layers
        _condLayer.wrappedValue = ginChannels > 0
            ? Conv1d(ginChannels, 2 * hiddenChannels * layers, kernelSize: 1, weightNorm: true, generator: generator)
            : nil
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        super.init()
        var dilation = 1
        for i in 0..<layers {
            inLayers.append(Conv1d(hiddenChannels, 2 * hiddenChannels, kernelSize: kernelSize,
                                   padding: (kernelSize * dilation - dilation) / 2, dilation: dilation,
                                   weightNorm: true, generator: generator))
            let resSkipChannels = i < layers - 1 ? 2 * hiddenChannels : hiddenChannels
            resSkipLayers.append(Conv1d(hiddenChannels, resSkipChannels, kernelSize: 1, weightNorm: true, generator: generator))
            dilation *= dilationRate
        }
    }

    /// x [B, H, T] (already masked), mask [B, 1, T], g [B, gin, 1] or nil → [B, H, T].
    public func callAsFunction(_ input: Tensor, mask: Tensor, g: Tensor? = nil) -> Tensor {
        let h = hiddenChannels
        precondition(input.rank == 3 && input.shape[1] == h, "WN: input must be [B, \(h), T], got \(input.shape)")
        precondition(g == nil || condLayer != nil, "WN: conditioning g given to a WN built with ginChannels = 0")
        let conditioning = g.map { condLayer!($0) }          // [B, 2H·layers, 1]
        var x = input
        var output: Tensor?
        for i in 0..<layerCount {
            let xIn = inLayers[i](x)
            let gi = conditioning?.slice(axis: 1, start: 2 * h * i, end: 2 * h * (i + 1))
            let acts = drop(tanhSigmoidGate(xIn, condition: gi))
            let resSkip = resSkipLayers[i](acts)
            let skip: Tensor
            if i < layerCount - 1 {
                x = addMasked(x, resSkip.slice(axis: 1, start: 0, end: h), mask: mask)
                skip = resSkip.slice(axis: 1, start: h, end: 2 * h)
            } else {
                skip = resSkip
            }
            output = output.map { $0 + skip } ?? skip
        }
        return output! * mask
    }
}
