import Foundation
import Engine

/// What `SynthesizerTrn` needs from its duration predictor `dp`, whichever kind the config picks
/// (`model.use_sdp`). Both kinds detach their inputs h and g, so the loss trains only `dp`.
public protocol DurationPredicting: Module {
    /// Shape of the standard-normal draw the training loss consumes ([B, 2, T] for the stochastic
    /// predictor, nil for the deterministic one, which draws nothing).
    func trainingNoiseShape(batch: Int, tokens: Int) -> [Int]?
    /// Shape of the standard-normal draw inference consumes (same convention).
    func inferenceNoiseShape(batch: Int, tokens: Int) -> [Int]?
    /// Training: h [B, H, T] (enc_p output), mask [B, 1, T], durations w [B, 1, T] (MAS), g [B, G, 1]?
    /// → `output` (the raw module output the fixtures call `dp.out`: the per-item NLL [B] for the
    /// stochastic predictor, logw [B, 1, T] for the deterministic one) and `loss` = l_length [B]
    /// exactly as `SynthesizerTrn.forward` returns it (already divided by Σ mask over the batch).
    func durationLoss(_ h: Tensor, mask: Tensor, durations: Tensor, g: Tensor?, noise: Tensor?,
                      trace: ((String, Tensor) -> Void)?) -> (output: Tensor, loss: Tensor)
    /// Inference: log-durations logw [B, 1, T] (`noiseScale` = infer's noise_scale_w).
    func logDurations(_ h: Tensor, mask: Tensor, g: Tensor?, noise: Tensor?, noiseScale: Float,
                      trace: ((String, Tensor) -> Void)?) -> Tensor
}

/// The duration predictor `SynthesizerTrn` builds for `config`: the stochastic one when
/// `model.use_sdp` (the default), else the deterministic one.
public func makeDurationPredictor(config: VITSConfig, generator: RandomGenerator) -> any DurationPredicting {
    config.model.useSDP
        ? StochasticDurationPredictor(config: config, generator: generator)
        : DurationPredictor(config: config, generator: generator)
}

/// VITS `StochasticDurationPredictor` (`dp` when use_sdp): a normalizing flow over (d, ν) — the
/// duration and a variational dequantization variable — conditioned on the text encoding.
///
///     x = proj(DDSConv(pre(detach h) + cond(detach g), mask))·mask          (conditioning)
///   training, given durations w and noise ε [B, 2, T]:
///     h_w = post_proj(DDSConv(post_pre(w), mask))·mask
///     e_q = ε·mask;  (z_u, z₁) = post_flows(e_q; g = x + h_w), log-dets L_q
///     u = σ(z_u)·mask;  z₀ = (w − u)·mask;  L_q += Σ(log σ(z_u) + log σ(−z_u))·mask
///     log q = Σ −½(log 2π + e_q²)·mask − L_q
///     z = flows(cat(log(max(z₀, 1e-5))·mask, z₁); g = x), log-dets L (Log flow included)
///     out = Σ ½(log 2π + z²)·mask − L + log q                                  [B]
///   inference, given noise ε [B, 2, T] (not masked):
///     z = ε·noise_scale_w; run flows backwards skipping flows.1 (the reference's "useless vflow");
///     logw = z[:, 0:1]
///
/// The filter width is the hidden width whatever `filter_channels` says (as the reference).
/// Keys (state_dict order): `flows.{0: m, logs; 1,3,5,7: ConvFlow}`, `post_pre`, `post_proj`,
/// `post_convs`, `post_flows` (same layout as `flows`), `pre`, `proj`, `convs`, `cond` (G > 0).
public final class StochasticDurationPredictor: Module, DurationPredicting {
    /// One element of a flow list; flips have no parameters but keep their index in the list.
    enum Step {
        case affine(ElementwiseAffine)
        case spline(ConvFlow)
        case flip
    }

    public let channels: Int
    @ModuleInfo(key: "flows") public private(set) var flowList = ModuleList<Module>()
    @ModuleInfo(key: "post_pre") public private(set) var postPre: Conv1d
    @ModuleInfo(key: "post_proj") public private(set) var postProj: Conv1d
    @ModuleInfo(key: "post_convs") public private(set) var postConvs: DDSConv
    @ModuleInfo(key: "post_flows") public private(set) var postFlowList = ModuleList<Module>()
    @ModuleInfo(key: "pre") public private(set) var pre: Conv1d
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d
    @ModuleInfo(key: "convs") public private(set) var convs: DDSConv
    @ModuleInfo(key: "cond") public private(set) var cond: Conv1d?
    let flows: [Step]
    let postFlows: [Step]
    /// Prefix of the trace names (the reference module path).
    public var tracePath = "dp"

    /// `inChannels`: the text encoder width H (also the filter width); kernel 3, dropout 0.5 and 4
    /// flows are what `SynthesizerTrn` passes.
    public init(inChannels: Int, kernelSize: Int = 3, dropout: Float = 0.5, flowCount: Int = 4, ginChannels: Int = 0,
                generator: RandomGenerator) {
        let f = inChannels
        channels = f
        func makeFlows() -> [Step] {
            var steps: [Step] = [.affine(ElementwiseAffine(channels: 2))]
            for _ in 0..<flowCount {
                steps.append(.spline(ConvFlow(inChannels: 2, filterChannels: f, kernelSize: kernelSize, layers: 3, generator: generator)))
                steps.append(.flip)
            }
            return steps
        }
        flows = makeFlows()
        _postPre.wrappedValue = Conv1d(1, f, kernelSize: 1, generator: generator)
        _postProj.wrappedValue = Conv1d(f, f, kernelSize: 1, generator: generator)
        _postConvs.wrappedValue = DDSConv(channels: f, kernelSize: kernelSize, layers: 3, dropout: dropout, generator: generator)
        postFlows = makeFlows()
        _pre.wrappedValue = Conv1d(inChannels, f, kernelSize: 1, generator: generator)
        _proj.wrappedValue = Conv1d(f, f, kernelSize: 1, generator: generator)
        _convs.wrappedValue = DDSConv(channels: f, kernelSize: kernelSize, layers: 3, dropout: dropout, generator: generator)
        _cond.wrappedValue = ginChannels > 0 ? Conv1d(ginChannels, f, kernelSize: 1, generator: generator) : nil
        super.init()
        for step in flows { flowList.append(Self.module(step)) }
        for step in postFlows { postFlowList.append(Self.module(step)) }
    }

    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        self.init(inChannels: config.model.hiddenChannels, ginChannels: config.model.ginChannels, generator: generator)
    }

    private static func module(_ step: Step) -> Module {
        switch step {
        case .affine(let m): return m
        case .spline(let m): return m
        case .flip: return Module()
        }
    }

    public func trainingNoiseShape(batch: Int, tokens: Int) -> [Int]? { [batch, 2, tokens] }
    public func inferenceNoiseShape(batch: Int, tokens: Int) -> [Int]? { [batch, 2, tokens] }

    /// The conditioning x [B, F, T] from the (detached) text encoding and speaker vector.
    private func conditioning(_ h: Tensor, mask: Tensor, g: Tensor?, trace: ((String, Tensor) -> Void)?) -> Tensor {
        var x = pre(h.detached())
        trace?(tracePath + ".pre", x)
        if let g, let cond {
            let c = cond(g.detached())
            trace?(tracePath + ".cond", c)
            x = x + c
        }
        x = convs(x, mask: mask)
        trace?(tracePath + ".convs", x)
        x = proj(x)
        trace?(tracePath + ".proj", x)
        return x * mask
    }

    /// One flow step forward: (y, logdet [B]).
    private func forwardStep(_ step: Step, _ x: Tensor, mask: Tensor, g: Tensor) -> (Tensor, Tensor) {
        switch step {
        case .affine(let m): return m.forward(x, mask: mask)
        case .spline(let m): return m.transform(x, mask: mask, g: g, reverse: false)
        case .flip: return (x.flipped(1), Tensor(zeros: [x.shape[0]]))
        }
    }

    /// Runs a flow list forward, reporting `<path>.<name>.i.{y,logdet}`; returns (z, Σ logdet).
    private func runForward(_ steps: [Step], name: String, _ input: Tensor, mask: Tensor, g: Tensor,
                            trace: ((String, Tensor) -> Void)?) -> (Tensor, Tensor) {
        var z = input
        var total: Tensor?
        for (i, step) in steps.enumerated() {
            let (y, logdet) = forwardStep(step, z, mask: mask, g: g)
            trace?("\(tracePath).\(name).\(i).y", y)
            trace?("\(tracePath).\(name).\(i).logdet", logdet)
            z = y
            total = total.map { $0 + logdet } ?? logdet
        }
        return (z, total ?? Tensor(zeros: [input.shape[0]]))
    }

    /// Training NLL per item [B] (`dp.out`). `noise` is the standard-normal draw [B, 2, T].
    public func negativeLogLikelihood(_ h: Tensor, mask: Tensor, durations w: Tensor, g: Tensor? = nil, noise: Tensor,
                                      trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let b = h.shape[0], t = h.shape[2]
        precondition(noise.shape == [b, 2, t], "SDP: noise must be [B, 2, T] = \([b, 2, t]), got \(noise.shape)")
        precondition(w.shape == [b, 1, t], "SDP: durations must be [B, 1, T] = \([b, 1, t]), got \(w.shape)")
        let x = conditioning(h, mask: mask, g: g, trace: trace)

        var hw = postPre(w)
        trace?(tracePath + ".post_pre", hw)
        hw = postConvs(hw, mask: mask)
        trace?(tracePath + ".post_convs", hw)
        hw = postProj(hw)
        trace?(tracePath + ".post_proj", hw)
        hw = hw * mask

        let log2Pi = Float(Foundation.log(2 * Double.pi))
        let eQ = noise * mask
        let (zQ, postLogdet) = runForward(postFlows, name: "post_flows", eQ, mask: mask, g: x + hw, trace: trace)
        let parts = zQ.split(sizes: [1, 1], axis: 1)
        let zU = parts[0], z1 = parts[1]
        let u = zU.sigmoid() * mask
        let z0 = (w - u) * mask
        // log σ(z) + log σ(−z) = −(softplus(−z) + softplus(z))
        let logSigmoids = ((zU.neg().softplus() + zU.softplus()).neg() * mask).sum(axes: [1, 2])
        let logdetQ = postLogdet + logSigmoids
        let logQ = ((eQ.square() + log2Pi) * (-0.5) * mask).sum(axes: [1, 2]) - logdetQ

        // Log flow: y = log(max(z₀, 1e-5))·mask, log|det| = Σ −y.
        let logZ0 = z0.clamp(min: 1e-5).log() * mask
        let logFlowDet = logZ0.sum(axes: [1, 2]).neg()
        trace?(tracePath + ".log_flow.y", logZ0)
        trace?(tracePath + ".log_flow.logdet", logFlowDet)
        let (z, flowLogdet) = runForward(flows, name: "flows", Tensor.concat([logZ0, z1], axis: 1), mask: mask, g: x,
                                         trace: trace)
        let nll = ((z.square() + log2Pi) * 0.5 * mask).sum(axes: [1, 2]) - (logFlowDet + flowLogdet)
        return nll + logQ
    }

    /// Inference log-durations [B, 1, T]. `noise` is the standard-normal draw [B, 2, T] (not masked,
    /// as the reference); trace `<path>.flows.i` for i = 8, 7, …, 2, 0.
    public func sampleLogDurations(_ h: Tensor, mask: Tensor, g: Tensor? = nil, noise: Tensor, noiseScale: Float,
                                   trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let b = h.shape[0], t = h.shape[2]
        precondition(noise.shape == [b, 2, t], "SDP: noise must be [B, 2, T] = \([b, 2, t]), got \(noise.shape)")
        let x = conditioning(h, mask: mask, g: g, trace: trace)
        var z = noise * noiseScale
        // Reversed list without flows.1: the reference drops the first ConvFlow at inference.
        var order = Array(flows.indices.reversed())
        if order.count >= 2 { order.remove(at: order.count - 2) }
        for i in order {
            switch flows[i] {
            case .affine(let m): z = m.reverse(z, mask: mask)
            case .spline(let m): z = m.transform(z, mask: mask, g: x, reverse: true).y
            case .flip: z = z.flipped(1)
            }
            trace?("\(tracePath).flows.\(i)", z)
        }
        return z.slice(axis: 1, start: 0, end: 1)
    }

    public func durationLoss(_ h: Tensor, mask: Tensor, durations: Tensor, g: Tensor?, noise: Tensor?,
                             trace: ((String, Tensor) -> Void)?) -> (output: Tensor, loss: Tensor) {
        guard let noise else { preconditionFailure("the stochastic duration predictor needs its [B, 2, T] noise draw") }
        let out = negativeLogLikelihood(h, mask: mask, durations: durations, g: g, noise: noise, trace: trace)
        return (out, out / mask.sum())
    }

    public func logDurations(_ h: Tensor, mask: Tensor, g: Tensor?, noise: Tensor?, noiseScale: Float,
                             trace: ((String, Tensor) -> Void)?) -> Tensor {
        guard let noise else { preconditionFailure("the stochastic duration predictor needs its [B, 2, T] noise draw") }
        return sampleLogDurations(h, mask: mask, g: g, noise: noise, noiseScale: noiseScale, trace: trace)
    }
}

/// VITS `DurationPredictor` (`dp` when use_sdp = false): two conv → relu → LayerNorm → dropout
/// blocks and a 1×1 projection to logw.
///
///     x = detach(h) + cond(detach g);  x = drop(LN₁(relu(conv_1(x·mask))))
///     x = drop(LN₂(relu(conv_2(x·mask))));  logw = proj(x·mask)·mask
///   training loss: l_length = Σ (logw − log(w + 1e-6)·mask)² / Σ mask   (per item; the sum of
///   the mask is over the whole batch)
///
/// Keys: `conv_1` [F, H, k], `norm_1`, `conv_2` [F, F, k], `norm_2`, `proj` [1, F, 1], `cond` [H, G, 1] (G > 0).
public final class DurationPredictor: Module, DurationPredicting {
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout
    @ModuleInfo(key: "conv_1") public private(set) var conv1: Conv1d
    @ModuleInfo(key: "norm_1") public private(set) var norm1: ChannelLayerNorm
    @ModuleInfo(key: "conv_2") public private(set) var conv2: Conv1d
    @ModuleInfo(key: "norm_2") public private(set) var norm2: ChannelLayerNorm
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d
    @ModuleInfo(key: "cond") public private(set) var cond: Conv1d?
    /// Prefix of the trace names (the reference module path).
    public var tracePath = "dp"

    /// `SynthesizerTrn` passes filter 256, kernel 3, dropout 0.5.
    public init(inChannels: Int, filterChannels: Int = 256, kernelSize: Int = 3, dropout: Float = 0.5, ginChannels: Int = 0,
                generator: RandomGenerator) {
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        _conv1.wrappedValue = Conv1d(inChannels, filterChannels, kernelSize: kernelSize, padding: kernelSize / 2, generator: generator)
        _norm1.wrappedValue = ChannelLayerNorm(filterChannels)
        _conv2.wrappedValue = Conv1d(filterChannels, filterChannels, kernelSize: kernelSize, padding: kernelSize / 2, generator: generator)
        _norm2.wrappedValue = ChannelLayerNorm(filterChannels)
        _proj.wrappedValue = Conv1d(filterChannels, 1, kernelSize: 1, generator: generator)
        _cond.wrappedValue = ginChannels > 0 ? Conv1d(ginChannels, inChannels, kernelSize: 1, generator: generator) : nil
        super.init()
    }

    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        self.init(inChannels: config.model.hiddenChannels, ginChannels: config.model.ginChannels, generator: generator)
    }

    public func trainingNoiseShape(batch: Int, tokens: Int) -> [Int]? { nil }
    public func inferenceNoiseShape(batch: Int, tokens: Int) -> [Int]? { nil }

    /// logw [B, 1, T]. Trace: `<path>.conv_1`, `.norm_1`, `.conv_2`, `.norm_2`, `.proj` (before the mask).
    public func callAsFunction(_ h: Tensor, mask: Tensor, g: Tensor? = nil, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var x = h.detached()
        if let g, let cond { x = x + cond(g.detached()) }
        x = conv1(x * mask)
        trace?(tracePath + ".conv_1", x)
        x = norm1(x.relu())
        trace?(tracePath + ".norm_1", x)
        x = conv2(drop(x) * mask)
        trace?(tracePath + ".conv_2", x)
        x = norm2(x.relu())
        trace?(tracePath + ".norm_2", x)
        x = proj(drop(x) * mask)
        trace?(tracePath + ".proj", x)
        return x * mask
    }

    /// l_length [B] for predicted logw and MAS durations w, both [B, 1, T].
    public static func lengthLoss(logw: Tensor, durations w: Tensor, mask: Tensor) -> Tensor {
        let target = noGrad { (w + 1e-6).log() * mask }
        return (logw - target).square().sum(axes: [1, 2]) / mask.sum()
    }

    public func durationLoss(_ h: Tensor, mask: Tensor, durations: Tensor, g: Tensor?, noise: Tensor?,
                             trace: ((String, Tensor) -> Void)?) -> (output: Tensor, loss: Tensor) {
        let logw = self(h, mask: mask, g: g, trace: trace)
        return (logw, Self.lengthLoss(logw: logw, durations: durations, mask: mask))
    }

    public func logDurations(_ h: Tensor, mask: Tensor, g: Tensor?, noise: Tensor?, noiseScale: Float,
                             trace: ((String, Tensor) -> Void)?) -> Tensor {
        self(h, mask: mask, g: g, trace: trace)
    }
}
