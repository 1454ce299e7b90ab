import Foundation
import Formats
import Engine
import Corpus
import VITS

/// What `vits train` and `vits finetune` share: the effective config (speaker count from the data),
/// the run folder with its frozen config, inventory, speakers and provenance, and the trainer.
public enum RunSetup {
    /// The config with `data.n_speakers` taken from the data folder when the config leaves it at 0,
    /// `train.max_steps` from `--max-steps`, as canonical JSON.
    public static func effectiveConfig(_ raw: Data, data: URL, maxSteps: Int?) throws -> Data {
        var root = try RunConfig.parse(raw, "the config")
        var dataSection = root["data"] ?? .object([])
        let speakers = try CorpusDataset(directory: data, split: nil).speakers.count
        if (dataSection["n_speakers"]?.intValue ?? 0) == 0 {
            dataSection.set("n_speakers", .int(Int64(speakers > 1 ? speakers : 0)))
        }
        root.set("data", dataSection)
        if let maxSteps {
            var train = root["train"] ?? .object([])
            train.set("max_steps", .int(Int64(maxSteps)))
            root.set("train", train)
        }
        return try JSONFile.encode(root)
    }

    /// Opens the run folder and records the data's inventory and speakers and the run's provenance
    /// the first time (later starts keep them: they describe the run, not the current data).
    public static func openRun(_ run: URL, config: Data, data: URL, provenance: JSONValue,
                               allowConfigChange: Bool, console: ConsoleReporter) throws -> RunDirectory {
        let dir = try RunDirectory.open(run, config: config, allowConfigChange: allowConfigChange, warn: { console.warning($0) })
        let fm = FileManager.default
        for name in [RunLayout.inventoryFile, RunLayout.speakersFile] {
            let target = dir.root.appendingPathComponent(name)
            if !fm.fileExists(atPath: target.path) {
                try Data(contentsOf: data.appendingPathComponent(name)).write(to: target, options: .atomic)
            } else if let mine = try? Data(contentsOf: target), let theirs = try? Data(contentsOf: data.appendingPathComponent(name)),
                      name == RunLayout.inventoryFile, mine != theirs {
                throw TrainingError.configMismatch("\(data.path)/\(name) differs from the one this run was started with (\(target.path)); token ids would not mean the same symbols")
            }
        }
        let prov = dir.root.appendingPathComponent(RunLayout.provenanceFile)
        if !fm.fileExists(atPath: prov.path) {
            var p = provenance
            p.set("corpus", .string(data.standardizedFileURL.path))
            p.set("started", .string(ISO8601DateFormatter().string(from: Date())))
            try JSONFile.encode(p).write(to: prov, options: .atomic)
        }
        return dir
    }

    /// Generator and discriminator weights of a fine-tuning parent that is a run folder (its newest
    /// verified checkpoint) or one checkpoint folder. (A voice bundle parent is read by the Voice
    /// layer, `FineTuneParent`, which calls this for the other kinds.)
    public static func parentWeights(_ url: URL, console: ConsoleReporter) throws -> (generator: [String: Tensor], discriminator: [String: Tensor]?, description: String) {
        let fm = FileManager.default
        var folder = url
        var label = url.path
        if fm.fileExists(atPath: url.appendingPathComponent(RunLayout.checkpointsFolder).path) {
            let store = try CheckpointStore(root: url.appendingPathComponent(RunLayout.checkpointsFolder))
            guard let newest = try store.loadNewest(warn: { console.warning($0) }) else {
                throw TrainingError.invalidArgument("\(url.path) has no checkpoint to fine-tune from")
            }
            folder = newest.url
            label = "\(url.lastPathComponent) step \(newest.step)"
        }
        let genURL = folder.appendingPathComponent(RunLayout.generatorFile)
        guard fm.fileExists(atPath: genURL.path) else {
            throw TrainingError.invalidArgument("\(url.path) is neither a voice bundle (voice.json), a run folder (checkpoints/) nor a checkpoint folder (generator.safetensors)")
        }
        if fm.fileExists(atPath: folder.appendingPathComponent(RunLayout.loraFile).path) {
            // The adapters' α/r lives in the run's provenance, not in the checkpoint: merge through export.
            throw TrainingError.invalidArgument("\(url.path) is a LoRA run: export it first (`vits export --run …`), which merges the adapters, and fine-tune from that voice")
        }
        let generator = try TensorFile.load(genURL)
        let discURL = folder.appendingPathComponent(RunLayout.discriminatorFile)
        let disc = fm.fileExists(atPath: discURL.path) ? try TensorFile.load(discURL) : nil
        return (generator, disc, label)
    }
}
