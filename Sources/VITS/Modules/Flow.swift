import Engine

/// VITS `ResidualCouplingLayer` with `mean_only=True` (the only form VITS uses): a volume-preserving
/// affine coupling whose scale is fixed to 1.
///
/// Forward: `x0, x1 = split(x)`; `m = post(WN(pre(x0)·mask, mask, g))·mask`; `x1 = m + x1·mask`.
/// Reverse: `x1 = (x1 − m)·mask`, with m computed from the unchanged x0. The log-determinant is 0.
/// Keys: `pre` [H, C/2, 1], `enc` (WN), `post` [C/2, H, 1] (initialised to zero, so a new layer is the identity).
public final class ResidualCouplingLayer: Module {
    public let halfChannels: Int
    @ModuleInfo(key: "pre") public private(set) var pre: Conv1d
    @ModuleInfo(key: "enc") public private(set) var enc: WN
    @ModuleInfo(key: "post") public private(set) var post: Conv1d

    public init(channels: Int, hiddenChannels: Int, kernelSize: Int, dilationRate: Int, layers: Int,
                ginChannels: Int = 0, dropout: Float = 0, generator: RandomGenerator) {
        precondition(channels % 2 == 0, "ResidualCouplingLayer: channels must be even, got \(channels)")
        halfChannels = channels / 2
        _pre.wrappedValue = Conv1d(halfChannels, hiddenChannels, kernelSize: 1, generator: generator)
        _enc.wrappedValue = WN(hiddenChannels: hiddenChannels, kernelSize: kernelSize, dilationRate: dilationRate, layers: layers,
                               ginChannels: ginChannels, dropout: dropout, generator: generator)
        _post.wrappedValue = Conv1d(hiddenChannels, halfChannels, kernelSize: 1, generator: generator)
        super.init()
        // The reference zeroes post so that every coupling starts as the identity.
        post.weight!.pointer.update(repeating: 0, count: post.weight!.count)
        post.bias!.pointer.update(repeating: 0, count: post.bias!.count)
    }

    /// The mean m(x0) of the coupling, already masked: [B, C/2, T].
    private func mean(_ x0: Tensor, mask: Tensor, g: Tensor?) -> Tensor {
        let h = enc(pre(x0) * mask, mask: mask, g: g)
        return post(h) * mask
    }

    /// x [B, C, T] → coupled x [B, C, T] (log-determinant 0).
    public func callAsFunction(_ x: Tensor, mask: Tensor, g: Tensor? = nil) -> Tensor {
        let halves = x.split(sizes: [halfChannels, halfChannels], axis: 1)
        let x1 = mean(halves[0], mask: mask, g: g) + halves[1] * mask
        return Tensor.concat([halves[0], x1], axis: 1)
    }

    /// Inverse of `callAsFunction`.
    public func reverse(_ x: Tensor, mask: Tensor, g: Tensor? = nil) -> Tensor {
        let halves = x.split(sizes: [halfChannels, halfChannels], axis: 1)
        let x1 = (halves[1] - mean(halves[0], mask: mask, g: g)) * mask
        return Tensor.concat([halves[0], x1], axis: 1)
    }
}

/// VITS `modules.Flip`: reverses the order of ALL channels (not a swap of halves). No parameters;
/// it occupies the odd indices of `flow.flows` so the couplings keep their reference keys (0, 2, 4, …).
public final class Flip: Module {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flipped(1) }
}

/// VITS `ResidualCouplingBlock` (`flow`): `flows` = [coupling, Flip] × nFlows. Maps the posterior z to
/// z_p (forward, training) and the prior sample back to z (reverse, inference).
public final class ResidualCouplingBlock: Module {
    @ModuleInfo(key: "flows") public private(set) var flows = ModuleList<Module>()
    public let couplings: [ResidualCouplingLayer]
    /// Prefix of the names reported to a trace.
    public var tracePath = "flow"

    /// Reference: `ResidualCouplingBlock(inter, hidden, 5, 1, 4, gin_channels=gin)` with 4 flows.
    public init(channels: Int, hiddenChannels: Int, kernelSize: Int = 5, dilationRate: Int = 1, layers: Int = 4,
                flowCount: Int = 4, ginChannels: Int = 0, generator: RandomGenerator) {
        couplings = (0..<flowCount).map { _ in
            ResidualCouplingLayer(channels: channels, hiddenChannels: hiddenChannels, kernelSize: kernelSize,
                                  dilationRate: dilationRate, layers: layers, ginChannels: ginChannels, generator: generator)
        }
        super.init()
        for coupling in couplings {
            flows.append(coupling)
            flows.append(Flip())
        }
    }

    /// The `flow` of a reference config: inter_channels wide, hidden_channels WN of 4 layers, kernel 5.
    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        let m = config.model
        self.init(channels: m.interChannels, hiddenChannels: m.hiddenChannels, ginChannels: m.ginChannels, generator: generator)
    }

    /// z [B, C, T] → z_p (training direction). Traces `flow.flows.N.y` and `flow.flows.N.logdet` (zeros [B]).
    public func callAsFunction(_ z: Tensor, mask: Tensor, g: Tensor? = nil, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var x = z
        for (i, coupling) in couplings.enumerated() {
            x = coupling(x, mask: mask, g: g)
            report(x, index: 2 * i, trace: trace)
            x = x.flipped(1)
            report(x, index: 2 * i + 1, trace: trace)
        }
        return x
    }

    /// z_p [B, C, T] → z (inference direction): the list walked backwards, each Flip before its coupling's
    /// inverse. Traces `flow.flows.N` in call order (7, 6, …, 0).
    public func reverse(_ zP: Tensor, mask: Tensor, g: Tensor? = nil, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var x = zP
        for (i, coupling) in couplings.enumerated().reversed() {
            x = x.flipped(1)
            trace?("\(tracePath).flows.\(2 * i + 1)", x)
            x = coupling.reverse(x, mask: mask, g: g)
            trace?("\(tracePath).flows.\(2 * i)", x)
        }
        return x
    }

    private func report(_ x: Tensor, index: Int, trace: ((String, Tensor) -> Void)?) {
        guard let trace else { return }
        trace("\(tracePath).flows.\(index).y", x)
        trace("\(tracePath).flows.\(index).logdet", Tensor(zeros: [x.shape[0]]))
    }
}
