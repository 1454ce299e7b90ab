import Engine

/// A HiFi-GAN residual block: ResBlock1 or ResBlock2.
public protocol HiFiGANResBlock: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// VITS `modules.ResBlock1(C, k, (d0, d1, d2))`: per dilation d,
/// `x += convs2_d(lrelu(convs1_d(lrelu(x, 0.1)), 0.1))`, convs1 dilated by d, convs2 undilated,
/// all weight-normed with same padding. Keys: `convs1.0…2`, `convs2.0…2`.
public final class ResBlock1: Module, HiFiGANResBlock {
    @ModuleInfo(key: "convs1") public private(set) var convs1 = ModuleList<Conv1d>()
    @ModuleInfo(key: "convs2") public private(set) var convs2 = ModuleList<Conv1d>()

    public init(channels: Int, kernelSize: Int, dilations: [Int], generator: RandomGenerator) {
        precondition(kernelSize % 2 == 1, "ResBlock1: kernel size must be odd, got \(kernelSize)")
        super.init()
        for d in dilations {
            convs1.append(Conv1d(channels, channels, kernelSize: kernelSize, padding: (kernelSize * d - d) / 2,
                                 dilation: d, weightNorm: true, generator: generator))
        }
        for _ in dilations {
            convs2.append(Conv1d(channels, channels, kernelSize: kernelSize, padding: (kernelSize - 1) / 2,
                                 weightNorm: true, generator: generator))
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        if !GradMode.isEnabled {
            // Inference: leaky ReLU, bias and residual add fused into the convolutions (same math, another rounding order).
            for (c1, c2) in zip(convs1, convs2) {
                let xt = InferenceConv.conv(x, weight: c1.adaptedWeight, bias: c1.bias, dilation: c1.dilation,
                                            slope: Generator.leakySlope)
                x = InferenceConv.conv(xt, weight: c2.adaptedWeight, bias: c2.bias, dilation: c2.dilation,
                                       slope: Generator.leakySlope, residual: x)
            }
            return x
        }
        for (c1, c2) in zip(convs1, convs2) {
            let xt = c2(leakyRelu(c1(leakyRelu(x, slope: Generator.leakySlope)), slope: Generator.leakySlope))
            x = xt + x
        }
        return x
    }
}

/// VITS `modules.ResBlock2(C, k, (d0, d1))`: per dilation d, `x += convs_d(lrelu(x, 0.1))`. Keys: `convs.0…1`.
public final class ResBlock2: Module, HiFiGANResBlock {
    @ModuleInfo(key: "convs") public private(set) var convs = ModuleList<Conv1d>()

    public init(channels: Int, kernelSize: Int, dilations: [Int], generator: RandomGenerator) {
        precondition(kernelSize % 2 == 1, "ResBlock2: kernel size must be odd, got \(kernelSize)")
        super.init()
        for d in dilations {
            convs.append(Conv1d(channels, channels, kernelSize: kernelSize, padding: (kernelSize * d - d) / 2,
                                dilation: d, weightNorm: true, generator: generator))
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        if !GradMode.isEnabled {
            for c in convs {
                x = InferenceConv.conv(x, weight: c.adaptedWeight, bias: c.bias, dilation: c.dilation,
                                       slope: Generator.leakySlope, residual: x)
            }
            return x
        }
        for c in convs { x = c(leakyRelu(x, slope: Generator.leakySlope)) + x }
        return x
    }
}

/// VITS `Generator` (`dec`), HiFi-GAN V1-style: z [B, I, T] → waveform [B, 1, T·Πu].
///
/// `x = conv_pre(z) (+ cond(g))`; per stage i: `x = ups_i(lrelu(x, 0.1))`,
/// `x = Σ_j resblocks[i·nk + j](x) / nk`; then `tanh(conv_post(lrelu(x, 0.01)))`. No mask inside.
/// Keys: `conv_pre` [C0, I, 7], `ups.i` (weight-normed ConvTranspose1d, g per input channel),
/// `resblocks.m`, `conv_post` [1, C0/2ⁿ, 7] without bias, `cond` [C0, G, 1] when G > 0.
public final class Generator: Module {
    @ModuleInfo(key: "conv_pre") public private(set) var convPre: Conv1d
    @ModuleInfo(key: "ups") public private(set) var ups = ModuleList<ConvTranspose1d>()
    @ModuleInfo(key: "resblocks") public private(set) var resblocks = ModuleList<Module>()
    @ModuleInfo(key: "conv_post") public private(set) var convPost: Conv1d
    @ModuleInfo(key: "cond") public private(set) var cond: Conv1d?
    /// Pitch excitation (`model.pitch_excitation`): the harmonic source merged to one channel
    /// (`m_source`), and per upsampling stage a strided convolution bringing it to that stage's rate
    /// and width (`noise_convs.i`), added after the stage's transposed convolution. Nil otherwise.
    /// Registered at run time by `addPitchExcitation`, so their keys follow `cond`.
    public private(set) var mSource: SourceMerge?
    public let noiseConvs = ModuleList<Conv1d>()
    public let kernelsPerStage: Int
    /// Channels after `conv_pre` (halved at every upsampling stage).
    public let upsampleInitialChannel: Int
    /// The blocks of `resblocks`, typed.
    public let blocks: [HiFiGANResBlock]
    /// Prefix of the names reported to a trace.
    public var tracePath = "dec"
    /// Leaky-ReLU slope inside HiFi-GAN (`modules.LRELU_SLOPE`).
    public static let leakySlope: Float = 0.1
    /// The last activation (before conv_post) is `F.leaky_relu` with its default slope.
    public static let finalLeakySlope: Float = 0.01

    /// The upsampling stages every HiFi-GAN-style decoder shares (this generator and the iSTFT family):
    /// per stage a weight-normed transposed conv halving the channels, then one residual block per
    /// kernel size. Built ups first, then blocks, the reference's parameter creation order (the
    /// random initialisation depends on it).
    /// `upsampling` .nearest: the same layers with the kernel box-summed over the rate (UpsamplingKind).
    static func upsamplingStages(initialChannel c0: Int, upsampleRates: [Int], upsampleKernelSizes: [Int],
                                 upsampling: UpsamplingKind, resblock: ResBlockKind,
                                 resblockKernelSizes: [Int], resblockDilationSizes: [[Int]],
                                 generator: RandomGenerator) -> (ups: [ConvTranspose1d], blocks: [HiFiGANResBlock]) {
        let ups = zip(upsampleRates, upsampleKernelSizes).enumerated().map { i, uk in
            let (rate, k) = uk
            switch upsampling {
            case .transposed:
                return ConvTranspose1d(c0 >> i, c0 >> (i + 1), kernelSize: k, stride: rate, padding: (k - rate) / 2,
                                       weightNorm: true, generator: generator)
            case .nearest:
                // k + rate − 1 applied taps; padding (k − 1)/2 gives exactly rate·L samples.
                return ConvTranspose1d(c0 >> i, c0 >> (i + 1), kernelSize: k, stride: rate, padding: (k - 1) / 2,
                                       weightNorm: true, boxWidth: rate, generator: generator)
            }
        }
        var blocks: [HiFiGANResBlock] = []
        for i in 0..<upsampleRates.count {
            let channels = c0 >> (i + 1)
            for (k, dilations) in zip(resblockKernelSizes, resblockDilationSizes) {
                switch resblock {
                case .one: blocks.append(ResBlock1(channels: channels, kernelSize: k, dilations: dilations, generator: generator))
                case .two: blocks.append(ResBlock2(channels: channels, kernelSize: k, dilations: dilations, generator: generator))
                }
            }
        }
        return (ups, blocks)
    }

    /// Initialisation is the reference's effective one: PyTorch's default conv init everywhere. (The
    /// reference also calls `init_weights` (N(0, 0.01)) on `ups` and the resblock convs, but only after
    /// `weight_norm` has replaced `weight` by a derived tensor, so it changes neither g nor v.)
    public init(initialChannel: Int, resblock: ResBlockKind, resblockKernelSizes: [Int], resblockDilationSizes: [[Int]],
                upsampleRates: [Int], upsampleInitialChannel: Int, upsampleKernelSizes: [Int], ginChannels: Int = 0,
                upsampling: UpsamplingKind = .transposed, generator: RandomGenerator) {
        precondition(upsampleRates.count == upsampleKernelSizes.count, "Generator: one kernel size per upsampling rate")
        precondition(resblockKernelSizes.count == resblockDilationSizes.count, "Generator: one dilation list per resblock kernel")
        precondition(!resblockKernelSizes.isEmpty, "Generator: needs at least one resblock kernel size")
        let c0 = upsampleInitialChannel
        self.upsampleInitialChannel = c0
        kernelsPerStage = resblockKernelSizes.count
        _convPre.wrappedValue = Conv1d(initialChannel, c0, kernelSize: 7, padding: 3, generator: generator)
        let (upLayers, blocks) = Generator.upsamplingStages(
            initialChannel: c0, upsampleRates: upsampleRates, upsampleKernelSizes: upsampleKernelSizes, upsampling: upsampling,
            resblock: resblock, resblockKernelSizes: resblockKernelSizes, resblockDilationSizes: resblockDilationSizes,
            generator: generator)
        self.blocks = blocks
        _convPost.wrappedValue = Conv1d(c0 >> upsampleRates.count, 1, kernelSize: 7, padding: 3, bias: false, generator: generator)
        _cond.wrappedValue = ginChannels > 0 ? Conv1d(ginChannels, c0, kernelSize: 1, generator: generator) : nil
        super.init()
        for layer in upLayers { ups.append(layer) }
        for block in blocks { resblocks.append(block) }
    }

    /// Adds the pitch-excitation modules (`m_source`, `noise_convs`). `SynthesizerTrn` calls this after
    /// every other module exists, so the rest of a model draws exactly the initial weights it would
    /// without pitch excitation (same seed, same weights: runs with and without it compare cleanly).
    public func addPitchExcitation(_ pitch: PitchSettings, generator: RandomGenerator) {
        precondition(mSource == nil, "Generator: pitch excitation added twice")
        let source = SourceMerge(harmonics: pitch.harmonics, generator: generator)
        let c0 = upsampleInitialChannel, rates = ups.map(\.stride)
        for (i, stride) in PitchSettings.sourceStrides(rates: rates).enumerated() {
            let channels = c0 >> (i + 1)
            noiseConvs.append(stride > 1
                ? Conv1d(1, channels, kernelSize: 2 * stride, stride: stride, padding: stride / 2, generator: generator)
                : Conv1d(1, channels, kernelSize: 1, generator: generator))
        }
        mSource = source
        register("m_source", source)
        register("noise_convs", noiseConvs)
        // Frozen parts keep their initial weights: out of the optimizer, still in the state dict.
        var frozen: [Module] = []
        if pitch.frozenSource != .none { frozen.append(source) }
        if pitch.frozenSource == .all { frozen.append(noiseConvs) }
        for module in frozen { for (_, weight) in module.namedParameters() { weight.requiresGrad = false } }
    }

    /// The `dec` of a reference config.
    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        let m = config.model
        self.init(initialChannel: m.interChannels, resblock: m.resblock, resblockKernelSizes: m.resblockKernelSizes,
                  resblockDilationSizes: m.resblockDilationSizes, upsampleRates: m.upsampleRates,
                  upsampleInitialChannel: m.upsampleInitialChannel, upsampleKernelSizes: m.upsampleKernelSizes,
                  ginChannels: m.ginChannels, upsampling: m.decoder.upsampling, generator: generator)
    }

    /// z [B, I, T], g [B, G, 1] or nil → waveform [B, 1, T·Πu] in (−1, 1).
    /// Traces `dec.conv_pre`, `dec.cond`, `dec.ups.i`, `dec.resblocks.m`, `dec.conv_post` (before tanh).
    /// `excitation`: the harmonic source [B, harmonics + 1, T·Πu] (`HarmonicSource`), required by a
    /// generator built with pitch excitation and refused by one without.
    public func callAsFunction(_ z: Tensor, g: Tensor? = nil, excitation: Tensor? = nil,
                               trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        precondition(g == nil || cond != nil, "Generator: conditioning g given to a generator built with ginChannels = 0")
        precondition((excitation != nil) == (mSource != nil), "Generator: the harmonic source is given exactly when the generator has pitch excitation")
        let source = excitation.map { mSource!($0) }
        var x = convPre(z)
        trace?(tracePath + ".conv_pre", x)
        if let g, let cond {
            let c = cond(g)
            trace?(tracePath + ".cond", c)
            x = x + c
        }
        for (i, up) in ups.enumerated() {
            x = up(leakyRelu(x, slope: Generator.leakySlope))
            if let source { x = x + noiseConvs[i](source) }
            trace?("\(tracePath).ups.\(i)", x)
            var sum: Tensor?
            for j in 0..<kernelsPerStage {
                let index = i * kernelsPerStage + j
                let y = blocks[index](x)
                trace?("\(tracePath).resblocks.\(index)", y)
                sum = sum.map { $0 + y } ?? y
            }
            x = sum!.divided(by: Float(kernelsPerStage))
        }
        x = convPost(leakyRelu(x, slope: Generator.finalLeakySlope))
        trace?(tracePath + ".conv_post", x)
        return x.tanh()
    }
}
