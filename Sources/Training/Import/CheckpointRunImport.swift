import Foundation
import Formats
import Engine
import VITS

/// `vits import checkpoint`: a PyTorch checkpoint (reference `G_N.pth` [+ `D_N.pth`] or Piper's
/// Lightning `.ckpt`) → a run folder `vits finetune --from` accepts: `checkpoints/step-N/` with
/// `generator.safetensors` (+ `discriminator.safetensors`) and a verified `state.json`, plus
/// `config.json` when the architecture is known and `provenance.json` naming the source.
public enum CheckpointRunImporter {
    public struct Report: Sendable {
        public var layout: String
        public var step: Int
        public var folder: URL
        public var generatorTensors: Int
        public var discriminatorTensors: Int
        public var discriminatorSource: String?
        public var configWritten: Bool
        /// How the generator fits the config (nil without a config).
        public var generatorFit: LoadReport?
        /// Discriminator keys whose shapes do not fit the config (fine-tuning re-initialises them).
        public var discriminatorMisfits: [String]
        public var ignored: [String]
        public var learningRate: Double?

        public var lines: [String] {
            var out = ["read a \(layout) checkpoint at step \(step)"]
            out.append("generator: \(generatorTensors) tensors → \(folder.appendingPathComponent("generator.safetensors").path)")
            if discriminatorTensors > 0 {
                out.append("discriminator: \(discriminatorTensors) tensors from \(discriminatorSource ?? "the same file")")
            } else {
                out.append("discriminator: none (fine-tuning from this run initialises one)")
            }
            if let fit = generatorFit {
                out.append("generator vs config.json: \(fit.loaded.count) tensors fit, \(fit.missing.count) missing, \(fit.unexpected.count) unexpected")
            } else {
                out.append("config.json: not written (the checkpoint does not record its architecture; pass --config CONFIG.json). "
                           + "The run can be a `vits finetune --from` parent; synthesis and export need the config")
            }
            if !discriminatorMisfits.isEmpty {
                out.append("discriminator tensors that do not fit the config's discriminator: \(discriminatorMisfits.count) (e.g. \(discriminatorMisfits.prefix(3).joined(separator: ", "))); fine-tuning re-initialises them")
            }
            if let lr = learningRate { out.append("learning rate recorded: \(lr)") }
            if !ignored.isEmpty { out.append("not imported (training state of the other program): \(ignored.sorted().joined(separator: ", "))") }
            return out
        }
    }

    public static func importRun(file: URL, discriminatorFile: URL? = nil, config configURL: URL? = nil, to out: URL) throws -> Report {
        let fm = FileManager.default
        if let contents = try? fm.contentsOfDirectory(atPath: out.path), !contents.isEmpty {
            throw TrainingError.invalidArgument("\(out.path) exists and is not empty: choose a new run folder")
        }
        let checkpoint = try ImportedCheckpoint.read(file)
        guard let generator = checkpoint.generator else {
            throw TrainingError.invalidArgument("\(file.path) holds a discriminator only: import the generator checkpoint (G_N.pth) and pass this file as --discriminator")
        }
        var discriminator = checkpoint.discriminator
        var discriminatorSource: String? = nil
        var dFile = discriminatorFile
        if dFile == nil, checkpoint.layout == .referencePth {
            // The reference trainer writes G_N.pth and D_N.pth side by side.
            let name = file.lastPathComponent
            if name.hasPrefix("G_") {
                let sibling = file.deletingLastPathComponent().appendingPathComponent("D_" + name.dropFirst(2))
                if fm.fileExists(atPath: sibling.path) { dFile = sibling }
            }
        }
        if let dFile {
            let d = try ImportedCheckpoint.read(dFile)
            guard let weights = d.discriminator else {
                throw TrainingError.invalidArgument("\(dFile.path) holds no discriminator (discriminators.* keys)")
            }
            discriminator = weights
            discriminatorSource = dFile.path
        }
        // The config: given, or Piper's hyper-parameters.
        var configData: Data? = nil
        if let configURL {
            guard let data = fm.contents(atPath: configURL.path) else { throw TrainingError.invalidArgument("cannot read \(configURL.path)") }
            configData = data
        } else if let hp = checkpoint.hyperParameters {
            configData = hp.referenceConfig()
        }
        var fit: LoadReport? = nil
        var dMisfits: [String] = []
        if let configData {
            let config = try VITSConfig.parse(configData, source: configURL?.path ?? "\(file.path) (hyper_parameters)")
            guard let emb = generator["enc_p.emb.weight"], emb.rank == 2 else {
                throw TrainingError.corrupt("\(file.path): no enc_p.emb.weight [symbols, hidden] in the generator")
            }
            let model = SynthesizerTrn(config: config, vocabularySize: emb.shape[0], generator: RandomGenerator(seed: 0))
            let report = try model.load(generator, strict: false)
            guard report.unexpected.isEmpty, report.shapeMismatched.isEmpty, report.missing.isEmpty else {
                var problems: [String] = []
                if !report.missing.isEmpty { problems.append("missing \(report.missing.prefix(4).joined(separator: ", "))") }
                if !report.unexpected.isEmpty { problems.append("unexpected \(report.unexpected.prefix(4).joined(separator: ", "))") }
                if !report.shapeMismatched.isEmpty { problems.append("shape mismatch \(report.shapeMismatched.prefix(4).map(\.description).joined(separator: ", "))") }
                throw TrainingError.configMismatch("\(file.path): the generator does not fit the config: " + problems.joined(separator: "; "))
            }
            fit = report
            if let discriminator {
                let d = try MultiPeriodDiscriminator(config: config, generator: RandomGenerator(seed: 0))
                let own = d.stateDict()
                dMisfits = discriminator.keys.filter { own[$0]?.shape != discriminator[$0]?.shape }.sorted()
            }
        }
        let step = checkpoint.step ?? 0
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        if let configData { try configData.write(to: out.appendingPathComponent("config.json"), options: .atomic) }
        var provenance: JSONValue = ["kind": "import", "source": .string(file.standardizedFileURL.path),
                                     "layout": .string(checkpoint.layout.rawValue),
                                     "imported": .string(ISO8601DateFormatter().string(from: Date()))]
        if let discriminatorSource { provenance.set("discriminator_source", .string(discriminatorSource)) }
        try JSONFile.encode(provenance).write(to: out.appendingPathComponent("provenance.json"), options: .atomic)
        let store = try CheckpointStore(root: out.appendingPathComponent("checkpoints"))
        let folder = try store.write(step: step) { dir in
            try TensorFile.save(generator.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                to: dir.appendingPathComponent("generator.safetensors"))
            if let discriminator {
                try TensorFile.save(discriminator.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                    to: dir.appendingPathComponent("discriminator.safetensors"))
            }
            var imported: JSONValue = ["source": .string(file.standardizedFileURL.path), "layout": .string(checkpoint.layout.rawValue),
                                       "step": .int(Int64(step))]
            if let lr = checkpoint.learningRate { imported.set("learning_rate", .double(lr)) }
            return try JSONWriter(style: .compact, sortedKeys: true).data(["imported": imported])
        }
        _ = try store.load(step: step)
        return Report(layout: checkpoint.layout.rawValue, step: step, folder: folder, generatorTensors: generator.count,
                      discriminatorTensors: discriminator?.count ?? 0, discriminatorSource: discriminatorSource,
                      configWritten: configData != nil, generatorFit: fit, discriminatorMisfits: dMisfits,
                      ignored: checkpoint.ignored, learningRate: checkpoint.learningRate)
    }
}
