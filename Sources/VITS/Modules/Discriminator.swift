import Foundation
import Engine

/// Why a discriminator could not be built.
public enum DiscriminatorError: Error, Equatable, CustomStringConvertible {
    /// The width multiplier gives a fractional or out-of-range channel count.
    case invalidWidthMultiplier(Double)
    /// A period list entry is not positive, or the list is empty.
    case invalidPeriods([Int])

    public var description: String {
        switch self {
        case .invalidWidthMultiplier(let m):
            return "model.discriminator_width_multiplier: \(m) gives a fractional discriminator channel count; use a multiple of 1/16 in (0, 16]"
        case .invalidPeriods(let p):
            return "model.discriminator_periods: expected distinct positive periods, found \(p)"
        }
    }
}

/// Logits and feature maps of every sub-discriminator for one input batch.
public struct DiscriminatorOutput {
    /// One [B, N_i] tensor per sub-discriminator (`discriminators.i`), the flattened conv_post output.
    public let logits: [Tensor]
    /// Per sub-discriminator, the post-activation output of each conv plus the conv_post output
    /// (7 tensors for DiscriminatorS, 6 for each DiscriminatorP).
    public let featureMaps: [[Tensor]]
}

/// A weight-normed (reference default) or spectral-normed discriminator conv of the given geometry.
func discriminatorLayer(_ c: DiscriminatorConv, periodConv: Bool, spectralNorm: Bool,
                        generator: RandomGenerator) -> any DiscriminatorLayer {
    if spectralNorm { return SpectralNormConv(c, periodConv: periodConv, generator: generator) }
    if periodConv {
        return Conv2dK1(c.inChannels, c.outChannels, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                        weightNorm: true, generator: generator)
    }
    return Conv1d(c.inChannels, c.outChannels, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                  groups: c.groups, weightNorm: true, generator: generator)
}

/// The reference `DiscriminatorS`: a stack of (grouped, strided) weight-normed 1-D convs over raw
/// audio [B, 1, T], leaky ReLU 0.1 after each but the last.
public final class DiscriminatorS: Module {
    /// `convs.0 …`, in call order (the items of `convs`, typed).
    public let layers: [any DiscriminatorLayer]
    @ModuleInfo(key: "convs") public private(set) var convs: ModuleList<Module>
    @ModuleInfo(key: "conv_post") public private(set) var convPost: any DiscriminatorLayer

    public init(geometry: DiscriminatorGeometry, spectralNorm: Bool = false, generator: RandomGenerator) {
        layers = geometry.scaleConvs.map { discriminatorLayer($0, periodConv: false, spectralNorm: spectralNorm, generator: generator) }
        _convs.wrappedValue = ModuleList(layers)
        _convPost.wrappedValue = discriminatorLayer(geometry.scalePost, periodConv: false, spectralNorm: spectralNorm, generator: generator)
        super.init()
    }

    /// audio [B, 1, T] → logits [B, T'] and the 7 feature maps.
    public func callAsFunction(_ audio: Tensor) -> (logits: Tensor, featureMaps: [Tensor]) {
        var x = audio
        var featureMaps: [Tensor] = []
        for conv in layers {
            x = leakyRelu(conv(x), slope: 0.1)
            featureMaps.append(x)
        }
        x = convPost(x)
        featureMaps.append(x)
        return (x.reshaped([x.shape[0], -1]), featureMaps)
    }
}

/// The reference `DiscriminatorP(period)`: the audio [B, 1, T] is reflect-padded on the right to a
/// multiple of the period, viewed as [B, 1, T/p, p], and run through weight-normed (k, 1) convs
/// (stride (s, 1)) with leaky ReLU 0.1 after each but the last.
public final class DiscriminatorP: Module {
    public let period: Int
    /// `convs.0 …`, in call order (the items of `convs`, typed).
    public let layers: [any DiscriminatorLayer]
    @ModuleInfo(key: "convs") public private(set) var convs: ModuleList<Module>
    @ModuleInfo(key: "conv_post") public private(set) var convPost: any DiscriminatorLayer

    public init(period: Int, geometry: DiscriminatorGeometry, spectralNorm: Bool = false, generator: RandomGenerator) {
        precondition(period >= 1, "DiscriminatorP: period must be positive, got \(period)")
        self.period = period
        layers = geometry.periodConvs.map { discriminatorLayer($0, periodConv: true, spectralNorm: spectralNorm, generator: generator) }
        _convs.wrappedValue = ModuleList(layers)
        _convPost.wrappedValue = discriminatorLayer(geometry.periodPost, periodConv: true, spectralNorm: spectralNorm, generator: generator)
        super.init()
    }

    /// audio [B, 1, T] → logits [B, H·p] and the 6 feature maps ([B, C, H, p] each).
    public func callAsFunction(_ audio: Tensor) -> (logits: Tensor, featureMaps: [Tensor]) {
        precondition(audio.rank == 3, "DiscriminatorP: audio must be [B, C, T], got \(audio.shape)")
        var x = audio
        let length = x.shape[2]
        if length % period != 0 {
            x = x.reflectPadded(left: 0, right: period - length % period)
        }
        x = x.reshaped([x.shape[0], x.shape[1], x.shape[2] / period, period])
        var featureMaps: [Tensor] = []
        for conv in layers {
            x = leakyRelu(conv(x), slope: 0.1)
            featureMaps.append(x)
        }
        x = convPost(x)
        featureMaps.append(x)
        return (x.reshaped([x.shape[0], -1]), featureMaps)
    }
}

/// The reference `MultiPeriodDiscriminator`: `discriminators.0` is a DiscriminatorS, then one
/// DiscriminatorP per period. Keys and shapes equal `VITSParameters.discriminator(config)`.
///
/// Every conv is weight-normed (keys `bias`, `weight_g`, `weight_v`), or spectral-normed (`bias`,
/// `weight_orig`, buffers `weight_u`, `weight_v`) when built with `spectralNorm`.
/// Our extensions (`model.discriminator_width_multiplier`, `model.discriminator_periods`) narrow
/// the channels and choose the periods; their defaults (1, [2, 3, 5, 7, 11]) are the reference.
public final class MultiPeriodDiscriminator: Module {
    @ModuleInfo(key: "discriminators") public private(set) var discriminators: ModuleList<Module>
    public let scaleDiscriminator: DiscriminatorS
    public let periodDiscriminators: [DiscriminatorP]

    /// Builds the discriminator a config describes (PyTorch default init; weight norm with g = ‖v‖,
    /// or spectral norm when `use_spectral_norm`).
    public convenience init(config: VITSConfig, generator: RandomGenerator) throws(DiscriminatorError) {
        let m = config.model
        guard let geometry = DiscriminatorGeometry.make(widthMultiplier: m.discriminatorWidthMultiplier) else {
            throw .invalidWidthMultiplier(m.discriminatorWidthMultiplier)
        }
        try self.init(geometry: geometry, periods: m.discriminatorPeriods, spectralNorm: m.useSpectralNorm, generator: generator)
    }

    public init(geometry: DiscriminatorGeometry = .reference, periods: [Int] = [2, 3, 5, 7, 11],
                spectralNorm: Bool = false, generator: RandomGenerator) throws(DiscriminatorError) {
        guard !periods.isEmpty, periods.allSatisfy({ $0 >= 1 }), Set(periods).count == periods.count else {
            throw .invalidPeriods(periods)
        }
        scaleDiscriminator = DiscriminatorS(geometry: geometry, spectralNorm: spectralNorm, generator: generator)
        periodDiscriminators = periods.map { DiscriminatorP(period: $0, geometry: geometry, spectralNorm: spectralNorm, generator: generator) }
        _discriminators.wrappedValue = ModuleList([scaleDiscriminator as Module] + periodDiscriminators)
        super.init()
    }

    public var periods: [Int] { periodDiscriminators.map(\.period) }

    /// Runs every sub-discriminator on audio [B, 1, T] (T must exceed the largest period's padding).
    public func callAsFunction(_ audio: Tensor) -> DiscriminatorOutput {
        precondition(audio.rank == 3 && audio.shape[1] == 1, "MultiPeriodDiscriminator: audio must be [B, 1, T], got \(audio.shape)")
        var logits: [Tensor] = [], featureMaps: [[Tensor]] = []
        let s = scaleDiscriminator(audio)
        logits.append(s.logits); featureMaps.append(s.featureMaps)
        for d in periodDiscriminators {
            let p = d(audio)
            logits.append(p.logits); featureMaps.append(p.featureMaps)
        }
        return DiscriminatorOutput(logits: logits, featureMaps: featureMaps)
    }

    /// The reference `forward(y, y_hat)`: the same discriminator on real and generated audio.
    /// Pass `generated.detached()` for the discriminator step, as train.py does.
    public func callAsFunction(real: Tensor, generated: Tensor) -> (real: DiscriminatorOutput, generated: DiscriminatorOutput) {
        (self(real), self(generated))
    }

    /// The discriminator step's pass: real and generated audio [B, 1, T] as one batch of 2B items.
    /// Every layer works on each item alone, so the outputs are those of the two separate passes
    /// (up to the summation order inside the larger products); what changes is the cost: each
    /// layer's weight norm is computed once instead of twice, and its weight gradient comes from
    /// one product over 2B items instead of two accumulated ones. Not for the generator step: there
    /// the real half needs no input gradient, which a joint pass would compute anyway.
    /// `featureMaps: false` (the step's loss needs only the logits) leaves the maps out.
    public func jointPass(real: Tensor, generated: Tensor, featureMaps: Bool = false) -> (real: DiscriminatorOutput, generated: DiscriminatorOutput) {
        precondition(real.shape == generated.shape, "MultiPeriodDiscriminator: real \(real.shape) and generated \(generated.shape) audio differ in shape")
        let items = real.shape[0]
        let both = self(Tensor.concat([real, generated], axis: 0))
        func half(_ t: Tensor, second: Bool) -> Tensor { t.slice(axis: 0, start: second ? items : 0, end: second ? 2 * items : items) }
        func output(second: Bool) -> DiscriminatorOutput {
            DiscriminatorOutput(logits: both.logits.map { half($0, second: second) },
                                featureMaps: both.featureMaps.map { maps in featureMaps ? maps.map { half($0, second: second) } : [] })
        }
        return (output(second: false), output(second: true))
    }
}
