import Foundation
import Engine

/// Multi-head self-attention with relative position embeddings (VITS `attentions.MultiHeadAttention`
/// with `window_size` 4, `heads_share` true, no proximal bias, no block length).
///
/// With q̃ = q/√d_k, and tables E_k, E_v of the 2w+1 offsets −w…w shared by all heads:
///     S[i, j] = q̃_i·k_j + q̃_i·E_k[j − i]      (the relative term is 0 for |j − i| > w)
///     P = softmax_j(S masked with −1e4),  O_i = Σ_j P[i, j]·(v_j + E_v[j − i])
/// The reference builds the relative terms with pad/reshape tricks over [T, 2T−1] matrices; here
/// they go through a [T, 2w+1] band (`RelativePositionBand`), O(T·w·d_k) instead of O(T²·d_k).
///
/// Keys (state_dict order): `emb_rel_k`, `emb_rel_v` [1, 2w+1, d_k] (own tensors first), then
/// `conv_q`, `conv_k`, `conv_v`, `conv_o` (1×1 convs). q, k, v are laid out head-major: channel
/// = head·d_k + d, viewed as [B, heads, d_k, T] without a copy.
public final class RelativeMultiHeadAttention: Module {
    public let heads: Int
    public let channelsPerHead: Int
    public let window: Int
    @ParameterInfo(key: "emb_rel_k") public private(set) var embRelK: Tensor
    @ParameterInfo(key: "emb_rel_v") public private(set) var embRelV: Tensor
    @ModuleInfo(key: "conv_q") public private(set) var convQ: Conv1d
    @ModuleInfo(key: "conv_k") public private(set) var convK: Conv1d
    @ModuleInfo(key: "conv_v") public private(set) var convV: Conv1d
    @ModuleInfo(key: "conv_o") public private(set) var convO: Conv1d
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout

    public init(channels: Int, outChannels: Int, heads: Int, window: Int = 4, dropout: Float,
                generator: RandomGenerator) {
        precondition(heads > 0 && channels % heads == 0, "attention: \(channels) channels do not split into \(heads) heads")
        self.heads = heads
        channelsPerHead = channels / heads
        self.window = window
        // Reference init: relative tables N(0, 1)·d_k^−½; q/k/v weights xavier-uniform, o default.
        let std = Float(1 / Double(channelsPerHead).squareRoot())
        _embRelK.wrappedValue = generator.normal([1, 2 * window + 1, channelsPerHead], std: std)
        _embRelV.wrappedValue = generator.normal([1, 2 * window + 1, channelsPerHead], std: std)
        _convQ.wrappedValue = Conv1d(channels, channels, kernelSize: 1, generator: generator)
        _convK.wrappedValue = Conv1d(channels, channels, kernelSize: 1, generator: generator)
        _convV.wrappedValue = Conv1d(channels, channels, kernelSize: 1, generator: generator)
        _convO.wrappedValue = Conv1d(channels, outChannels, kernelSize: 1, generator: generator)
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        super.init()
        for conv in [convQ, convK, convV] { Self.xavierUniform(conv.weight!, generator: generator) }
    }

    /// Overwrites a conv weight [out, in, k] with U(±√(6/(fan_in + fan_out))) (torch xavier_uniform_).
    static func xavierUniform(_ weight: Tensor, generator: RandomGenerator) {
        let receptive = weight.shape.dropFirst(2).reduce(1, *)
        let fanIn = weight.shape[1] * receptive, fanOut = weight.shape[0] * receptive
        let bound = Float((6 / Double(fanIn + fanOut)).squareRoot())
        let values = generator.uniform(weight.shape, low: -bound, high: bound)
        weight.pointer.update(from: values.pointer, count: weight.count)
    }

    /// Self-attention over x [B, C, T]. `attentionMask` [B, 1, T, T] is 1 where query i may attend
    /// to key j (both valid) and 0 elsewhere; scores there become −1e4 before the softmax, as in
    /// the reference (padded query rows then attend uniformly; the encoder masks them later).
    public func callAsFunction(_ x: Tensor, attentionMask: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[2], d = channelsPerHead
        let q = convQ(x).reshaped([b, heads, d, t])
        let k = convK(x).reshaped([b, heads, d, t])
        let v = convV(x).reshaped([b, heads, d, t])
        let scaled = q.divided(by: Float(Double(d).squareRoot()))

        let content = Tensor.matmul(scaled, k, transposeA: true)                          // [B, h, T, T]
        let relativeK = embRelK.reshaped([2 * window + 1, d])
        let relativeLogits = Tensor.matmul(scaled, relativeK, transposeA: true, transposeB: true)  // [B, h, T, 2w+1]
        let scores = (content + RelativePositionBand.toDense(relativeLogits, window: window))
            .maskedFill(noGrad { attentionMask.equal(Tensor(scalar: 0)) }, -1e4)
        let probabilities = drop(scores.softmax(axis: -1))

        let values = Tensor.matmul(v, probabilities, transposeB: true)                    // [B, h, d, T]
        let relativeV = embRelV.reshaped([2 * window + 1, d])
        let band = RelativePositionBand.fromDense(probabilities, window: window)          // [B, h, T, 2w+1]
        let relativeValues = Tensor.matmul(band, relativeV).transposed(-2, -1)            // [B, h, d, T]
        return convO((values + relativeValues).reshaped([b, heads * d, t]))
    }
}
