import Foundation

// Convolutions with PyTorch semantics (NCL layout, weights as torch stores them), recorded for
// autograd. Kernels: im2col + cblas_sgemm, see ConvKernels.swift and docs/engine-kernels.md.

/// 1-D convolution, as `torch.nn.functional.conv1d`.
/// - input  [B, Cin, T]
/// - weight [Cout, Cin/groups, K]
/// - bias   [Cout] or nil
/// - returns [B, Cout, ⌊(T + 2·padding − dilation·(K−1) − 1)/stride⌋ + 1]
public func conv1d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, groups: Int = 1) -> Tensor {
    precondition(input.rank == 3, "conv1d: input must be [B, Cin, T], got \(input.shape)")
    precondition(weight.rank == 3, "conv1d: weight must be [Cout, Cin/groups, K], got \(weight.shape)")
    let geo = convGeometry(op: "conv1d", input: input.shape, inner: 1, weight: weight.shape, bias: bias,
                           stride: stride, padding: padding, dilation: dilation, groups: groups)
    return convolution(name: "conv1d", input: input, weight: weight, bias: bias, geo: geo,
                       outputShape: [geo.batch, geo.yChannels, geo.yLength])
}

/// 2-D convolution with a (K, 1) kernel, stride (stride, 1) and padding (padding, 0), as the
/// period discriminators' `Conv2d`: the last axis (the period) is carried along, never mixed.
/// - input  [B, Cin, H, W]
/// - weight [Cout, Cin/groups, K, 1]
/// - bias   [Cout] or nil
/// - returns [B, Cout, ⌊(H + 2·padding − K)/stride⌋ + 1, W]
public func conv2dK1(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                     groups: Int = 1) -> Tensor {
    precondition(input.rank == 4, "conv2dK1: input must be [B, Cin, H, W], got \(input.shape)")
    precondition(weight.rank == 4 && weight.shape[3] == 1,
                 "conv2dK1: weight must be [Cout, Cin/groups, K, 1], got \(weight.shape)")
    let geo = convGeometry(op: "conv2dK1", input: Array(input.shape.prefix(3)), inner: input.shape[3],
                           weight: Array(weight.shape.prefix(3)), bias: bias,
                           stride: stride, padding: padding, dilation: 1, groups: groups)
    return convolution(name: "conv2dK1", input: input, weight: weight, bias: bias, geo: geo,
                       outputShape: [geo.batch, geo.yChannels, geo.yLength, geo.inner])
}

/// 1-D transposed convolution, as `torch.nn.functional.conv_transpose1d`.
/// - input  [B, Cin, T]
/// - weight [Cin, Cout/groups, K]
/// - bias   [Cout] or nil
/// - returns [B, Cout, (T − 1)·stride − 2·padding + dilation·(K − 1) + outputPadding + 1]
public func convTranspose1d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                            padding: Int = 0, outputPadding: Int = 0, groups: Int = 1,
                            dilation: Int = 1) -> Tensor {
    precondition(input.rank == 3, "convTranspose1d: input must be [B, Cin, T], got \(input.shape)")
    precondition(weight.rank == 3, "convTranspose1d: weight must be [Cin, Cout/groups, K], got \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && padding >= 0 && groups >= 1,
                 "convTranspose1d: need stride ≥ 1, dilation ≥ 1, padding ≥ 0, groups ≥ 1")
    precondition(outputPadding >= 0 && outputPadding < max(stride, dilation),
                 "convTranspose1d: outputPadding \(outputPadding) must be in 0..<max(stride, dilation)")
    let (batch, cin, tin) = (input.shape[0], input.shape[1], input.shape[2])
    let k = weight.shape[2]
    precondition(weight.shape[0] == cin, "convTranspose1d: weight \(weight.shape) does not take \(cin) input channels")
    precondition(cin % groups == 0, "convTranspose1d: \(cin) input channels not divisible by groups \(groups)")
    let cout = weight.shape[1] * groups
    let tout = (tin - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1
    precondition(tout > 0, "convTranspose1d: output length \(tout) ≤ 0 for input length \(tin)")
    if let bias { precondition(bias.shape == [cout], "convTranspose1d: bias must be [\(cout)], got \(bias.shape)") }
    // The conv whose transpose this is: y side = our input, x side = our output.
    let geo = ConvGeometry(batch: batch, groups: groups, xChannels: cout, yChannels: cin, xLength: tout,
                           yLength: tin, inner: 1, kernel: k, stride: stride, padding: padding, dilation: dilation)
    let out = Tensor(uninitialized: [batch, cout, tout])
    ConvKernels.backwardData(geo, y: input.pointer, weight: weight.pointer, x: out.pointer)
    if let bias { ConvKernels.addBias(out.pointer, bias: bias.pointer, batch: batch, channels: cout, positions: tout) }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record("convTranspose1d", output: out, inputs: inputs) { g in
        var gInput: Tensor?, gWeight: Tensor?, gBias: Tensor?
        if input.requiresGrad {
            let t = Tensor(uninitialized: input.shape)
            ConvKernels.forward(geo, x: g.pointer, weight: weight.pointer, bias: nil, y: t.pointer)
            gInput = t
        }
        if weight.requiresGrad {
            let t = Tensor(uninitialized: weight.shape)
            ConvKernels.backwardWeight(geo, x: g.pointer, dy: input.pointer, dWeight: t.pointer, accumulate: false)
            gWeight = t
        }
        if let bias, bias.requiresGrad {
            let t = Tensor(uninitialized: bias.shape)
            ConvKernels.backwardBias(dy: g.pointer, batch: batch, channels: cout, positions: tout, dBias: t.pointer)
            gBias = t
        }
        return [gInput, gWeight] + (bias == nil ? [] : [gBias])
    }
}

/// Validates a convolution's arguments and derives its geometry (input [B, Cin, L], weight [Cout, Cin/g, K]).
private func convGeometry(op: String, input: [Int], inner: Int, weight: [Int], bias: Tensor?,
                          stride: Int, padding: Int, dilation: Int, groups: Int) -> ConvGeometry {
    precondition(stride >= 1 && dilation >= 1 && padding >= 0 && groups >= 1,
                 "\(op): need stride ≥ 1, dilation ≥ 1, padding ≥ 0, groups ≥ 1")
    let (batch, cin, length) = (input[0], input[1], input[2])
    let (cout, cinPerGroup, k) = (weight[0], weight[1], weight[2])
    precondition(cin % groups == 0 && cout % groups == 0,
                 "\(op): channels in \(cin) / out \(cout) not divisible by groups \(groups)")
    precondition(cinPerGroup * groups == cin,
                 "\(op): weight \(weight) expects \(cinPerGroup * groups) input channels, input has \(cin)")
    precondition(k >= 1, "\(op): kernel size must be ≥ 1")
    let outLength = (length + 2 * padding - dilation * (k - 1) - 1) / stride + 1
    precondition(length + 2 * padding - dilation * (k - 1) - 1 >= 0,
                 "\(op): input length \(length) (+2·padding \(padding)) shorter than the kernel span \(dilation * (k - 1) + 1)")
    if let bias { precondition(bias.shape == [cout], "\(op): bias must be [\(cout)], got \(bias.shape)") }
    return ConvGeometry(batch: batch, groups: groups, xChannels: cin, yChannels: cout, xLength: length,
                        yLength: outLength, inner: inner, kernel: k, stride: stride, padding: padding,
                        dilation: dilation)
}

/// Forward + recorded backward of a (non-transposed) convolution.
private func convolution(name: String, input: Tensor, weight: Tensor, bias: Tensor?, geo: ConvGeometry,
                         outputShape: [Int]) -> Tensor {
    let out = Tensor(uninitialized: outputShape)
    ConvKernels.forward(geo, x: input.pointer, weight: weight.pointer, bias: bias?.pointer, y: out.pointer)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(name, output: out, inputs: inputs) { g in
        var gInput: Tensor?, gWeight: Tensor?, gBias: Tensor?
        if input.requiresGrad {
            let t = Tensor(uninitialized: input.shape)
            ConvKernels.backwardData(geo, y: g.pointer, weight: weight.pointer, x: t.pointer)
            gInput = t
        }
        if weight.requiresGrad {
            let t = Tensor(uninitialized: weight.shape)
            ConvKernels.backwardWeight(geo, x: input.pointer, dy: g.pointer, dWeight: t.pointer, accumulate: false)
            gWeight = t
        }
        if let bias, bias.requiresGrad {
            let t = Tensor(uninitialized: bias.shape)
            ConvKernels.backwardBias(dy: g.pointer, batch: geo.batch, channels: geo.yChannels,
                                     positions: geo.yLength * geo.inner, dBias: t.pointer)
            gBias = t
        }
        return [gInput, gWeight] + (bias == nil ? [] : [gBias])
    }
}
