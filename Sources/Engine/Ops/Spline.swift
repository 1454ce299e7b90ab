import Foundation

/// Monotonic rational-quadratic spline with linear tails (Durkan et al. 2019, "Neural Spline Flows"),
/// as used by the VITS stochastic duration predictor's ConvFlow
/// (`piecewise_rational_quadratic_transform(..., tails="linear")`).
///
/// Built from differentiable engine ops only (softmax, cumsum, pad, concat, gather, where…), so
/// gradients reach the inputs and all three parameter tensors through the ordinary tape.
public enum RationalQuadraticSpline {
    /// The reference's smallest bin width and height (fraction of the interval) and smallest knot slope.
    public static let minimumBinSize: Float = 1e-3
    public static let minimumDerivative: Float = 1e-3

    /// Transforms `inputs` (any shape S) elementwise. `widths` and `heights` are unnormalized bin
    /// parameters [S…, K]; `derivatives` are the K−1 unnormalized interior knot slopes [S…, K−1]
    /// (the two boundary slopes are fixed to 1 for the linear tails). Inputs outside
    /// [−tailBound, tailBound] pass through unchanged with log|det| 0.
    /// Returns the outputs (shape S) and log|d output / d input| (shape S); with `inverse`, the
    /// inverse map and the log|det| of the inverse (the negated forward one).
    public static func transform(_ inputs: Tensor, widths: Tensor, heights: Tensor, derivatives: Tensor,
                                 inverse: Bool = false, tailBound: Float = 5,
                                 minBinWidth: Float = minimumBinSize, minBinHeight: Float = minimumBinSize,
                                 minDerivative: Float = minimumDerivative)
        -> (outputs: Tensor, logAbsDet: Tensor) {
        let k = widths.shape.last ?? 0
        precondition(widths.shape == inputs.shape + [k] && heights.shape == widths.shape,
                     "spline widths/heights must be inputs.shape + [bins], got \(widths.shape), \(heights.shape) for \(inputs.shape)")
        precondition(derivatives.shape == inputs.shape + [k - 1],
                     "spline derivatives must be inputs.shape + [bins − 1], got \(derivatives.shape)")
        precondition(Float(k) * minBinWidth < 1 && Float(k) * minBinHeight < 1, "minimal bin width/height too large for \(k) bins")

        let inside = noGrad { inputs.greaterEqual(-tailBound) * inputs.lessEqual(tailBound) }
        // Evaluate the spline on clamped inputs everywhere; `where` keeps it only inside the interval.
        let x = inputs.clamp(min: -tailBound, max: tailBound)
        // Boundary slopes fixed to 1: softplus(c) + minDerivative = 1.
        let boundary = Float(Foundation.log(Foundation.exp(1 - Double(minDerivative)) - 1))
        let paddedDerivatives = derivatives.padded(axis: -1, before: 1, after: 1, value: boundary)

        let (y, logDet) = interior(x, widths, heights, paddedDerivatives, inverse: inverse, bound: tailBound,
                                   minBinWidth: minBinWidth, minBinHeight: minBinHeight, minDerivative: minDerivative)
        let outputs = Tensor.where(inside, y, inputs)
        let logAbsDet = Tensor.where(inside, logDet, Tensor(scalar: 0))
        return (outputs, logAbsDet)
    }

    /// Knot positions: bins from a softmax with a minimum size, accumulated onto [lo, hi] with
    /// exact end points. Returns (knots [S…, K+1], bin sizes [S…, K]).
    static func knots(_ unnormalized: Tensor, lo: Float, hi: Float, minSize: Float) -> (Tensor, Tensor) {
        let k = unnormalized.shape.last!
        let sizes = unnormalized.softmax(axis: -1) * (1 - minSize * Float(k)) + minSize
        let cum = sizes.cumsum(axis: -1) * (hi - lo) + lo
        let lead = Array(unnormalized.shape.dropLast())
        let knots = Tensor.concat([Tensor(repeating: lo, shape: lead + [1]),
                                   cum.slice(axis: -1, start: 0, end: k - 1),
                                   Tensor(repeating: hi, shape: lead + [1])], axis: -1)
        let binSizes = knots.slice(axis: -1, start: 1) - knots.slice(axis: -1, start: 0, end: k)
        return (knots, binSizes)
    }

    static func interior(_ x: Tensor, _ uw: Tensor, _ uh: Tensor, _ ud: Tensor, inverse: Bool, bound: Float,
                         minBinWidth: Float, minBinHeight: Float, minDerivative: Float) -> (Tensor, Tensor) {
        let (cumWidths, widths) = knots(uw, lo: -bound, hi: bound, minSize: minBinWidth)
        let (cumHeights, heights) = knots(uh, lo: -bound, hi: bound, minSize: minBinHeight)
        let slopes = ud.softplus() + minDerivative

        // Bin index = (number of knots ≤ x) − 1, the last knot nudged up so x = bound lands in the last bin.
        let bin: IntTensor = noGrad {
            let search = (inverse ? cumHeights : cumWidths).copy()
            let k1 = search.shape.last!, p = search.pointer
            for r in 0..<(search.count / k1) { p[r * k1 + k1 - 1] += 1e-6 }
            let counts = x.unsqueezed(-1).greaterEqual(search).sum(axis: -1, keepDim: true)
            return IntTensor(rounding: counts - 1)
        }
        let binPlusOne = IntTensor(shape: bin.shape, values: bin.values.map { $0 + 1 })
        func pick(_ t: Tensor, _ index: IntTensor = bin) -> Tensor { t.gather(axis: -1, index: index).squeezed(-1) }

        let x0 = pick(cumWidths), w = pick(widths)
        let y0 = pick(cumHeights), h = pick(heights)
        let delta = pick(heights / widths)
        let d0 = pick(slopes), d1 = pick(slopes, binPlusOne)
        let curvature = d0 + d1 - delta * 2        // d_k + d_{k+1} − 2δ

        let theta: Tensor
        let outputs: Tensor
        if inverse {
            // Solve the rational quadratic for θ ∈ [0, 1] (numerically stable root).
            let dy = x - y0
            let a = dy * curvature + h * (delta - d0)
            let b = h * d0 - dy * curvature
            let c = -(delta * dy)
            let disc = b.square() - a * c * 4
            theta = (c * 2) / (-b - disc.clamp(min: 0).sqrt())
            outputs = theta * w + x0
        } else {
            theta = (x - x0) / w
            let t1t = theta * (1 - theta)
            let numerator = h * (delta * theta.square() + d0 * t1t)
            outputs = y0 + numerator / (delta + curvature * t1t)
        }
        let t1t = theta * (1 - theta)
        let denominator = delta + curvature * t1t
        let derivativeNumerator = delta.square() * (d1 * theta.square() + delta * t1t * 2 + d0 * (1 - theta).square())
        let logDet = derivativeNumerator.log() - denominator.log() * 2
        return (outputs, inverse ? -logDet : logDet)
    }
}
