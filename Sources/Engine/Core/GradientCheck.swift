import Cores
import Foundation

/// Finite-difference verification of an operation's backward pass.
///
/// The scalar probed is L = Σ wᵢ·yᵢ over the op's output y with fixed pseudo-random weights w, so every
/// output element contributes with a distinct weight. The analytic gradient comes from `backward`, the
/// numeric one from central differences (L(x+ε) − L(x−ε)) / 2ε, accumulated in Double.
/// Used by the test suites and available to anyone writing a new op.
public enum GradientCheck {
    public struct InputReport: Sendable {
        public let analytic: [Float]
        public let numeric: [Float]
        /// max |analytic − numeric|
        public let maxAbsError: Float
        /// max |analytic − numeric| / max(max|numeric|, 1e-6)
        public let relativeError: Float
    }

    /// Checks d/d(inputs[k]) of `f` for every input with `requiresGrad`. Inputs without it get an empty report.
    /// `f` must be deterministic (same inputs → same output).
    public static func run(inputs: [Tensor], epsilon: Float = 1e-3, seed: UInt64 = 0x5EED,
                           _ f: ([Tensor]) -> Tensor) -> [InputReport] {
        for x in inputs { x.grad = nil }
        let probe = f(inputs)
        // Uniform in [-1, 1): deterministic, no dependency on the engine's RNG.
        var bits = SplitMix64(seed: seed)
        let weights = (0..<probe.count).map { _ in Float(bits.nextSigned()) }
        probe.backward(gradient: Tensor(shape: probe.shape, data: weights))

        func loss() -> Double {
            let y = noGrad { f(inputs) }
            var s = 0.0
            for i in 0..<y.count { s += Double(weights[i]) * Double(y.pointer[i]) }
            return s
        }

        return inputs.map { x in
            guard x.requiresGrad else {
                return InputReport(analytic: [], numeric: [], maxAbsError: 0, relativeError: 0)
            }
            let analytic = x.grad?.scalars ?? [Float](repeating: 0, count: x.count)
            var numeric = [Float](repeating: 0, count: x.count)
            for i in 0..<x.count {
                let original = x.pointer[i]
                x.pointer[i] = original + epsilon
                let up = loss()
                x.pointer[i] = original - epsilon
                let down = loss()
                x.pointer[i] = original
                numeric[i] = Float((up - down) / (2 * Double(epsilon)))
            }
            var maxAbs: Float = 0, scale: Float = 1e-6
            for i in 0..<x.count {
                maxAbs = max(maxAbs, abs(analytic[i] - numeric[i]))
                scale = max(scale, abs(numeric[i]))
            }
            return InputReport(analytic: analytic, numeric: numeric, maxAbsError: maxAbs, relativeError: maxAbs / scale)
        }
    }
}
