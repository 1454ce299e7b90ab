import Foundation
import CKernels
import Cores

/// Raw-buffer entry points to the vectorized C kernels, split over the cores. For ops written
/// elsewhere in the engine (exp/log/tanh/sigmoid/softplus tensors): call these on `Tensor.pointer`s.
public enum VectorMath {
    /// A C kernel of the shape `f(src, dst, n)` (ck_exp, ck_log, ck_tanh, ck_sigmoid, ck_softplus).
    public typealias Unary = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    /// A C backward helper `f(a, g, dx, n)` (ck_tanh_backward, ck_sigmoid_backward, ck_softplus_backward).
    public typealias Binary = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?,
                                              UnsafeMutablePointer<Float>?, Int) -> Void

    public static func apply(_ kernel: Unary, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                             count: Int) {
        Parallel.forRanges(count, minChunk: elementwiseChunk) { r in
            kernel(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
    }

    public static func apply(_ kernel: Binary, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                             _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, minChunk: elementwiseChunk) { r in
            kernel(a + r.lowerBound, b + r.lowerBound, dst + r.lowerBound, r.count)
        }
    }

    public static let exp: Unary = ck_exp
    public static let log: Unary = ck_log
    public static let tanh: Unary = ck_tanh
    public static let sigmoid: Unary = ck_sigmoid
    public static let softplus: Unary = ck_softplus
    /// dx = g·(1 − y²) from y = tanh(x)
    public static let tanhBackward: Binary = ck_tanh_backward
    /// dx = g·y·(1 − y) from y = sigmoid(x)
    public static let sigmoidBackward: Binary = ck_sigmoid_backward
    /// dx = g·sigmoid(x) (x ≤ 20), g (x > 20)
    public static let softplusBackward: Binary = ck_softplus_backward
}
