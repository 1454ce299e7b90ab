/// One state_dict entry: the reference PyTorch key and shape (PyTorch layout: conv weights
/// `[out, in/groups, k]`, transposed-conv weights `[in, out, k]`, weight-norm `g` `[out,1,1]` or
/// `[in,1,1]` for transposed convs).
public struct ParameterSpec: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let shape: [Int]
    /// True for state_dict buffers that are not trained (spectral-norm power-iteration vectors).
    public let isBuffer: Bool

    public init(key: String, shape: [Int], isBuffer: Bool = false) {
        self.key = key
        self.shape = shape
        self.isBuffer = isBuffer
    }

    public var count: Int { shape.reduce(1, *) }
    /// The top-level module the key belongs to (`enc_p`, `dec`, …, `discriminators`).
    public var module: String { String(key.prefix { $0 != "." }) }
    public var description: String { "\(key) \(shape)" }
}

/// Every parameter the VITS modules create, in reference state_dict order, derived from the config
/// alone. This is the single source of truth the model builder is checked against.
///
/// Order rules (PyTorch `state_dict`): a module's own parameters in registration order, then its
/// buffers, then its children in registration order. Weight-normed layers hold `bias`,
/// `weight_g`, `weight_v` (the reference removes `weight` and appends g and v);
/// spectral-normed ones `bias`, `weight_orig`, then buffers `weight_u`, `weight_v`.
public enum VITSParameters {
    /// Top-level generator modules in registration order.
    public static let generatorModules = ["enc_p", "dec", "enc_q", "flow", "dp", "emb_g"]

    /// The generator (`SynthesizerTrn`). `vocabularySize` is `len(symbols)` of the text frontend.
    public static func generator(_ config: VITSConfig, vocabularySize: Int) throws(VITSConfigError) -> [ParameterSpec] {
        try config.validate()
        guard vocabularySize >= 1, vocabularySize <= 1 << 24 else {
            throw VITSConfigError(source: "vocabulary", issues: [.init(keyPath: "n_vocab", line: nil, message: "expected a vocabulary size in 1...\(1 << 24), found \(vocabularySize)")])
        }
        let m = config.model
        let hidden = m.hiddenChannels, inter = m.interChannels, gin = m.ginChannels
        var b = LayoutBuilder()

        // enc_p: TextEncoder
        b.scope("enc_p") { b in
            b.add("emb.weight", [vocabularySize, hidden])
            b.scope("encoder") { b in
                let kChannels = hidden / m.nHeads
                for i in 0..<m.nLayers {
                    b.scope("attn_layers.\(i)") { b in
                        // Relative position tables (window 4 => 9 offsets), shared by all heads. Own
                        // parameters come before the child convs in the state_dict.
                        b.add("emb_rel_k", [1, 2 * 4 + 1, kChannels])
                        b.add("emb_rel_v", [1, 2 * 4 + 1, kChannels])
                        for name in ["conv_q", "conv_k", "conv_v", "conv_o"] { b.conv(name, out: hidden, in: hidden, kernel: [1]) }
                    }
                }
                for i in 0..<m.nLayers { b.layerNorm("norm_layers_1.\(i)", hidden) }
                for i in 0..<m.nLayers {
                    b.conv("ffn_layers.\(i).conv_1", out: m.filterChannels, in: hidden, kernel: [m.kernelSize])
                    b.conv("ffn_layers.\(i).conv_2", out: hidden, in: m.filterChannels, kernel: [m.kernelSize])
                }
                for i in 0..<m.nLayers { b.layerNorm("norm_layers_2.\(i)", hidden) }
            }
            b.conv("proj", out: 2 * inter, in: hidden, kernel: [1])
        }

        // dec: Generator (HiFi-GAN)
        b.scope("dec") { b in
            if m.decoder.kind != .hifigan { b.istftDecoder(m); return }   // DecoderLayout.swift
            let c0 = m.upsampleInitialChannel
            b.conv("conv_pre", out: c0, in: inter, kernel: [7])
            for (i, (_, k)) in zip(m.upsampleRates, m.upsampleKernelSizes).enumerated() {
                b.convTransposeWeightNorm("ups.\(i)", in: c0 >> i, out: c0 >> (i + 1), kernel: k)
            }
            var block = 0
            for i in 0..<m.upsampleRates.count {
                let ch = c0 >> (i + 1)
                for (k, dilations) in zip(m.resblockKernelSizes, m.resblockDilationSizes) {
                    b.scope("resblocks.\(block)") { b in
                        switch m.resblock {
                        case .one:
                            for j in 0..<dilations.count { b.conv("convs1.\(j)", out: ch, in: ch, kernel: [k], norm: .weight) }
                            for j in 0..<dilations.count { b.conv("convs2.\(j)", out: ch, in: ch, kernel: [k], norm: .weight) }
                        case .two:
                            for j in 0..<dilations.count { b.conv("convs.\(j)", out: ch, in: ch, kernel: [k], norm: .weight) }
                        }
                    }
                    block += 1
                }
            }
            b.conv("conv_post", out: 1, in: c0 >> m.upsampleRates.count, kernel: [7], bias: false)
            if gin > 0 { b.conv("cond", out: c0, in: gin, kernel: [1]) }
        }

        // enc_q: PosteriorEncoder, WN with 16 layers of kernel 5 (hard-coded in the reference)
        b.scope("enc_q") { b in
            b.conv("pre", out: hidden, in: config.spectrogramChannels, kernel: [1])
            b.wavenet("enc", hidden: hidden, kernel: 5, layers: 16, gin: gin)
            b.conv("proj", out: 2 * inter, in: hidden, kernel: [1])
        }

        // flow: 4 mean-only coupling layers at even indices, Flip (no parameters) at odd ones
        b.scope("flow") { b in
            for i in stride(from: 0, to: 8, by: 2) {
                b.scope("flows.\(i)") { b in
                    b.conv("pre", out: hidden, in: inter / 2, kernel: [1])
                    b.wavenet("enc", hidden: hidden, kernel: 5, layers: 4, gin: gin)
                    b.conv("post", out: inter / 2, in: hidden, kernel: [1])
                }
            }
        }

        // dp: stochastic (filter width forced to hidden) or deterministic duration predictor
        b.scope("dp") { b in
            if m.useSDP {
                let f = hidden
                func flows(_ b: inout LayoutBuilder, _ name: String) {
                    b.add("\(name).0.m", [2, 1])
                    b.add("\(name).0.logs", [2, 1])
                    for i in stride(from: 1, to: 9, by: 2) {
                        b.scope("\(name).\(i)") { b in
                            b.conv("pre", out: f, in: 1, kernel: [1])
                            b.ddsConv("convs", channels: f, kernel: 3, layers: 3)
                            b.conv("proj", out: 3 * 10 - 1, in: f, kernel: [1])
                        }
                    }
                }
                flows(&b, "flows")
                b.conv("post_pre", out: f, in: 1, kernel: [1])
                b.conv("post_proj", out: f, in: f, kernel: [1])
                b.ddsConv("post_convs", channels: f, kernel: 3, layers: 3)
                flows(&b, "post_flows")
                b.conv("pre", out: f, in: hidden, kernel: [1])
                b.conv("proj", out: f, in: f, kernel: [1])
                b.ddsConv("convs", channels: f, kernel: 3, layers: 3)
                if gin > 0 { b.conv("cond", out: f, in: gin, kernel: [1]) }
            } else {
                let f = 256
                b.conv("conv_1", out: f, in: hidden, kernel: [3])
                b.layerNorm("norm_1", f)
                b.conv("conv_2", out: f, in: f, kernel: [3])
                b.layerNorm("norm_2", f)
                b.conv("proj", out: 1, in: f, kernel: [1])
                if gin > 0 { b.conv("cond", out: hidden, in: gin, kernel: [1]) }
            }
        }

        if config.isMultiSpeaker { b.add("emb_g.weight", [config.data.nSpeakers, gin]) }
        return b.specs
    }

    /// The discriminator (`MultiPeriodDiscriminator`): `discriminators.0` is DiscriminatorS, then one
    /// DiscriminatorP per period of `model.discriminator_periods`.
    public static func discriminator(_ config: VITSConfig) throws(VITSConfigError) -> [ParameterSpec] {
        try config.validate()
        guard let geometry = DiscriminatorGeometry.make(widthMultiplier: config.model.discriminatorWidthMultiplier) else {
            // validate() already rejects this; kept so the function never traps.
            throw VITSConfigError(source: "config", issues: [.init(keyPath: "model.discriminator_width_multiplier", line: nil, message: "invalid width multiplier")])
        }
        let norm: LayoutBuilder.Norm = config.model.useSpectralNorm ? .spectral : .weight
        var b = LayoutBuilder()
        b.scope("discriminators.0") { b in
            for (i, c) in geometry.scaleConvs.enumerated() {
                b.conv("convs.\(i)", out: c.outChannels, in: c.inChannels / c.groups, kernel: [c.kernel], norm: norm)
            }
            let p = geometry.scalePost
            b.conv("conv_post", out: p.outChannels, in: p.inChannels, kernel: [p.kernel], norm: norm)
        }
        for (d, _) in config.model.discriminatorPeriods.enumerated() {
            b.scope("discriminators.\(d + 1)") { b in
                for (i, c) in geometry.periodConvs.enumerated() {
                    b.conv("convs.\(i)", out: c.outChannels, in: c.inChannels, kernel: [c.kernel, 1], norm: norm)
                }
                let p = geometry.periodPost
                b.conv("conv_post", out: p.outChannels, in: p.inChannels, kernel: [p.kernel, 1], norm: norm)
            }
        }
        return b.specs
    }

    /// Trainable parameter count per top-level module, in first-appearance order (buffers excluded).
    public static func countsByModule(_ specs: [ParameterSpec]) -> [(module: String, count: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for s in specs where !s.isBuffer {
            if counts[s.module] == nil { order.append(s.module) }
            counts[s.module, default: 0] += s.count
        }
        return order.map { ($0, counts[$0] ?? 0) }
    }

    /// Total trainable parameters (buffers excluded).
    public static func total(_ specs: [ParameterSpec]) -> Int {
        specs.reduce(0) { $0 + ($1.isBuffer ? 0 : $1.count) }
    }
}

/// Accumulates specs under a dotted prefix, mirroring how the reference modules register parameters.
struct LayoutBuilder {
    enum Norm { case none, weight, spectral }

    private(set) var specs: [ParameterSpec] = []
    private var prefix: [String] = []

    mutating func scope(_ name: String, _ body: (inout LayoutBuilder) -> Void) {
        prefix.append(name)
        body(&self)
        prefix.removeLast()
    }

    mutating func add(_ name: String, _ shape: [Int], buffer: Bool = false) {
        specs.append(ParameterSpec(key: (prefix + [name]).joined(separator: "."), shape: shape, isBuffer: buffer))
    }

    /// Conv1d (kernel [k]) or Conv2d with a (k, 1) kernel (kernel [k, 1]); `inPerGroup` = in / groups.
    mutating func conv(_ name: String, out: Int, in inPerGroup: Int, kernel: [Int], bias: Bool = true, norm: Norm = .none) {
        let weight = [out, inPerGroup] + kernel
        let gShape = [out] + Array(repeating: 1, count: weight.count - 1)
        scope(name) { b in
            switch norm {
            case .none:
                b.add("weight", weight)
                if bias { b.add("bias", [out]) }
            case .weight:
                if bias { b.add("bias", [out]) }
                b.add("weight_g", gShape)
                b.add("weight_v", weight)
            case .spectral:
                if bias { b.add("bias", [out]) }
                b.add("weight_orig", weight)
                b.add("weight_u", [out], buffer: true)
                b.add("weight_v", [weight.dropFirst().reduce(1, *)], buffer: true)
            }
        }
    }

    /// Weight-normed ConvTranspose1d: PyTorch weight layout [in, out, k], so g is per input channel.
    mutating func convTransposeWeightNorm(_ name: String, in cin: Int, out cout: Int, kernel: Int) {
        scope(name) { b in
            b.add("bias", [cout])
            b.add("weight_g", [cin, 1, 1])
            b.add("weight_v", [cin, cout, kernel])
        }
    }

    mutating func layerNorm(_ name: String, _ channels: Int) {
        add("\(name).gamma", [channels])
        add("\(name).beta", [channels])
    }

    /// WN: gated dilated convs with residual/skip 1x1 convs; the last res_skip layer has only skip channels.
    mutating func wavenet(_ name: String, hidden: Int, kernel: Int, layers: Int, gin: Int) {
        scope(name) { b in
            for i in 0..<layers { b.conv("in_layers.\(i)", out: 2 * hidden, in: hidden, kernel: [kernel], norm: .weight) }
            for i in 0..<layers {
                b.conv("res_skip_layers.\(i)", out: i < layers - 1 ? 2 * hidden : hidden, in: hidden, kernel: [1], norm: .weight)
            }
            if gin > 0 { b.conv("cond_layer", out: 2 * hidden * layers, in: gin, kernel: [1], norm: .weight) }
        }
    }

    /// DDSConv: depthwise-separable dilated convs (dilation kernel^i) with two channel LayerNorms per layer.
    mutating func ddsConv(_ name: String, channels: Int, kernel: Int, layers: Int) {
        scope(name) { b in
            for i in 0..<layers { b.conv("convs_sep.\(i)", out: channels, in: 1, kernel: [kernel]) }
            for i in 0..<layers { b.conv("convs_1x1.\(i)", out: channels, in: channels, kernel: [1]) }
            for i in 0..<layers { b.layerNorm("norms_1.\(i)", channels) }
            for i in 0..<layers { b.layerNorm("norms_2.\(i)", channels) }
        }
    }
}
