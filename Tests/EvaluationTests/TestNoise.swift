import Cores
import Foundation

/// Deterministic N(0, 1) draws for the tests (SplitMix64 + Box–Muller).
struct TestNoise {
    var bits: SplitMix64
    init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    mutating func uniform() -> Double { bits.nextOpenUnit() }

    mutating func nextGaussian() -> Double {
        let u = uniform(), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
