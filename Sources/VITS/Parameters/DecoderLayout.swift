extension LayoutBuilder {
    /// The `dec` keys of the iSTFT decoders (`ISTFTGenerator`), in the authors' state_dict order:
    /// ms_istft's buffer `updown_filter` first, then `conv_pre` (weight-normed), `ups`, `resblocks`,
    /// the post conv, and ms_istft's `multistream_conv_post`.
    mutating func istftDecoder(_ m: ModelConfig) {
        let d = m.decoder, c0 = m.upsampleInitialChannel
        let bands = d.kind == .istft ? 1 : d.subbands
        if d.kind == .msISTFT { add("updown_filter", [bands, bands, bands], buffer: true) }
        conv("conv_pre", out: c0, in: m.interChannels, kernel: [7], norm: .weight)
        for (i, k) in m.upsampleKernelSizes.enumerated() {
            convTransposeWeightNorm("ups.\(i)", in: c0 >> i, out: c0 >> (i + 1), kernel: k)
        }
        var block = 0
        for i in 0..<m.upsampleRates.count {
            let ch = c0 >> (i + 1)
            for (k, dilations) in zip(m.resblockKernelSizes, m.resblockDilationSizes) {
                scope("resblocks.\(block)") { b in
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
        let last = c0 >> m.upsampleRates.count
        conv(d.kind == .istft ? "conv_post" : "subband_conv_post", out: bands * (d.istftNFFT + 2), in: last, kernel: [7], norm: .weight)
        if d.kind == .msISTFT { conv("multistream_conv_post", out: 1, in: bands, kernel: [63], bias: false, norm: .weight) }
    }
}
