import Cores
import Engine
import VITS

/// The portable generator the parity fixtures use for discriminator `weight_v` tensors, which are
/// too big to ship (`../shared/reference/vits/*/discriminator_weight_v.json` describes it):
/// splitmix64 over a per-key base (FNV-1a of the key XOR seed·golden-ratio), 24 high bits per value,
/// mapped to uniform [-1/sqrt(fan_in), 1/sqrt(fan_in)) like PyTorch's default conv init.
public enum FixtureWeights {
    /// FNV-1a 64 over the UTF-8 bytes of `text`.
    public static func fnv1a64(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// float32(1/sqrt(fan_in)) with fan_in = product of all dimensions but the first.
    public static func bound(shape: [Int]) -> Float {
        let fanIn = shape.dropFirst().reduce(1, *)
        return Float(1.0 / Double(fanIn).squareRoot())
    }

    /// Fills `out[0..<count]` with the values of tensor `key` (C-contiguous order of its PyTorch shape).
    public static func fillWeightV(key: String, shape: [Int], seed: UInt64, into out: UnsafeMutablePointer<Float>) {
        let count = shape.reduce(1, *)
        let scale = bound(shape: shape) * 0x1p-24  // exact: a power-of-two scaling
        var bits = SplitMix64(seed: fnv1a64(key) ^ (seed &* SplitMix64.golden))  // value i: mix(base + (i+1)·golden)
        for i in 0..<count {
            let v = bits.next()
            let m = Int32(truncatingIfNeeded: v >> 40)  // 24-bit integer
            out[i] = Float(2 &* m &- (1 << 24)) * scale
        }
    }

    /// The tensor `key` of the given PyTorch shape, regenerated from the fixture seed.
    public static func weightV(key: String, shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor(uninitialized: shape)
        fillWeightV(key: key, shape: shape, seed: seed, into: t.pointer)
        return t
    }
}
