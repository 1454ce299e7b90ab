import Foundation
import Engine

/// What a fine-tune start did with the parent's weights, key by key.
public struct TransferReport: Sendable, Equatable, CustomStringConvertible {
    /// Copied as they are.
    public var loaded: [String] = []
    /// In the parent but not in the new model (e.g. the posterior encoder of a voice bundle that has none).
    public var skipped: [String] = []
    /// In the new model but not in the parent: keep their fresh initialization.
    public var missing: [String] = []
    /// Shapes differ along axis 0 only (a table with more or fewer rows: speakers, symbols): the
    /// overlapping rows were copied, new rows keep their initialization.
    public var reshaped: [ShapeMismatch] = []
    /// Shapes differ in another way: not copied.
    public var incompatible: [ShapeMismatch] = []

    public init() {}

    public var description: String {
        func list(_ xs: [String]) -> String { xs.prefix(12).joined(separator: ", ") + (xs.count > 12 ? ", … (\(xs.count - 12) more)" : "") }
        var lines = ["loaded \(loaded.count) tensors from the parent"]
        if !reshaped.isEmpty { lines.append("reshaped \(reshaped.count) (overlapping rows copied): \(list(reshaped.map(\.description)))") }
        if !missing.isEmpty { lines.append("new \(missing.count) (freshly initialized): \(list(missing))") }
        if !skipped.isEmpty { lines.append("skipped \(skipped.count) (not in this model): \(list(skipped))") }
        if !incompatible.isEmpty { lines.append("incompatible \(incompatible.count) (not copied): \(list(incompatible.map(\.description)))") }
        return lines.joined(separator: "\n")
    }
}

/// Starting a model from another model's weights, tolerant of the differences fine-tuning brings.
public enum WeightTransfer {
    /// Copies `source` into `model` in place. Keys in `reshapable` (or any key when `reshapeAny`)
    /// whose shapes differ only in the first axis get their overlapping rows copied.
    public static func transfer(_ source: [String: Tensor], into model: Module,
                                reshapable: Set<String> = [], reshapeAny: Bool = false) -> TransferReport {
        var report = TransferReport()
        let target = model.stateDict()
        for (key, dst) in target.sorted(by: { $0.key < $1.key }) {
            guard let src = source[key] else { report.missing.append(key); continue }
            if src.shape == dst.shape {
                dst.pointer.update(from: src.pointer, count: dst.count)
                report.loaded.append(key)
            } else if (reshapeAny || reshapable.contains(key)), src.rank == dst.rank, src.rank >= 1,
                      Array(src.shape.dropFirst()) == Array(dst.shape.dropFirst()) {
                let rowSize = dst.shape.dropFirst().reduce(1, *)
                let rows = min(src.shape[0], dst.shape[0])
                dst.pointer.update(from: src.pointer, count: rows * rowSize)
                report.reshaped.append(ShapeMismatch(key: key, expected: dst.shape, got: src.shape))
            } else {
                report.incompatible.append(ShapeMismatch(key: key, expected: dst.shape, got: src.shape))
            }
        }
        report.skipped = source.keys.filter { target[$0] == nil }.sorted()
        return report
    }
}

/// Named groups of parameters a fine-tune can freeze, mapped to key-path prefixes of the VITS
/// generator (`enc_p`, `dp`, `flow`, `enc_q`, `dec`) and the discriminator.
public enum FreezePreset: String, CaseIterable, Sendable {
    case textEncoder = "text-encoder"
    case durationPredictor = "duration-predictor"
    case flow
    case posteriorEncoder = "posterior-encoder"
    case decoder
    case discriminator

    /// Generator prefixes this preset freezes (the discriminator preset freezes the whole discriminator).
    public var generatorPrefixes: [String] {
        switch self {
        case .textEncoder: return ["enc_p"]
        case .durationPredictor: return ["dp"]
        case .flow: return ["flow"]
        case .posteriorEncoder: return ["enc_q"]
        case .decoder: return ["dec"]
        case .discriminator: return []
        }
    }

    /// Parses "text-encoder,flow" with a message listing the valid names.
    public static func parseList(_ text: String) throws -> [FreezePreset] {
        try text.split(separator: ",").map { raw in
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let p = FreezePreset(rawValue: name) else {
                throw TrainingError.invalidArgument("unknown freeze preset '\(name)'; choose from: \(FreezePreset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return p
        }
    }
}
