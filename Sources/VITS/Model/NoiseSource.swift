import Engine

/// Where the model's random draws come from. Training and synthesis draw from the engine RNG
/// (`GeneratorNoise`); parity checks replay the reference's recorded tensors (`ReplayNoise`).
/// Draw order is part of the contract (docs/vits.md §6): posterior, SDP (if any), slice in training;
/// SDP (if any), prior at inference.
public protocol NoiseSource: AnyObject {
    /// Standard normal samples of `shape`.
    func normal(_ shape: [Int]) throws -> Tensor
    /// Uniform [0, 1) samples of `shape`.
    func uniform(_ shape: [Int]) throws -> Tensor
}

/// Draws from an engine `RandomGenerator` (whose state a checkpoint saves).
public final class GeneratorNoise: NoiseSource {
    public let generator: RandomGenerator
    public init(_ generator: RandomGenerator) { self.generator = generator }
    public func normal(_ shape: [Int]) -> Tensor { generator.randn(shape) }
    public func uniform(_ shape: [Int]) -> Tensor { generator.rand(shape) }
}

/// Replays recorded draws in order, checking each shape.
public final class ReplayNoise: NoiseSource {
    public private(set) var remaining: [Tensor]
    public init(_ draws: [Tensor]) { remaining = draws }

    private func next(_ shape: [Int], _ kind: String) throws -> Tensor {
        guard !remaining.isEmpty else { throw ModelError.noise("the model asked for a \(kind) draw of shape \(shape) but no recorded draw is left") }
        let t = remaining.removeFirst()
        guard t.shape == shape else {
            throw ModelError.noise("the model asked for a \(kind) draw of shape \(shape); the next recorded draw has shape \(t.shape)")
        }
        return t
    }
    public func normal(_ shape: [Int]) throws -> Tensor { try next(shape, "normal") }
    public func uniform(_ shape: [Int]) throws -> Tensor { try next(shape, "uniform") }
}

/// Errors of the assembled model, with what to do about them.
public enum ModelError: Error, CustomStringConvertible {
    case noise(String)
    case input(String)
    case weights(String)

    public var description: String {
        switch self { case .noise(let m), .input(let m), .weights(let m): return m }
    }
}

/// Receives named intermediate tensors (reference module paths, e.g. `enc_q.enc`) for parity checks.
public typealias ModuleTrace = (String, Tensor) -> Void
