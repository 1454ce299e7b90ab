import Foundation
import Engine
import Formats

/// The model weights of a PyTorch checkpoint, read without running Python (`TorchCheckpointFile`
/// with the restricted unpickler).
///
/// Layouts understood:
/// - jaywalnut310/vits `G_N.pth` / `D_N.pth`: `{"model": state_dict, "iteration", "optimizer", "learning_rate"}`;
///   whether it is a generator or a discriminator is told by its keys (`enc_p.…` or `discriminators.…`);
/// - Piper's Lightning `.ckpt`: `{"state_dict": {"model_g.…", "model_d.…"}, "hyper_parameters", "global_step", …}`;
/// - a bare state dict.
/// A `module.` prefix (a DataParallel wrapper) is removed.
public struct ImportedCheckpoint {
    public enum Layout: String, Sendable { case referencePth = "reference .pth", lightning = "Lightning .ckpt", stateDict = "state dict" }
    public var layout: Layout
    public var generator: [String: Tensor]?
    public var discriminator: [String: Tensor]?
    /// The architecture (Lightning checkpoints only).
    public var hyperParameters: PiperHyperParameters?
    /// `iteration` (reference) or `global_step` (Lightning).
    public var step: Int?
    public var learningRate: Double?
    /// Entries read but not imported (optimizer state, loops, callbacks): named in the load report.
    public var ignored: [String] = []

    public static func read(_ url: URL) throws -> ImportedCheckpoint {
        let file: TorchCheckpointFile
        do { file = try TorchCheckpointFile(url: url) } catch { throw ModelImportError.notACheckpoint("\(error)") }
        guard let root = file.root.dict else {
            throw ModelImportError.notACheckpoint("\(url.path): the checkpoint holds \(file.root), not a dict")
        }
        if let state = root["state_dict"]?.dict {
            var g: [String: Tensor] = [:], d: [String: Tensor] = [:]
            for (key, value) in state.stringKeyed {
                if key.hasPrefix("model_g.") {
                    g[String(key.dropFirst(8))] = try tensor(file, value, key)
                } else if key.hasPrefix("model_d.") {
                    d[String(key.dropFirst(8))] = try tensor(file, value, key)
                }
            }
            guard !g.isEmpty else {
                throw ModelImportError.notACheckpoint("\(url.path): a Lightning checkpoint without model_g.* weights (not a Piper VITS checkpoint)")
            }
            var out = ImportedCheckpoint(layout: .lightning, generator: g, discriminator: d.isEmpty ? nil : d)
            if let h = root["hyper_parameters"] { out.hyperParameters = try PiperHyperParameters(lightning: plain(h) as? [String: Any] ?? [:]) }
            if case .int(let s)? = root["global_step"] { out.step = Int(s) }
            out.ignored = root.stringKeyed.map(\.0).filter { $0 != "state_dict" && $0 != "hyper_parameters" }
            return out
        }
        let layout: Layout
        let state: PickleDict
        if let model = root["model"]?.dict {
            layout = .referencePth
            state = model
        } else {
            layout = .stateDict
            state = root
        }
        var weights: [String: Tensor] = [:]
        for (key, value) in state.stringKeyed {
            let name = key.hasPrefix("module.") ? String(key.dropFirst(7)) : key
            weights[name] = try tensor(file, value, key)
        }
        guard !weights.isEmpty else { throw ModelImportError.notACheckpoint("\(url.path): no tensors in the checkpoint's state dict") }
        var out = ImportedCheckpoint(layout: layout)
        if weights.keys.contains(where: { $0.hasPrefix("discriminators.") }) {
            out.discriminator = weights
        } else if weights.keys.contains("enc_p.emb.weight") {
            out.generator = weights
        } else {
            throw ModelImportError.notACheckpoint("\(url.path): the state dict is neither a VITS generator (enc_p.emb.weight) nor a discriminator (discriminators.*)")
        }
        if case .int(let i)? = root["iteration"] { out.step = Int(i) }
        out.learningRate = root["learning_rate"]?.number
        out.ignored = root.stringKeyed.map(\.0).filter { $0 != "model" && $0 != "iteration" && $0 != "learning_rate" }
        return out
    }

    static func tensor(_ file: TorchCheckpointFile, _ value: PickleValue, _ key: String) throws -> Tensor {
        guard let ref = value.tensor else { throw ModelImportError.corrupt("\(file.path): \(key) is \(value), not a tensor") }
        let values = try file.floats(ref, name: key)
        return Tensor(shape: ref.shape, data: values)
    }

    /// Plain Foundation values (for hyper-parameters): numbers, strings, lists, dicts; tensors become nil.
    static func plain(_ v: PickleValue) -> Any? {
        switch v {
        case .none: return nil
        case .bool(let b): return NSNumber(value: b)
        case .int(let i): return NSNumber(value: i)
        case .float(let f): return NSNumber(value: f)
        case .string(let s): return s
        case .tuple, .list: return (v.items ?? []).map { plain($0) ?? NSNull() }
        case .dict(let d):
            var out: [String: Any] = [:]
            for (k, x) in d.stringKeyed { if let p = plain(x) { out[k] = p } }
            return out
        default: return nil
        }
    }
}
