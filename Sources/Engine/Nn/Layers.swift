import Foundation

/// y = x·Wᵀ + b over the last axis. PyTorch layout and init: weight [out, in], bias [out], both
/// uniform in ±1/√in.
public final class Linear: Module {
    @ParameterInfo(key: "weight") public private(set) var weight: Tensor
    @ParameterInfo(key: "bias") public private(set) var bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias hasBias: Bool = true, generator: RandomGenerator) {
        _weight.wrappedValue = generator.fanInUniform([outFeatures, inFeatures], fanIn: inFeatures)
        _bias.wrappedValue = hasBias ? generator.fanInUniform([outFeatures], fanIn: inFeatures) : nil
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = Tensor.matmul(x, weight, transposeB: true)
        return bias.map { y + $0 } ?? y
    }
}

/// Lookup table [count, dim] (PyTorch init N(0, 1); VITS re-initializes with N(0, dim^-½): pass `std`).
public final class Embedding: Module {
    @ParameterInfo(key: "weight") public private(set) var weight: Tensor

    public init(_ count: Int, _ dim: Int, std: Float = 1, generator: RandomGenerator) {
        _weight.wrappedValue = generator.normal([count, dim], std: std)
        super.init()
    }

    public func callAsFunction(_ ids: IntTensor) -> Tensor { Tensor.embedding(weight, ids) }
}

/// Inverted dropout, active only in training mode; masks come from the generator it was given.
public final class Dropout: Module {
    public let p: Float
    public let generator: RandomGenerator

    public init(_ p: Float, generator: RandomGenerator) {
        self.p = p
        self.generator = generator
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.dropout(p, training: isTraining, generator: generator) }
}
