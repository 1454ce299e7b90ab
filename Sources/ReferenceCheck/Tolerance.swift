/// Every tolerance of `vits check-reference`, in one place (stated in its `--help` and docs/vits.md §8).
///
/// Relative errors are `max|ours − ref| / max|ref|` per tensor. The numbers come from the fixtures'
/// README: the reference's own float32 run against a float64 recomputation stays ≤ 1.1e-5 on forward
/// values and ≤ 3e-5 on gradients, so 1e-4 / 1e-3 leave room for a different summation order only.
public enum Tolerance {
    /// Forward activations, losses, inference outputs and the forward values after the step
    /// (`step.y_d_hat_*`, `step.loss_*`): relative 1e-4. No outliers.
    public static let forward = 1e-4
    /// Gradients (`grad.*`, `dgrad.*`, `step.grad_norm_*`): relative 1e-3.
    public static let gradient = 1e-3
    /// A gradient above `gradient` but at most this is a kink-crossing outlier (a pre-activation on
    /// the other side of a leaky-ReLU / |·| / clamp kink changes its layer's gradient by up to ~1%).
    public static let outlier = 5e-2
    /// At most this many outliers over the whole check, `step.*` included.
    public static let maxOutliers = 5
    /// Analytically zero gradients (`grad.*attn_layers.*.conv_k.bias`) and all-zero references: absolute.
    public static let absoluteZero = 1e-6
    /// Sampled tensors' `.stats` (Σx, Σ|x|, Σx², min, max): the tensor's own relative tolerance.
    public static func stats(for name: String) -> Double {
        name.hasPrefix("grad.") || name.hasPrefix("dgrad.") ? gradient : forward
    }

    /// Rounding slack per parameter value after the AdamW step: 4 float32 ulps (2⁻²⁴ relative each),
    /// two implementations of `p·(1 − lr·wd) − lr·m̂/(√v̂ + ε)` differing in operation order.
    public static let updateRoundingUlps = 4.0

    /// The sign-flip rule for `step.*_param_stats`.
    ///
    /// AdamW's first step moves each value by `lr·g/(|g| + ε)` (bias-corrected m̂ = g, √v̂ = |g|),
    /// which lies in (−lr, lr) whatever g is: ours and the reference's update of one value differ by
    /// at most 2·lr, and only where the two gradients can differ in sign or be of the order of ε. Our
    /// gradients agree with the reference to `τ·max|g|` per tensor (τ = the tensor's measured error, at
    /// least `gradient`), so that can only happen for values with |g| ≤ τ·max|g| ("rounding-noise"
    /// gradients). Counting those, k per tensor, bounds each row of the stats:
    /// Σx and Σ|x| by 2·lr·k, Σx² by Σ over those values of (2·|x|·2·lr + 4·lr²), min and max by 2·lr
    /// when k > 0 — each plus `updateRoundingUlps` of rounding on every value.
    public struct ParameterStatsBound {
        public var sum: Double, sumAbs: Double, sumSquares: Double, extreme: Double
        /// The number of values whose gradient is rounding noise (may take the other update sign).
        public var noisy: Int

        /// `values` after our step; `noisy[i]` tells whether value i's gradient was rounding noise.
        public init(values: UnsafePointer<Float>, count: Int, noisy isNoisy: (Int) -> Bool, learningRate lr: Double) {
            let ulp = Tolerance.updateRoundingUlps * 0x1p-24
            var k = 0, flipSquares = 0.0, sumAbs = 0.0, sumSq = 0.0, maxAbs = 0.0
            for i in 0..<count {
                let x = Double(values[i])
                sumAbs += abs(x); sumSq += x * x; maxAbs = max(maxAbs, abs(x))
                if isNoisy(i) { k += 1; flipSquares += 2 * abs(x) * 2 * lr + 4 * lr * lr }
            }
            noisy = k
            sum = 2 * lr * Double(k) + ulp * sumAbs
            self.sumAbs = sum
            sumSquares = flipSquares + 2 * ulp * sumSq
            extreme = (k > 0 ? 2 * lr : 0) + ulp * maxAbs
        }
    }

    /// The rules in words, from the constants above (printed by `vits check-reference --help`).
    public static let summary = """
        discrete tensors exact; forward values, losses, inference and the forward values after the step \
        (step.y_d_hat_*, step.loss_*) \(forward)·max|ref|; gradients and step.grad_norm_* \(gradient)·max|ref|, \
        with at most \(maxOutliers) kink-crossing outliers up to \(outlier) in the whole check (step.* included); \
        analytically-zero gradients and all-zero references absolute \(absoluteZero); step.*_param_stats by the \
        sign-flip rule: a value whose gradient is rounding noise (|g| ≤ max(\(gradient), the tensor's measured \
        error)·max|g|) may take the other AdamW update sign and move 2·lr, so with k such values a row's Σx and \
        Σ|x| may differ by 2·lr·k, Σx² by Σ(4·lr·|x| + 4·lr²) over them, min/max by 2·lr (k > 0), plus \
        \(Int(updateRoundingUlps)) float32 ulps of rounding per value
        """
}
