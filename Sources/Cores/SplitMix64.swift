/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
/// tiny, fast, statistically solid, its whole state one word. The one seedable integer source of the
/// project for everything that must be reproducible bit for bit without the engine's tensor RNG:
/// the data order (`BucketSampler`), the split of a prepared corpus, the analysis noise floor of the
/// evaluator, the probe weights of `GradientCheck`, the parity fixtures' portable weights.
public struct SplitMix64: Sendable {
    public static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= Self.golden
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound without modulo bias (Lemire's method).
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Uniform in the open interval (0, 1) from the top 53 bits (never 0, so log() of it is finite).
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) / Double(1 << 53)
    }

    /// Uniform in [−1, 1) from the top 53 bits.
    public mutating func nextSigned() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }

    /// Fisher–Yates with `next(below:)`.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, next(below: i + 1)) }
    }
}
