import Foundation
import Engine

/// Bad input to the text side of the model (token ids, lengths, speaker ids).
public enum TextInputError: Error, Equatable, CustomStringConvertible {
    case tokenOutOfRange(item: Int, position: Int, id: Int, vocabularySize: Int)
    case lengthCount(expected: Int, got: Int)
    case lengthOutOfRange(item: Int, length: Int, maxLength: Int)
    case speakerOutOfRange(item: Int, id: Int, speakers: Int)
    case badShape(String)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(item, position, id, vocabularySize):
            return "token id \(id) at item \(item), position \(position) is outside the vocabulary 0..<\(vocabularySize) of this model (the frontend's symbol table and the model's n_vocab differ?)"
        case let .lengthCount(expected, got):
            return "expected \(expected) lengths (one per batch item), got \(got)"
        case let .lengthOutOfRange(item, length, maxLength):
            return "length \(length) of item \(item) is outside 0...\(maxLength) (the padded sequence length)"
        case let .speakerOutOfRange(item, id, speakers):
            return "speaker id \(id) of item \(item) is outside 0..<\(speakers) (this model has \(speakers) speakers)"
        case let .badShape(message):
            return message
        }
    }
}

/// VITS `TextEncoder` (`enc_p`): token embedding × √H, relative-attention transformer encoder,
/// then a 1×1 projection to the prior statistics.
///
///     x = emb(tokens)·√H → [B, H, T];  x = encoder(x·mask, mask)
///     (m_p, logs_p) = split(proj(x)·mask, I)
///
/// Keys: `emb.weight` [V, H], `encoder.…`, `proj.{weight,bias}` [2I, H, 1].
public final class TextEncoder: Module {
    public let vocabularySize: Int
    public let outChannels: Int
    public let hiddenChannels: Int
    @ModuleInfo(key: "emb") public private(set) var emb: Embedding
    @ModuleInfo(key: "encoder") public private(set) var encoder: TransformerEncoder
    @ModuleInfo(key: "proj") public private(set) var proj: Conv1d
    /// Prefix of the trace names (the reference module path).
    public var tracePath = "enc_p"

    public init(vocabularySize: Int, outChannels: Int, hiddenChannels: Int, filterChannels: Int, heads: Int,
                layers: Int, kernelSize: Int, dropout: Float, generator: RandomGenerator) {
        self.vocabularySize = vocabularySize
        self.outChannels = outChannels
        self.hiddenChannels = hiddenChannels
        // Reference init: N(0, H^−½).
        _emb.wrappedValue = Embedding(vocabularySize, hiddenChannels, std: Float(1 / Double(hiddenChannels).squareRoot()), generator: generator)
        _encoder.wrappedValue = TransformerEncoder(hiddenChannels: hiddenChannels, filterChannels: filterChannels, heads: heads,
                                                   layers: layers, kernelSize: kernelSize, dropout: dropout, generator: generator)
        _proj.wrappedValue = Conv1d(hiddenChannels, 2 * outChannels, kernelSize: 1, generator: generator)
        super.init()
    }

    /// The reference `SynthesizerTrn` arguments: inter/hidden/filter channels, heads, layers,
    /// kernel size and p_dropout of `config.model`.
    public convenience init(config: VITSConfig, vocabularySize: Int, generator: RandomGenerator) {
        let m = config.model
        self.init(vocabularySize: vocabularySize, outChannels: m.interChannels, hiddenChannels: m.hiddenChannels,
                  filterChannels: m.filterChannels, heads: m.nHeads, layers: m.nLayers, kernelSize: m.kernelSize,
                  dropout: Float(m.pDropout), generator: generator)
    }

    /// `sequence_mask(lengths, length)` as [B, 1, length] of 0/1: element t is 1 when t < lengths[b].
    public static func sequenceMask(lengths: [Int], length: Int) -> Tensor {
        let out = Tensor(zeros: [lengths.count, 1, length])
        let p = out.pointer
        for (b, n) in lengths.enumerated() {
            for t in 0..<min(max(n, 0), length) { p[b * length + t] = 1 }
        }
        return out
    }

    /// tokens [B, T] (zero-padded), lengths [B] → (x [B, H, T], m [B, I, T], logs [B, I, T], mask [B, 1, T]).
    /// Trace: `<path>.emb` (the embedding before the √H scale, [B, T, H]), then per layer
    /// `<path>.encoder.{attn_layers,norm_layers_1,ffn_layers,norm_layers_2}.i`.
    public func callAsFunction(_ tokens: IntTensor, lengths: [Int], trace: ((String, Tensor) -> Void)? = nil)
        throws(TextInputError) -> (x: Tensor, m: Tensor, logs: Tensor, mask: Tensor) {
        guard tokens.rank == 2 else { throw .badShape("tokens must be [batch, length], got \(tokens.shape)") }
        let batch = tokens.shape[0], length = tokens.shape[1]
        guard lengths.count == batch else { throw .lengthCount(expected: batch, got: lengths.count) }
        for (b, n) in lengths.enumerated() where n < 0 || n > length {
            throw .lengthOutOfRange(item: b, length: n, maxLength: length)
        }
        for (i, id) in tokens.values.enumerated() where id < 0 || Int(id) >= vocabularySize {
            throw .tokenOutOfRange(item: i / max(length, 1), position: i % max(length, 1), id: Int(id), vocabularySize: vocabularySize)
        }

        let embedded = emb(tokens)                                                   // [B, T, H]
        trace?(tracePath + ".emb", embedded)
        let mask = Self.sequenceMask(lengths: lengths, length: length)
        let x0 = (embedded * Float(Double(hiddenChannels).squareRoot())).transposed(1, 2) * mask
        let x = encoder(x0, mask: mask, trace: trace, tracePath: tracePath + ".encoder")
        let stats = proj(x) * mask
        let halves = stats.split(sizes: [outChannels, outChannels], axis: 1)
        return (x, halves[0], halves[1], mask)
    }
}

/// VITS `attentions.Encoder`: post-LayerNorm transformer blocks
///     x = LN₁(x + drop(attn(x))),  x = LN₂(x + drop(ffn(x))),
/// masked at the input and the output.
/// Keys: `attn_layers.i`, `norm_layers_1.i`, `ffn_layers.i`, `norm_layers_2.i`.
public final class TransformerEncoder: Module {
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout
    @ModuleInfo(key: "attn_layers") public private(set) var attnLayers = ModuleList<RelativeMultiHeadAttention>()
    @ModuleInfo(key: "norm_layers_1") public private(set) var normLayers1 = ModuleList<ChannelLayerNorm>()
    @ModuleInfo(key: "ffn_layers") public private(set) var ffnLayers = ModuleList<FeedForward>()
    @ModuleInfo(key: "norm_layers_2") public private(set) var normLayers2 = ModuleList<ChannelLayerNorm>()

    public init(hiddenChannels: Int, filterChannels: Int, heads: Int, layers: Int, kernelSize: Int, window: Int = 4,
                dropout: Float, generator: RandomGenerator) {
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        super.init()
        for _ in 0..<layers {
            attnLayers.append(RelativeMultiHeadAttention(channels: hiddenChannels, outChannels: hiddenChannels, heads: heads,
                                                         window: window, dropout: dropout, generator: generator))
            normLayers1.append(ChannelLayerNorm(hiddenChannels))
            ffnLayers.append(FeedForward(inChannels: hiddenChannels, outChannels: hiddenChannels, filterChannels: filterChannels,
                                         kernelSize: kernelSize, dropout: dropout, generator: generator))
            normLayers2.append(ChannelLayerNorm(hiddenChannels))
        }
    }

    /// x [B, H, T], mask [B, 1, T] → [B, H, T].
    public func callAsFunction(_ input: Tensor, mask: Tensor, trace: ((String, Tensor) -> Void)? = nil,
                               tracePath: String = "encoder") -> Tensor {
        let attentionMask = noGrad { mask.unsqueezed(2) * mask.unsqueezed(3) }          // [B, 1, T, T]
        var x = input * mask
        for i in 0..<attnLayers.count {
            var y = attnLayers[i](x, attentionMask: attentionMask)
            trace?(tracePath + ".attn_layers.\(i)", y)
            x = normLayers1[i](x + drop(y))
            trace?(tracePath + ".norm_layers_1.\(i)", x)
            y = ffnLayers[i](x, mask: mask)
            trace?(tracePath + ".ffn_layers.\(i)", y)
            x = normLayers2[i](x + drop(y))
            trace?(tracePath + ".norm_layers_2.\(i)", x)
        }
        return x * mask
    }
}

/// VITS `attentions.FFN` (relu, non-causal): conv_1 → relu → dropout → conv_2, each conv on the
/// masked input with "same" padding ((k−1)/2 left, k/2 right), the output masked.
/// Keys: `conv_1` [F, C, k], `conv_2` [C_out, F, k].
public final class FeedForward: Module {
    public let kernelSize: Int
    @ModuleInfo(key: "conv_1") public private(set) var conv1: Conv1d
    @ModuleInfo(key: "conv_2") public private(set) var conv2: Conv1d
    @ModuleInfo(key: "drop") public private(set) var drop: Dropout

    public init(inChannels: Int, outChannels: Int, filterChannels: Int, kernelSize: Int, dropout: Float,
                generator: RandomGenerator) {
        self.kernelSize = kernelSize
        // Odd kernels pad symmetrically, which the conv does itself; even kernels pad explicitly.
        let padding = kernelSize % 2 == 1 ? (kernelSize - 1) / 2 : 0
        _conv1.wrappedValue = Conv1d(inChannels, filterChannels, kernelSize: kernelSize, padding: padding, generator: generator)
        _conv2.wrappedValue = Conv1d(filterChannels, outChannels, kernelSize: kernelSize, padding: padding, generator: generator)
        _drop.wrappedValue = Dropout(dropout, generator: generator)
        super.init()
    }

    private func samePadded(_ x: Tensor) -> Tensor {
        kernelSize % 2 == 1 ? x : x.padded(axis: 2, before: (kernelSize - 1) / 2, after: kernelSize / 2)
    }

    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let h = drop(conv1(samePadded(x * mask)).relu())
        return conv2(samePadded(h * mask)) * mask
    }
}

/// The speaker table `emb_g` [n_speakers, G] (reference init N(0, 1)). The conditioning vector is
/// g = emb_g(sid).unsqueeze(−1), [B, G, 1]; it feeds enc_q, flow and dec, and (detached) dp.
/// Keys: `weight`.
public final class SpeakerEmbedding: Module {
    @ParameterInfo(key: "weight") public private(set) var weight: Tensor

    public init(speakers: Int, channels: Int, generator: RandomGenerator) {
        _weight.wrappedValue = generator.normal([speakers, channels])
        super.init()
    }

    public convenience init(config: VITSConfig, generator: RandomGenerator) {
        self.init(speakers: config.data.nSpeakers, channels: config.model.ginChannels, generator: generator)
    }

    public var speakerCount: Int { weight.shape[0] }

    /// speaker ids [B] → g [B, G, 1].
    public func callAsFunction(_ speakerIDs: [Int]) throws(TextInputError) -> Tensor {
        for (b, id) in speakerIDs.enumerated() where id < 0 || id >= speakerCount {
            throw .speakerOutOfRange(item: b, id: id, speakers: speakerCount)
        }
        return Tensor.embedding(weight, IntTensor(speakerIDs.map { Int32($0) })).unsqueezed(-1)
    }
}
