import Foundation
import Engine
import Formats

/// Why a model cannot be written as an ONNX inference graph.
public enum OnnxExportError: Error, CustomStringConvertible, Equatable {
    /// A part of the model (named by its config key) the graph does not express.
    case unsupported(String)

    public var description: String {
        switch self {
        case .unsupported(let m): return m
        }
    }
}

/// `SynthesizerTrn.infer` as an ONNX graph with Piper's interface (docs/piper.md "Exporting"):
/// inputs `input` [N, T] int64 (token ids), `input_lengths` [N] int64, `scales` [3] float32
/// (noise_scale, length_scale, noise_w) and, for multi-speaker models, `sid` [N] int64; output
/// `output` [N, 1, samples] float32. Opset 15, as Piper's exporter.
///
/// The graph computes what our inference computes, module by module: the text encoder with
/// windowed relative attention, the stochastic duration predictor in reverse (its rational-quadratic
/// spline flows, `flows.1` skipped as in the reference) or the deterministic one, ⌈e^logw · mask ·
/// length_scale⌉, the monotonic path from the cumulative durations, the flow in reverse and the
/// HiFi-GAN decoder. Noise is drawn in the graph (`RandomNormalLike`), so at noise_scale =
/// noise_w = 0 the output is deterministic.
///
/// Initializers carry our parameter keys, weight-norm pairs folded into one `…weight`
/// (`ImportedWeights.foldedKey`), so `vits import piper` reads an exported file back under the same
/// keys. Every other constant is a `Constant` node. The relative-attention terms use a one-hot
/// [T, T, 2w+1] offset table (dense, exact: each sum has one non-zero term) instead of the
/// reference's pad-and-reshape trick.
public enum OnnxInferenceGraph {
    public static let opset = 15

    /// The graph of `model` (in eval mode, LoRA adapters merged into the weights it reads).
    public static func build(_ model: SynthesizerTrn, name: String) throws(OnnxExportError) -> OnnxGraph {
        if model.pitchPredictor != nil {
            throw .unsupported("model.pitch_excitation is on: the pitch-excited decoder (harmonic source driven by predicted F0) has no Piper/ONNX export; export a model trained without pitch_excitation")
        }
        guard let decoder = model.dec as? Generator else {
            throw .unsupported("model.decoder is \"\(model.config.model.decoder.kind.rawValue)\": only the HiFi-GAN decoder (\"hifigan\") can be exported to Piper/ONNX (the iSTFT decoders are not expressed)")
        }
        return noGrad {
            let e = Emitter(name: name)
            e.build(model, decoder: decoder)
            return e.graph
        }
    }
}

/// Emits nodes into an `OnnxGraph`; one method per module, mirroring the Swift modules' forward code.
final class Emitter {
    var graph: OnnxGraph
    private var nodeNames: Set<String> = []
    private var intConstants: [[Int]: String] = [:]

    init(name: String) {
        graph = OnnxGraph(name: name, opset: OnnxInferenceGraph.opset, producer: "swiftvits", producerVersion: "1")
    }

    // MARK: primitives

    @discardableResult
    func op(_ type: String, _ inputs: String..., attributes: [(String, OnnxGraph.Attribute)] = [], name: String? = nil,
            output: String? = nil) -> String {
        var nodeName = name ?? graph.freshName("/" + type)
        if nodeNames.contains(nodeName) { nodeName = graph.freshName(nodeName) }
        nodeNames.insert(nodeName)
        return graph.addNode(type, inputs, name: nodeName, outputs: output.map { [$0] }, attributes: attributes)[0]
    }

    /// A float constant (`Constant` node); shape [] for a scalar.
    func constant(_ values: [Float], shape: [Int] = []) -> String {
        op("Constant", attributes: [("value", .tensor(.init(floats: values, shape: shape)))])
    }

    func constant(_ value: Float) -> String { constant([value]) }

    /// An int64 constant (shared between uses: shapes, axes, indices).
    func ints(_ values: [Int], scalar: Bool = false) -> String {
        let key = scalar ? values + [Int.min] : values
        if let name = intConstants[key] { return name }
        let name = op("Constant", attributes: [("value", .tensor(.init(int64s: values, shape: scalar ? [] : [values.count])))])
        intConstants[key] = name
        return name
    }

    /// A parameter under its key (added once).
    func weight(_ key: String, _ t: Tensor) -> String {
        if !graph.hasInitializer(key) {
            graph.addInitializer(.init(name: key, floats: Array(UnsafeBufferPointer(start: t.pointer, count: t.count)), shape: t.shape))
        }
        return key
    }

    /// Torch-style node name: module `dec.resblocks.0.convs1.0` → `/dec/resblocks.0/convs1.0/Conv`
    /// (`vits import piper` reads the decoder's strides and dilations from such names).
    static func nodeName(_ path: String, _ op: String) -> String {
        var parts: [String] = []
        for p in path.split(separator: ".") {
            if let last = parts.last, p.allSatisfy(\.isNumber) { parts[parts.count - 1] = last + "." + p } else { parts.append(String(p)) }
        }
        return "/" + (parts + [op]).joined(separator: "/")
    }

    func conv(_ x: String, _ layer: Conv1d, path: String, pads: (Int, Int)? = nil) -> String {
        let w = layer.adaptedWeight
        let key = ImportedWeights.foldedKey(path + (layer.isWeightNormed ? ".weight_g" : ".weight"))
        var inputs = [x, weight(key, w)]
        if let b = layer.bias { inputs.append(weight(path + ".bias", b)) }
        let (p0, p1) = pads ?? (layer.padding, layer.padding)
        let attributes: [(String, OnnxGraph.Attribute)] = [
            ("dilations", .ints([layer.dilation])), ("group", .int(layer.groups)), ("kernel_shape", .ints([w.shape[2]])),
            ("pads", .ints([p0, p1])), ("strides", .ints([layer.stride])),
        ]
        return graph.addNode("Conv", inputs, name: uniqueName(Self.nodeName(path, "Conv")), attributes: attributes)[0]
    }

    func convTranspose(_ x: String, _ layer: ConvTranspose1d, path: String) -> String {
        // A box-summed (nearest-upsampling) layer is written as the transposed convolution it computes.
        let w = noGrad { layer.kernel(layer.adaptedWeight) }
        let key = ImportedWeights.foldedKey(path + (layer.isWeightNormed ? ".weight_g" : ".weight"))
        var inputs = [x, weight(key, w)]
        if let b = layer.bias { inputs.append(weight(path + ".bias", b)) }
        var attributes: [(String, OnnxGraph.Attribute)] = [
            ("dilations", .ints([1])), ("group", .int(layer.groups)), ("kernel_shape", .ints([w.shape[2]])),
            ("pads", .ints([layer.padding, layer.padding])), ("strides", .ints([layer.stride])),
        ]
        if layer.outputPadding != 0 { attributes.append(("output_padding", .ints([layer.outputPadding]))) }
        return graph.addNode("ConvTranspose", inputs, name: uniqueName(Self.nodeName(path, "ConvTranspose")), attributes: attributes)[0]
    }

    private func uniqueName(_ name: String) -> String {
        var n = name
        if nodeNames.contains(n) { n = graph.freshName(name) }
        nodeNames.insert(n)
        return n
    }

    func slice(_ x: String, axis: Int, _ start: Int, _ end: Int) -> String {
        op("Slice", x, ints([start]), ints([end]), ints([axis]))
    }

    func unsqueeze(_ x: String, _ axes: [Int]) -> String { op("Unsqueeze", x, ints(axes)) }
    func squeeze(_ x: String, _ axes: [Int]) -> String { op("Squeeze", x, ints(axes)) }
    func transpose(_ x: String, _ perm: [Int]) -> String { op("Transpose", x, attributes: [("perm", .ints(perm))]) }
    func cast(_ x: String, to type: OnnxGraph.ElementType) -> String { op("Cast", x, attributes: [("to", .int(type.rawValue))]) }
    func add(_ a: String, _ b: String) -> String { op("Add", a, b) }
    func sub(_ a: String, _ b: String) -> String { op("Sub", a, b) }
    func mul(_ a: String, _ b: String) -> String { op("Mul", a, b) }
    func div(_ a: String, _ b: String) -> String { op("Div", a, b) }

    /// Reverses the channel axis (VITS `Flip`).
    func flipChannels(_ x: String, channels: Int) -> String {
        op("Gather", x, ints(Array((0..<channels).reversed())), attributes: [("axis", .int(1))])
    }

    /// `ChannelLayerNorm`: normalises axis 1 of [N, C, T] (biased variance, ε inside the root).
    func layerNorm(_ x: String, _ norm: ChannelLayerNorm, path: String) -> String {
        let mean = op("ReduceMean", x, attributes: [("axes", .ints([1])), ("keepdims", .int(1))])
        let centered = sub(x, mean)
        let variance = op("ReduceMean", mul(centered, centered), attributes: [("axes", .ints([1])), ("keepdims", .int(1))])
        let normalized = div(centered, op("Sqrt", add(variance, constant(norm.eps))))
        let gamma = unsqueeze(weight(path + ".gamma", norm.gamma), [1])
        let beta = unsqueeze(weight(path + ".beta", norm.beta), [1])
        return add(mul(normalized, gamma), beta)
    }

    /// Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)) (opset 15 has no Gelu op).
    func gelu(_ x: String) -> String {
        let cdf = mul(add(op("Erf", div(x, constant(Float(2.0.squareRoot())))), constant(1)), constant(0.5))
        return mul(x, cdf)
    }

    // MARK: the model

    func build(_ model: SynthesizerTrn, decoder: Generator) {
        let multiSpeaker = model.embG != nil
        graph.inputs = [
            .init(name: "input", type: .int64, shape: [.symbolic("batch_size"), .symbolic("phonemes")]),
            .init(name: "input_lengths", type: .int64, shape: [.symbolic("batch_size")]),
            .init(name: "scales", type: .float, shape: [.fixed(3)]),
        ]
        if multiSpeaker { graph.inputs.append(.init(name: "sid", type: .int64, shape: [.symbolic("batch_size")])) }
        graph.outputs = [.init(name: "output", type: .float, shape: [.symbolic("batch_size"), .fixed(1), .symbolic("time")])]

        let scale = { (i: Int) in self.op("Gather", "scales", self.ints([i], scalar: true), attributes: [("axis", .int(0))]) }
        let noiseScale = scale(0), lengthScale = scale(1), noiseW = scale(2)

        // Text encoder and its mask.
        let tokens = op("Shape", "input")
        let length = op("Gather", tokens, ints([1], scalar: true), attributes: [("axis", .int(0))])
        let positions = op("Range", ints([0], scalar: true), length, ints([1], scalar: true))
        let xMask2 = cast(op("Less", unsqueeze(positions, [0]), unsqueeze("input_lengths", [1])), to: .float)   // [N, T]
        let xMask = unsqueeze(xMask2, [1])                                                                     // [N, 1, T]
        let (h, mP, logsP) = textEncoder(model.encP, length: length, positions: positions, mask: xMask)

        let g: String? = model.embG.map { emb in
            unsqueeze(op("Gather", weight("emb_g.weight", emb.weight), "sid", attributes: [("axis", .int(0))], name: "/emb_g/Gather"), [2])
        }

        // Durations → frames.
        let logw: String
        if let sdp = model.dp as? StochasticDurationPredictor {
            logw = stochasticDurations(sdp, h: h, mask: xMask, g: g, noiseScale: noiseW)
        } else if let dp = model.dp as? DurationPredictor {
            logw = deterministicDurations(dp, h: h, mask: xMask, g: g)
        } else {
            preconditionFailure("makeDurationPredictor builds only the two duration predictors")
        }
        let wCeil = op("Ceil", mul(mul(op("Exp", logw), xMask), lengthScale))                                 // [N, 1, Tx]
        let total = op("ReduceSum", wCeil, ints([1, 2]), attributes: [("keepdims", .int(0))])                    // [N]
        let yLengths = cast(op("Max", total, constant(1)), to: .int64)
        let frames = op("ReduceMax", yLengths, attributes: [("keepdims", .int(0))])
        let framePositions = op("Range", ints([0], scalar: true), frames, ints([1], scalar: true))             // [Ty]
        let yMask = unsqueeze(cast(op("Less", unsqueeze(framePositions, [0]), unsqueeze(yLengths, [1])), to: .float), [1]) // [N, 1, Ty]
        // Path [N, Ty, Tx]: [t < cum_i] − [t < cum_i − w_i], masked by both masks.
        let cumulative = op("CumSum", wCeil, ints([2], scalar: true))
        let t = cast(unsqueeze(framePositions, [1]), to: .float)                                               // [Ty, 1]
        let before = cast(op("Less", t, cumulative), to: .float)
        let beforePrevious = cast(op("Less", t, sub(cumulative, wCeil)), to: .float)
        let path = mul(mul(sub(before, beforePrevious), xMask), transpose(yMask, [0, 2, 1]))
        let pathT = transpose(path, [0, 2, 1])                                                                  // [N, Tx, Ty]
        let mPFrames = op("MatMul", mP, pathT)
        let logsPFrames = op("MatMul", logsP, pathT)
        let eps = op("RandomNormalLike", mPFrames, attributes: [("dtype", .int(1))])
        let zP = add(mPFrames, mul(mul(eps, op("Exp", logsPFrames)), noiseScale))
        let z = flowReverse(model.flow, zP, mask: yMask, g: g)
        let latent = mul(z, yMask)
        _ = hifigan(decoder, latent, g: g, output: "output")
    }

    /// `TextEncoder`: (h [N, H, T], m_p [N, I, T], logs_p [N, I, T]).
    func textEncoder(_ enc: TextEncoder, length: String, positions: String, mask: String) -> (String, String, String) {
        let path = "enc_p"
        var x = op("Gather", weight(path + ".emb.weight", enc.emb.weight), "input", attributes: [("axis", .int(0))], name: "/enc_p/emb/Gather")
        x = mul(x, constant(Float(Double(enc.hiddenChannels).squareRoot())))
        x = mul(transpose(x, [0, 2, 1]), mask)
        x = transformer(enc.encoder, x, positions: positions, mask: mask, path: path + ".encoder")
        let stats = mul(conv(x, enc.proj, path: path + ".proj"), mask)
        let i = enc.outChannels
        return (x, slice(stats, axis: 1, 0, i), slice(stats, axis: 1, i, 2 * i))
    }

    func transformer(_ enc: TransformerEncoder, _ input: String, positions: String, mask: String, path: String) -> String {
        let attentionMask = mul(unsqueeze(mask, [2]), unsqueeze(mask, [3]))                      // [N, 1, T, T]
        let invalid = op("Equal", attentionMask, constant(0))
        // One-hot offsets M[i, j, r] = [j − i = r − w], [T, T, 2w+1], shared by all layers.
        let window = enc.attnLayers.first?.window ?? 4
        let offsets = sub(unsqueeze(positions, [0]), unsqueeze(positions, [1]))                  // [T, T]: j − i
        let oneHot = cast(op("Equal", unsqueeze(offsets, [2]), ints(Array(-window...window))), to: .float)
        let oneHotT = transpose(oneHot, [0, 2, 1])                                               // [T, 2w+1, T]
        var x = mul(input, mask)
        for i in 0..<enc.attnLayers.count {
            let y = attention(enc.attnLayers[i], x, invalid: invalid, oneHot: oneHot, oneHotT: oneHotT, path: "\(path).attn_layers.\(i)")
            x = layerNorm(add(x, y), enc.normLayers1[i], path: "\(path).norm_layers_1.\(i)")
            let f = feedForward(enc.ffnLayers[i], x, mask: mask, path: "\(path).ffn_layers.\(i)")
            x = layerNorm(add(x, f), enc.normLayers2[i], path: "\(path).norm_layers_2.\(i)")
        }
        return mul(x, mask)
    }

    func attention(_ a: RelativeMultiHeadAttention, _ x: String, invalid: String, oneHot: String, oneHotT: String,
                   path: String) -> String {
        let heads = a.heads, d = a.channelsPerHead, r = 2 * a.window + 1
        func split(_ conv: Conv1d, _ name: String) -> String {
            op("Reshape", self.conv(x, conv, path: "\(path).\(name)"), ints([0, heads, d, -1]))            // [N, h, d, T]
        }
        let q = split(a.convQ, "conv_q"), k = split(a.convK, "conv_k"), v = split(a.convV, "conv_v")
        let scaled = div(transpose(q, [0, 1, 3, 2]), constant(Float(Double(d).squareRoot())))        // [N, h, T, d]
        let content = op("MatMul", scaled, k)                                                          // [N, h, T, T]
        let relK = transpose(op("Reshape", weight(path + ".emb_rel_k", a.embRelK), ints([r, d])), [1, 0]) // [d, r]
        let relativeLogits = op("MatMul", scaled, relK)                                                 // [N, h, T, r]
        let dense = squeeze(op("MatMul", unsqueeze(relativeLogits, [3]), oneHotT), [3])                 // [N, h, T, T]
        let scores = op("Where", invalid, constant(-1e4), add(content, dense))
        let p = op("Softmax", scores, attributes: [("axis", .int(-1))])
        let values = op("MatMul", p, transpose(v, [0, 1, 3, 2]))                                        // [N, h, T, d]
        let band = squeeze(op("MatMul", unsqueeze(p, [3]), oneHot), [3])                                // [N, h, T, r]
        let relV = op("Reshape", weight(path + ".emb_rel_v", a.embRelV), ints([r, d]))
        let relativeValues = op("MatMul", band, relV)                                                   // [N, h, T, d]
        let merged = op("Reshape", transpose(add(values, relativeValues), [0, 1, 3, 2]), ints([0, heads * d, -1]))
        return conv(merged, a.convO, path: path + ".conv_o")
    }

    func feedForward(_ f: FeedForward, _ x: String, mask: String, path: String) -> String {
        let k = f.kernelSize
        let pads = k % 2 == 1 ? ((k - 1) / 2, (k - 1) / 2) : ((k - 1) / 2, k / 2)
        let h = op("Relu", conv(mul(x, mask), f.conv1, path: path + ".conv_1", pads: pads))
        return mul(conv(mul(h, mask), f.conv2, path: path + ".conv_2", pads: pads), mask)
    }

    // MARK: duration predictors

    func deterministicDurations(_ dp: DurationPredictor, h: String, mask: String, g: String?) -> String {
        var x = h
        if let g, let cond = dp.cond { x = add(x, conv(g, cond, path: "dp.cond")) }
        x = conv(mul(x, mask), dp.conv1, path: "dp.conv_1")
        x = layerNorm(op("Relu", x), dp.norm1, path: "dp.norm_1")
        x = conv(mul(x, mask), dp.conv2, path: "dp.conv_2")
        x = layerNorm(op("Relu", x), dp.norm2, path: "dp.norm_2")
        return mul(conv(mul(x, mask), dp.proj, path: "dp.proj"), mask)
    }

    func ddsConv(_ c: DDSConv, _ input: String, mask: String, g: String?, path: String) -> String {
        var x = g.map { add(input, $0) } ?? input
        for i in 0..<c.convsSep.count {
            var y = conv(mul(x, mask), c.convsSep[i], path: "\(path).convs_sep.\(i)")
            y = gelu(layerNorm(y, c.norms1[i], path: "\(path).norms_1.\(i)"))
            y = conv(y, c.convs1x1[i], path: "\(path).convs_1x1.\(i)")
            y = gelu(layerNorm(y, c.norms2[i], path: "\(path).norms_2.\(i)"))
            x = add(x, y)
        }
        return mul(x, mask)
    }

    func stochasticDurations(_ dp: StochasticDurationPredictor, h: String, mask: String, g: String?, noiseScale: String) -> String {
        var x = conv(h, dp.pre, path: "dp.pre")
        if let g, let cond = dp.cond { x = add(x, conv(g, cond, path: "dp.cond")) }
        x = ddsConv(dp.convs, x, mask: mask, g: nil, path: "dp.convs")
        x = mul(conv(x, dp.proj, path: "dp.proj"), mask)
        let shape = slice(x, axis: 1, 0, 2)                                                   // [N, 2, T]: the draw's shape
        var z = mul(op("RandomNormalLike", shape, attributes: [("dtype", .int(1))]), noiseScale)
        var order = Array(dp.flows.indices.reversed())
        if order.count >= 2 { order.remove(at: order.count - 2) }
        for i in order {
            switch dp.flows[i] {
            case .affine(let m):
                let shift = weight("dp.flows.\(i).m", m.m), logs = weight("dp.flows.\(i).logs", m.logs)
                z = mul(mul(sub(z, shift), op("Exp", op("Neg", logs))), mask)
            case .spline(let flow):
                z = splineReverse(flow, z, mask: mask, g: x, path: "dp.flows.\(i)")
            case .flip:
                z = flipChannels(z, channels: 2)
            }
        }
        return slice(z, axis: 1, 0, 1)
    }

    /// `ConvFlow.transform(reverse: true)`: the inverse rational-quadratic spline with linear tails.
    func splineReverse(_ f: ConvFlow, _ input: String, mask: String, g: String, path: String) -> String {
        let c = f.halfChannels, k = f.bins, bound = f.tailBound
        let x0 = slice(input, axis: 1, 0, c), x1 = slice(input, axis: 1, c, 2 * c)
        var hidden = conv(x0, f.pre, path: path + ".pre")
        hidden = ddsConv(f.convs, hidden, mask: mask, g: g, path: path + ".convs")
        hidden = mul(conv(hidden, f.proj, path: path + ".proj"), mask)                               // [N, c(3K−1), T]
        let params = transpose(op("Reshape", hidden, ints([0, c, 3 * k - 1, -1])), [0, 1, 3, 2])       // [N, c, T, 3K−1]
        let root = constant(Float(Double(f.filterChannels).squareRoot()))
        let uw = div(slice(params, axis: 3, 0, k), root)
        let uh = div(slice(params, axis: 3, k, 2 * k), root)
        let ud = slice(params, axis: 3, 2 * k, 3 * k - 1)

        let minSize = RationalQuadraticSpline.minimumBinSize, minSlope = RationalQuadraticSpline.minimumDerivative
        let inside = op("And", op("GreaterOrEqual", x1, constant(-bound)), op("LessOrEqual", x1, constant(bound)))
        let x = op("Clip", x1, constant(-bound), constant(bound))
        let boundarySlope = Float(Foundation.log(Foundation.exp(1 - Double(minSlope)) - 1))
        let padded = op("Pad", ud, ints([0, 0, 0, 1, 0, 0, 0, 1]), constant(boundarySlope))

        func knots(_ u: String) -> (String, String) {
            let sizes = add(mul(op("Softmax", u, attributes: [("axis", .int(-1))]), constant(1 - minSize * Float(k))), constant(minSize))
            let cum = add(mul(op("CumSum", sizes, ints([3], scalar: true)), constant(2 * bound)), constant(-bound))
            let inner = slice(cum, axis: 3, 0, k - 1)
            let low = op("Pad", inner, ints([0, 0, 0, 1, 0, 0, 0, 0]), constant(-bound))
            let all = op("Pad", low, ints([0, 0, 0, 0, 0, 0, 0, 1]), constant(bound))                  // [N, c, T, K+1]
            return (all, sub(slice(all, axis: 3, 1, k + 1), slice(all, axis: 3, 0, k)))
        }
        let (cumWidths, widths) = knots(uw)
        let (cumHeights, heights) = knots(uh)
        let slopes = add(op("Softplus", padded), constant(minSlope))

        var nudge = [Float](repeating: 0, count: k + 1)
        nudge[k] = 1e-6
        let search = add(cumHeights, constant(nudge, shape: [k + 1]))
        let hits = cast(op("GreaterOrEqual", unsqueeze(x, [3]), search), to: .float)
        let bin = sub(cast(op("ReduceSum", hits, ints([3]), attributes: [("keepdims", .int(1))]), to: .int64), ints([1], scalar: true))
        let binNext = add(bin, ints([1], scalar: true))
        func pick(_ t: String, _ index: String) -> String {
            squeeze(op("GatherElements", t, index, attributes: [("axis", .int(3))]), [3])
        }
        let xk = pick(cumWidths, bin), w = pick(widths, bin)
        let yk = pick(cumHeights, bin), hk = pick(heights, bin)
        let delta = pick(div(heights, widths), bin)
        let d0 = pick(slopes, bin), d1 = pick(slopes, binNext)
        let curvature = sub(add(d0, d1), mul(delta, constant(2)))

        let dy = sub(x, yk)
        let a = add(mul(dy, curvature), mul(hk, sub(delta, d0)))
        let b = sub(mul(hk, d0), mul(dy, curvature))
        let cc = op("Neg", mul(delta, dy))
        let disc = sub(mul(b, b), mul(mul(a, cc), constant(4)))
        let theta = div(mul(cc, constant(2)), sub(op("Neg", b), op("Sqrt", op("Max", disc, constant(0)))))
        let inverted = add(mul(theta, w), xk)
        let x1New = op("Where", inside, inverted, x1)
        return mul(op("Concat", x0, x1New, attributes: [("axis", .int(1))]), mask)
    }

    // MARK: flow and decoder

    func wn(_ net: WN, _ input: String, mask: String, g: String?, path: String) -> String {
        let h = net.hiddenChannels
        let conditioning = g.flatMap { g in net.condLayer.map { conv(g, $0, path: path + ".cond_layer") } }
        var x = input
        var output: String?
        for i in 0..<net.layerCount {
            let xIn = conv(x, net.inLayers[i], path: "\(path).in_layers.\(i)")
            var tanhIn = slice(xIn, axis: 1, 0, h), sigmoidIn = slice(xIn, axis: 1, h, 2 * h)
            if let conditioning {
                tanhIn = add(tanhIn, slice(conditioning, axis: 1, 2 * h * i, 2 * h * i + h))
                sigmoidIn = add(sigmoidIn, slice(conditioning, axis: 1, 2 * h * i + h, 2 * h * (i + 1)))
            }
            let acts = mul(op("Tanh", tanhIn), op("Sigmoid", sigmoidIn))
            let resSkip = conv(acts, net.resSkipLayers[i], path: "\(path).res_skip_layers.\(i)")
            let skip: String
            if i < net.layerCount - 1 {
                x = mul(add(x, slice(resSkip, axis: 1, 0, h)), mask)
                skip = slice(resSkip, axis: 1, h, 2 * h)
            } else {
                skip = resSkip
            }
            output = output.map { add($0, skip) } ?? skip
        }
        return mul(output!, mask)
    }

    func flowReverse(_ block: ResidualCouplingBlock, _ zP: String, mask: String, g: String?) -> String {
        var x = zP
        for (i, coupling) in block.couplings.enumerated().reversed() {
            let channels = 2 * coupling.halfChannels, c = coupling.halfChannels
            x = flipChannels(x, channels: channels)
            let path = "flow.flows.\(2 * i)"
            let x0 = slice(x, axis: 1, 0, c), x1 = slice(x, axis: 1, c, channels)
            let pre = mul(conv(x0, coupling.pre, path: path + ".pre"), mask)
            let mean = mul(conv(wn(coupling.enc, pre, mask: mask, g: g, path: path + ".enc"), coupling.post, path: path + ".post"), mask)
            x = op("Concat", x0, mul(sub(x1, mean), mask), attributes: [("axis", .int(1))])
        }
        return x
    }

    func hifigan(_ dec: Generator, _ z: String, g: String?, output: String) -> String {
        var x = conv(z, dec.convPre, path: "dec.conv_pre")
        if let g, let cond = dec.cond { x = add(x, conv(g, cond, path: "dec.cond")) }
        let slope = Generator.leakySlope
        for (i, up) in dec.ups.enumerated() {
            x = convTranspose(op("LeakyRelu", x, attributes: [("alpha", .float(slope))]), up, path: "dec.ups.\(i)")
            var sum: String?
            for j in 0..<dec.kernelsPerStage {
                let index = i * dec.kernelsPerStage + j
                let y = resblock(dec.blocks[index], x, path: "dec.resblocks.\(index)")
                sum = sum.map { add($0, y) } ?? y
            }
            x = div(sum!, constant(Float(dec.kernelsPerStage)))
        }
        x = conv(op("LeakyRelu", x, attributes: [("alpha", .float(Generator.finalLeakySlope))]), dec.convPost, path: "dec.conv_post")
        return op("Tanh", x, output: output)
    }

    func resblock(_ block: HiFiGANResBlock, _ input: String, path: String) -> String {
        let slope = Generator.leakySlope
        func lrelu(_ v: String) -> String { op("LeakyRelu", v, attributes: [("alpha", .float(slope))]) }
        var x = input
        if let b = block as? ResBlock1 {
            for (j, (c1, c2)) in zip(b.convs1, b.convs2).enumerated() {
                let xt = conv(lrelu(x), c1, path: "\(path).convs1.\(j)")
                x = add(conv(lrelu(xt), c2, path: "\(path).convs2.\(j)"), x)
            }
        } else if let b = block as? ResBlock2 {
            for (j, c) in b.convs.enumerated() { x = add(conv(lrelu(x), c, path: "\(path).convs.\(j)"), x) }
        }
        return x
    }
}
