import Foundation
import CKernels
import Cores

// Fused elementwise ops for VITS's hot patterns (vectorized C kernels, split over the cores).

/// Elements per work chunk of elementwise kernels: below this, dispatch costs more than it saves.

/// VITS `fused_add_tanh_sigmoid_multiply` after its add: for a [B, 2H, T],
///     out[b, h, t] = tanh(a[b, h, t] + c[b, h]) · sigmoid(a[b, H + h, t] + c[b, H + h])
/// where the optional `condition` c is [B, 2H, 1] (the WN layer's speaker conditioning slice,
/// broadcast over time). Returns [B, H, T]. tanh and sigmoid are recomputed in backward instead of
/// being stored.
public func tanhSigmoidGate(_ a: Tensor, condition: Tensor? = nil) -> Tensor {
    precondition(a.rank == 3 && a.shape[1] % 2 == 0, "tanhSigmoidGate: input must be [B, 2H, T], got \(a.shape)")
    let (batch, twoH, length) = (a.shape[0], a.shape[1], a.shape[2])
    let hidden = twoH / 2
    if let condition {
        precondition(condition.shape == [batch, twoH, 1],
                     "tanhSigmoidGate: condition must be [\(batch), \(twoH), 1], got \(condition.shape)")
    }
    let out = Tensor(uninitialized: [batch, hidden, length])
    let op = out.pointer
    let rows = batch &* hidden
    let ap = a.pointer, cp = condition?.pointer
    Parallel.forRanges(rows, minChunk: max(1, elementwiseChunk / max(1, length))) { range in
        for r in range {
            let b = r / hidden, h = r % hidden
            let tanhRow = b &* twoH &+ h, sigmoidRow = tanhRow &+ hidden
            ck_gate(ap + tanhRow &* length, ap + sigmoidRow &* length,
                    cp?[tanhRow] ?? 0, cp?[sigmoidRow] ?? 0, op + r &* length, length)
        }
    }
    let inputs = [a] + (condition.map { [$0] } ?? [])
    return Tensor.record("tanhSigmoidGate", output: out, inputs: inputs) { g in
        let ap = a.pointer, cp = condition?.pointer
        let da = Tensor(uninitialized: a.shape)
        let dap = da.pointer, gp = g.pointer
        Parallel.forRanges(rows, minChunk: max(1, elementwiseChunk / max(1, length))) { range in
            for r in range {
                let b = r / hidden, h = r % hidden
                let tanhRow = b &* twoH &+ h, sigmoidRow = tanhRow &+ hidden
                ck_gate_backward(ap + tanhRow &* length, ap + sigmoidRow &* length,
                                 cp?[tanhRow] ?? 0, cp?[sigmoidRow] ?? 0, gp + r &* length,
                                 dap + tanhRow &* length, dap + sigmoidRow &* length, length)
            }
        }
        var dCondition: Tensor?
        if let condition, condition.requiresGrad {
            // The condition was broadcast over t: its gradient sums da over t.
            let dc = Tensor(uninitialized: condition.shape)
            for row in 0..<(batch &* twoH) { dc.pointer[row] = ck_sum(dap + row &* length, length) }
            dCondition = dc
        }
        return [a.requiresGrad ? da : nil] + (condition == nil ? [] : [dCondition])
    }
}

/// Leaky ReLU as `F.leaky_relu(x, slope)`: x > 0 ? x : slope·x. Gradient at 0 is `slope`, as PyTorch.
public func leakyRelu(_ x: Tensor, slope: Float) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let op = out.pointer, xp = x.pointer
    Parallel.forRanges(x.count, minChunk: elementwiseChunk) { r in
        ck_leaky_relu(xp + r.lowerBound, op + r.lowerBound, r.count, slope)
    }
    return Tensor.record("leakyRelu", output: out, inputs: [x]) { g in
        let xp = x.pointer
        let dx = Tensor(uninitialized: x.shape)
        let gp = g.pointer, dp = dx.pointer
        Parallel.forRanges(x.count, minChunk: elementwiseChunk) { r in
            ck_leaky_relu_backward(xp + r.lowerBound, gp + r.lowerBound, dp + r.lowerBound, r.count, slope)
        }
        return [dx]
    }
}

/// (x + y) · mask with x, y [B, C, T] and mask [B, 1, T] (VITS: `x = (x + res) * x_mask`).
/// The mask is a constant: it receives no gradient.
public func addMasked(_ x: Tensor, _ y: Tensor, mask: Tensor) -> Tensor {
    precondition(x.rank == 3 && y.shape == x.shape, "addMasked: x and y must be the same [B, C, T], got \(x.shape), \(y.shape)")
    let (batch, channels, length) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(mask.shape == [batch, 1, length], "addMasked: mask must be [\(batch), 1, \(length)], got \(mask.shape)")
    let out = Tensor(uninitialized: x.shape)
    let xp = x.pointer, yp = y.pointer, mp = mask.pointer, op = out.pointer
    Parallel.forRanges(batch &* channels, minChunk: max(1, elementwiseChunk / max(1, length))) { range in
        for row in range {
            let m = mp + (row / channels) &* length, base = row &* length
            let a = xp + base, b = yp + base, o = op + base
            var t = 0
            while t < length { o[t] = (a[t] + b[t]) * m[t]; t &+= 1 }
        }
    }
    return Tensor.record("addMasked", output: out, inputs: [x, y]) { g in
        let mp = mask.pointer      // captures `mask`: it must outlive the forward call
        let d = Tensor(uninitialized: x.shape)
        let gp = g.pointer, dp = d.pointer
        Parallel.forRanges(batch &* channels, minChunk: max(1, elementwiseChunk / max(1, length))) { range in
            for row in range {
                let m = mp + (row / channels) &* length, base = row &* length
                let a = gp + base, o = dp + base
                var t = 0
                while t < length { o[t] = a[t] * m[t]; t &+= 1 }
            }
        }
        // Both inputs get the same gradient; ops never write into a gradient they received.
        return [x.requiresGrad ? d : nil, y.requiresGrad ? d : nil]
    }
}
