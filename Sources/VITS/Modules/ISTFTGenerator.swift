import Foundation
import Engine

/// What a waveform decoder returns.
public struct DecoderOutput {
    /// Audio [B, 1, samples].
    public var audio: Tensor
    /// The sub-band (mb_istft) or stream (ms_istft) signals the sub-band loss compares, else nil:
    /// mb_istft: [B, subbands, samples/subbands] before PQMF synthesis; ms_istft: the zero-inserted
    /// streams [B, subbands, samples] before the trainable filter (what the authors return).
    public var subbands: Tensor?
}

/// The `dec` of `SynthesizerTrn`: latent frames [B, inter, T] → audio [B, 1, T·data.hop_length].
public protocol WaveformDecoder: Module {
    func decode(_ z: Tensor, g: Tensor?, trace: ModuleTrace?) -> DecoderOutput
}

extension Generator: WaveformDecoder {
    public func decode(_ z: Tensor, g: Tensor?, trace: ModuleTrace?) -> DecoderOutput {
        DecoderOutput(audio: callAsFunction(z, g: g, trace: trace), subbands: nil)
    }
}

/// The decoder `model.decoder` selects.
public func makeWaveformDecoder(config: VITSConfig, generator: RandomGenerator) -> any WaveformDecoder {
    switch config.model.decoder.kind {
    case .hifigan: return Generator(config: config, generator: generator)
    case .istft, .mbISTFT, .msISTFT: return ISTFTGenerator(config: config, generator: generator)
    }
}

/// The inverse-STFT generators of MB-iSTFT-VITS (`models.py`: `iSTFT_Generator`,
/// `Multiband_iSTFT_Generator`, `Multistream_iSTFT_Generator`).
///
/// `x = conv_pre(z)`; per stage i: `x = ups_i(lrelu(x, 0.1))`, `x = Σ_j resblocks[i·nk+j](x) / nk`
/// (as HiFi-GAN); then `x = post(reflect_pad_left_1(lrelu(x, 0.01)))` gives, per band, n_fft + 2
/// channels over T + 1 frames: the first n_fft/2 + 1 are the log-magnitude, the rest the phase
/// pre-activation; magnitude `exp(·)`, phase `π·sin(·)`; each band goes through
/// `torch.istft(mag·e^{i·phase}, n_fft, hop, hann, center=True)` → hop·T samples.
/// - istft: that is the audio.
/// - mb_istft: the bands are merged by fixed PQMF synthesis.
/// - ms_istft: the streams are zero-inserted (×subbands) and merged by a trainable 63-tap conv.
///
/// The speaker vector `g` is not used (the authors' generators have no `cond` layer).
/// Keys (authors' checkpoints): `conv_pre` (weight-normed, unlike HiFi-GAN's), `ups.i`,
/// `resblocks.m`, then `conv_post` [n_fft+2, C, 7] (istft) or `subband_conv_post`
/// [S·(n_fft+2), C, 7] (mb/ms), all weight-normed with bias; ms adds the buffer `updown_filter`
/// [S, S, S] and `multistream_conv_post` [1, S, 63] (weight-normed, no bias).
public final class ISTFTGenerator: Module, WaveformDecoder {
    public let kind: DecoderKind
    @BufferInfo(key: "updown_filter") public private(set) var updownFilter: Tensor?
    @ModuleInfo(key: "conv_pre") public private(set) var convPre: Conv1d
    @ModuleInfo(key: "ups") public private(set) var ups = ModuleList<ConvTranspose1d>()
    @ModuleInfo(key: "resblocks") public private(set) var resblocks = ModuleList<Module>()
    /// The post conv under its reference key: `conv_post` (istft) or `subband_conv_post` (mb/ms).
    @ModuleInfo(key: "conv_post") public private(set) var convPost: Conv1d?
    @ModuleInfo(key: "subband_conv_post") public private(set) var subbandConvPost: Conv1d?
    @ModuleInfo(key: "multistream_conv_post") public private(set) var multistreamPost: Conv1d?
    /// The post conv, whichever key it has.
    public let post: Conv1d
    public let blocks: [HiFiGANResBlock]
    public let kernelsPerStage: Int
    /// Bands the post conv predicts (1 for istft).
    public let bands: Int
    public let plan: STFTPlan
    public let pqmf: PQMF?
    public var tracePath = "dec"

    public init(kind: DecoderKind, initialChannel: Int, resblock: ResBlockKind, resblockKernelSizes: [Int],
                resblockDilationSizes: [[Int]], upsampleRates: [Int], upsampleInitialChannel: Int,
                upsampleKernelSizes: [Int], istftNFFT: Int, istftHop: Int, subbands: Int,
                upsampling: UpsamplingKind = .transposed, generator: RandomGenerator) {
        precondition(kind != .hifigan, "ISTFTGenerator: the HiFi-GAN decoder is `Generator`")
        precondition(upsampleRates.count == upsampleKernelSizes.count, "ISTFTGenerator: one kernel size per upsampling rate")
        precondition(!resblockKernelSizes.isEmpty && resblockKernelSizes.count == resblockDilationSizes.count,
                     "ISTFTGenerator: one dilation list per resblock kernel, at least one")
        self.kind = kind
        let c0 = upsampleInitialChannel
        kernelsPerStage = resblockKernelSizes.count
        bands = kind == .istft ? 1 : subbands
        _convPre.wrappedValue = Conv1d(initialChannel, c0, kernelSize: 7, padding: 3, weightNorm: true, generator: generator)
        let (upLayers, blocks) = Generator.upsamplingStages(
            initialChannel: c0, upsampleRates: upsampleRates, upsampleKernelSizes: upsampleKernelSizes, upsampling: upsampling,
            resblock: resblock, resblockKernelSizes: resblockKernelSizes, resblockDilationSizes: resblockDilationSizes,
            generator: generator)
        self.blocks = blocks
        post = Conv1d(c0 >> upsampleRates.count, bands * (istftNFFT + 2), kernelSize: 7, padding: 3,
                      weightNorm: true, generator: generator)
        _convPost.wrappedValue = kind == .istft ? post : nil
        _subbandConvPost.wrappedValue = kind == .istft ? nil : post
        if kind == .msISTFT {
            _multistreamPost.wrappedValue = Conv1d(subbands, 1, kernelSize: 63, padding: 31, bias: false, weightNorm: true, generator: generator)
            var identity = [Float](repeating: 0, count: subbands * subbands * subbands)
            for k in 0..<subbands { identity[(k * subbands + k) * subbands] = 1 }
            _updownFilter.wrappedValue = Tensor(shape: [subbands, subbands, subbands], data: identity)
        } else {
            _multistreamPost.wrappedValue = nil
            _updownFilter.wrappedValue = nil
        }
        plan = STFTPlan(nFFT: istftNFFT, hop: istftHop)
        pqmf = kind == .mbISTFT ? PQMF(subbands: subbands) : nil
        super.init()
        for layer in upLayers { ups.append(layer) }
        for block in blocks { resblocks.append(block) }
    }

    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        let m = config.model, d = m.decoder
        self.init(kind: d.kind, initialChannel: m.interChannels, resblock: m.resblock, resblockKernelSizes: m.resblockKernelSizes,
                  resblockDilationSizes: m.resblockDilationSizes, upsampleRates: m.upsampleRates,
                  upsampleInitialChannel: m.upsampleInitialChannel, upsampleKernelSizes: m.upsampleKernelSizes,
                  istftNFFT: d.istftNFFT, istftHop: d.istftHop, subbands: d.subbands, upsampling: d.upsampling,
                  generator: generator)
    }

    /// z [B, I, T] → audio [B, 1, T·Πu·hop·bands] and the band signals.
    /// Traces `dec.conv_pre`, `dec.ups.i`, `dec.resblocks.m`, the post conv's output under its key
    /// (`dec.conv_post` for istft, `dec.subband_conv_post` for mb/ms, as the authors' module paths),
    /// `dec.istft` (the band signals out of the iSTFT), `dec.o`.
    public func decode(_ z: Tensor, g: Tensor? = nil, trace: ModuleTrace? = nil) -> DecoderOutput {
        var x = convPre(z)
        trace?(tracePath + ".conv_pre", x)
        for (i, up) in ups.enumerated() {
            x = up(leakyRelu(x, slope: Generator.leakySlope))
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
        x = post(leakyRelu(x, slope: Generator.finalLeakySlope).reflectPadded(left: 1, right: 0))
        trace?(tracePath + (kind == .istft ? ".conv_post" : ".subband_conv_post"), x)
        let batch = x.shape[0], frames = x.shape[2], f = plan.bins
        let perBand = x.reshaped([batch * bands, 2 * f, frames])
        let magnitude = perBand.slice(axis: 1, start: 0, end: f).exp()
        let phase = perBand.slice(axis: 1, start: f, end: 2 * f).sin().multiplied(by: Float.pi)
        let signal = plan.inverse(real: magnitude * phase.cos(), imag: magnitude * phase.sin())   // [B·bands, L]
        let length = signal.shape[1]
        let bandSignals = signal.reshaped([batch, bands, length])
        trace?(tracePath + ".istft", bandSignals)
        switch kind {
        case .istft:
            return DecoderOutput(audio: bandSignals, subbands: nil)
        case .mbISTFT:
            let audio = pqmf!.synthesis(bandSignals)
            trace?(tracePath + ".o", audio)
            return DecoderOutput(audio: audio, subbands: bandSignals)
        case .msISTFT:
            let streams = convTranspose1d(bandSignals, weight: updownFilter!.multiplied(by: Float(bands)), stride: bands)
            let audio = multistreamPost!(streams)
            trace?(tracePath + ".o", audio)
            return DecoderOutput(audio: audio, subbands: streams)
        case .hifigan:
            preconditionFailure("ISTFTGenerator never has kind hifigan")
        }
    }
}
