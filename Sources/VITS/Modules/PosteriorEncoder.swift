import Engine

/// VITS `PosteriorEncoder` (`enc_q`): linear spectrogram → posterior q(z|x).
///
/// `h = WN(pre(spec)·mask, mask, g)`; `m, logs = split(proj(h)·mask)`;
/// `z = (m + ε·exp(logs))·mask`. The input is the linear magnitude spectrogram (not its log).
/// Keys: `pre` [H, specChannels, 1], `enc` (WN), `proj` [2·out, H, 1].
public final class PosteriorEncoder: Module {
    public let outChannels: Int
    public let hiddenChannels: Int
    @ModuleInfo(key: "pre") public private(set) var pre: Conv1d
    @ModuleInfo(key: "enc") public private(set) var enc: WN
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d
    /// Prefix of the names reported to a trace (the reference attribute name in `SynthesizerTrn`).
    public var tracePath = "enc_q"

    /// Reference sizes: `PosteriorEncoder(spec_channels, inter, hidden, 5, 1, 16, gin_channels)`.
    public init(inChannels: Int, outChannels: Int, hiddenChannels: Int, kernelSize: Int = 5, dilationRate: Int = 1,
                layers: Int = 16, ginChannels: Int = 0, generator: RandomGenerator) {
        self.outChannels = outChannels
        self.hiddenChannels = hiddenChannels
        _pre.wrappedValue = Conv1d(inChannels, hiddenChannels, kernelSize: 1, generator: generator)
        _enc.wrappedValue = WN(hiddenChannels: hiddenChannels, kernelSize: kernelSize, dilationRate: dilationRate, layers: layers,
                               ginChannels: ginChannels, generator: generator)
        _proj.wrappedValue = Conv1d(hiddenChannels, 2 * outChannels, kernelSize: 1, generator: generator)
        super.init()
    }

    /// The `enc_q` of a reference config: spectrogram channels `filter_length/2 + 1`, `inter_channels`
    /// out, `hidden_channels` wide, 16 WN layers of kernel 5 (hard-coded in the reference).
    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        let m = config.model
        self.init(inChannels: config.spectrogramChannels, outChannels: m.interChannels, hiddenChannels: m.hiddenChannels,
                  ginChannels: m.ginChannels, generator: generator)
    }

    /// - Parameters:
    ///   - spec: linear spectrogram [B, specChannels, T]; mask: [B, 1, T] of 0/1; g: [B, gin, 1] or nil.
    ///   - noise: the standard-normal draw ε [B, out, T] (draw "posterior"; recorded noise in parity checks).
    /// - Returns: z, m, logs, each [B, out, T].
    public func callAsFunction(_ spec: Tensor, mask: Tensor, g: Tensor? = nil, noise: Tensor,
                               trace: ((String, Tensor) -> Void)? = nil) -> (z: Tensor, m: Tensor, logs: Tensor) {
        precondition(noise.shape == [spec.shape[0], outChannels, spec.shape[2]],
                     "PosteriorEncoder: noise must be [B, \(outChannels), T] = \([spec.shape[0], outChannels, spec.shape[2]]), got \(noise.shape)")
        var h = pre(spec)
        trace?(tracePath + ".pre", h)
        h = enc(h * mask, mask: mask, g: g)
        trace?(tracePath + ".enc", h)
        let stats = proj(h)
        trace?(tracePath + ".proj", stats)
        let halves = (stats * mask).split(sizes: [outChannels, outChannels], axis: 1)
        let m = halves[0], logs = halves[1]
        let z = (m + noise * logs.exp()) * mask
        return (z, m, logs)
    }
}
