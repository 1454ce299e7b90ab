import Foundation

/// A dense, row-major Float32 tensor with an optional place in the autograd graph.
///
/// Tensors are reference types because the graph needs identity; treat them as immutable values
/// once they feed an operation (ops never write into their inputs). Parameters are the exception:
/// optimizers update them in place, outside of any recorded graph.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: Storage

    /// When true, backward() accumulates a gradient into `grad` (leaf) or through `node` (interior).
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf tensor that requires grad.
    public var grad: Tensor?
    /// The recorded operation that produced this tensor (nil for leaves and for results computed without grad).
    public internal(set) var node: GradNode?

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(Tensor.elementCount(shape) == storage.count,
                     "shape \(shape) holds \(Tensor.elementCount(shape)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// Zero-filled tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(zeroedCount: Tensor.elementCount(shape)), requiresGrad: requiresGrad)
    }

    /// Tensor whose elements are left uninitialized — only for kernels that write every element.
    public convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(uninitializedCount: Tensor.elementCount(shape)))
    }

    /// Tensor filled with `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
        self.requiresGrad = requiresGrad
    }

    /// Tensor copied from `data` (row-major), which must hold exactly product(shape) values.
    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(data.count == Tensor.elementCount(shape),
                     "data has \(data.count) values, shape \(shape) needs \(Tensor.elementCount(shape))")
        self.init(uninitialized: shape)
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: data.count) }
        }
        self.requiresGrad = requiresGrad
    }

    /// Scalar (rank-0) tensor.
    public convenience init(scalar value: Float, requiresGrad: Bool = false) {
        self.init(shape: [], data: [value], requiresGrad: requiresGrad)
    }

    /// A copy of the elements, row-major.
    public var scalars: [Float] { Array(storage.buffer) }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return pointer[0]
    }

    /// A new leaf tensor with the same values, detached from the graph (storage is shared, no copy).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A deep copy (new storage), detached from the graph.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
