import Foundation
import Formats
import Engine
import Training
import VITS

/// Which checkpoint of a run to use.
public enum CheckpointChoice: Equatable, Sendable, CustomStringConvertible {
    /// The newest complete checkpoint (an older one when the newest fails verification).
    case latest
    /// The step recorded as best (`trainer.bestStep`) in the newest checkpoint's state.json, else the latest.
    case best
    case step(Int)

    /// Parses `latest`, `best` or a step number.
    public init?(argument: String) {
        switch argument {
        case "latest": self = .latest
        case "best": self = .best
        default:
            guard let n = Int(argument), n >= 0 else { return nil }
            self = .step(n)
        }
    }

    public var description: String {
        switch self {
        case .latest: return "latest"
        case .best: return "best"
        case .step(let n): return "step \(n)"
        }
    }
}

/// A training run folder as `vits train`/`finetune` write it (`Training.RunLayout`): `config.json`,
/// `inventory.json`, `speakers.json`, `provenance.json`, `checkpoints/step-NNNNNNNN/` with
/// `generator.safetensors` (+ `lora.safetensors` for LoRA fine-tunes) and `state.json`.
/// Read-only: nothing here writes to or cleans the run, so it is safe while a trainer is running.
public struct RunFolder: Sendable {
    public let root: URL
    public var checkpoints: URL { root.appendingPathComponent(RunLayout.checkpointsFolder) }

    public init(root: URL) { self.root = root }

    /// A folder is a run when it has `config.json` and a `checkpoints/` folder.
    public static func isRun(_ url: URL) -> Bool {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        return fm.fileExists(atPath: url.appendingPathComponent(RunLayout.configFile).path)
            && fm.fileExists(atPath: url.appendingPathComponent(RunLayout.checkpointsFolder).path, isDirectory: &isDir)
            && isDir.boolValue
    }

    /// A folder is a checkpoint when it has `state.json` and `generator.safetensors`.
    public static func isCheckpoint(_ url: URL) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: url.appendingPathComponent(RunLayout.stateFile).path)
            && fm.fileExists(atPath: url.appendingPathComponent(RunLayout.generatorFile).path)
    }

    public func checkpointFolder(step: Int) -> URL {
        checkpoints.appendingPathComponent(RunLayout.checkpointFolderName(step: step))
    }

    /// Steps of the complete checkpoints (those with a state.json), ascending.
    public func steps() -> [Int] { RunLayout.completeSteps(inCheckpoints: checkpoints) }

    // MARK: run-level files

    public func configData() throws(VoiceError) -> Data {
        try Self.read(root.appendingPathComponent(RunLayout.configFile), what: "the run's config")
    }

    /// `inventory.json` (`{"version", "symbols", "non_speech"}`, as `vits prepare` writes it).
    public func inventory() throws(VoiceError) -> VoiceManifest.Inventory {
        let url = root.appendingPathComponent(RunLayout.inventoryFile)
        let object = try Self.jsonObject(url, what: "the run's token inventory")
        let version = object.string("version")
        let symbols = object.strings("symbols", default: [])
        if object.log.errors.isEmpty, symbols.isEmpty { object.fail("symbols", "expected a non-empty list of symbols") }
        try Self.check(object, url)
        return .init(name: version, symbols: symbols)
    }

    /// The frontend that produces an inventory's tokens: `inventory.json`'s own `frontend` key when it
    /// has one, else derived from the version (`zh-*` → `mandarin`).
    public func frontend(for inventory: VoiceManifest.Inventory) -> String {
        if let object = try? Self.jsonObject(root.appendingPathComponent(RunLayout.inventoryFile), what: ""),
           let name = object.optionalString("frontend"), object.log.errors.isEmpty { return name }
        return Self.frontend(forInventory: inventory.name)
    }

    public static func frontend(forInventory version: String) -> String {
        if version.hasPrefix("zh-") { return "mandarin" }
        if version.hasPrefix("en-chars") { return "english-characters" }
        return "unknown"
    }

    /// `speakers.json` (`{"speakers": [{"id", "name", …}]}`); an absent file means one unnamed speaker.
    public func speakers() throws(VoiceError) -> [VoiceManifest.Speaker] {
        let url = root.appendingPathComponent(RunLayout.speakersFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let object = try Self.jsonObject(url, what: "the run's speaker list")
        var out: [VoiceManifest.Speaker] = []
        for entry in object.sections("speakers") { out.append(.init(id: entry.int("id"), name: entry.string("name"))) }
        try Self.check(object, url)
        return out.sorted { $0.id < $1.id }
    }

    /// How a run was trained, from `provenance.json` (written by `vits train`/`finetune`/`import`;
    /// every field optional). A value of the wrong type is an error naming the file, line and key.
    public struct Provenance: Sendable, Equatable {
        public struct LoRA: Sendable, Equatable {
            public var rank: Int?
            public var alpha: Double?
            public var targets: [String]
        }
        public var kind: String?
        public var corpus: String?
        public var parent: String?
        public var freeze: [String] = []
        public var lora: LoRA?
    }

    /// `provenance.json` (empty when the run has none).
    public func provenance() throws(VoiceError) -> Provenance {
        let url = root.appendingPathComponent(RunLayout.provenanceFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return Provenance() }
        let object = try Self.jsonObject(url, what: "the run's provenance")
        var p = Provenance()
        p.kind = object.optionalString("kind")
        p.corpus = object.optionalString("corpus")
        p.parent = object.optionalString("parent")
        p.freeze = object.strings("freeze", default: [])
        if !object.isNull("lora"), let lora = object.section("lora", required: false) {
            p.lora = .init(rank: lora.optionalInt("rank"),
                           alpha: lora.optionalDouble("alpha") ?? lora.optionalDouble("lora_alpha"),
                           targets: lora.strings("targets", default: []))
        }
        try Self.check(object, url)
        return p
    }

    // MARK: checkpoints

    /// `state.json` of a checkpoint folder.
    public static func state(_ folder: URL) throws(VoiceError) -> CheckpointState {
        do { return try CheckpointState.read(folder: folder) } catch { throw .corrupt(error.description) }
    }

    /// Checks the files a voice reads from checkpoint `folder` (`generator.safetensors`, and
    /// `lora.safetensors` when present or recorded) against the sizes and CRC-32C in its state.json.
    public static func verify(_ folder: URL) throws(VoiceError) {
        let state = try state(folder)
        let loraPresent = FileManager.default.fileExists(atPath: folder.appendingPathComponent(RunLayout.loraFile).path)
        let names = [RunLayout.generatorFile] + (loraPresent || state.files[RunLayout.loraFile] != nil ? [RunLayout.loraFile] : [])
        for name in names {
            do { try state.verify(name, in: folder) } catch { throw .corrupt(error.description) }
        }
    }

    /// The checkpoint folder for `choice`, verified. `latest` falls back to older checkpoints (each
    /// skipped one reported through `warn`); `best` and an explicit step do not.
    public func checkpoint(_ choice: CheckpointChoice, warn: (String) -> Void) throws(VoiceError) -> (step: Int, folder: URL) {
        let all = steps()
        guard let newest = all.last else {
            throw .notAVoice("\(root.path) has no complete checkpoint yet (no checkpoints/step-*/state.json)")
        }
        switch choice {
        case .step(let n):
            guard all.contains(n) else {
                throw .notAVoice("\(root.path) has no checkpoint at step \(n); available: \(all.map(String.init).joined(separator: ", "))")
            }
            try Self.verify(checkpointFolder(step: n))
            return (n, checkpointFolder(step: n))
        case .best:
            if let best = try Self.state(checkpointFolder(step: newest)).bestStep {
                if all.contains(best) {
                    try Self.verify(checkpointFolder(step: best))
                    return (best, checkpointFolder(step: best))
                }
                warn("the best step \(best) recorded in step \(newest)'s state.json has no checkpoint folder; using the latest")
            } else {
                warn("no best step recorded in step \(newest)'s state.json (no validation yet); using the latest")
            }
            return try checkpoint(.latest, warn: warn)
        case .latest:
            var problems: [String] = []
            for step in all.reversed() {
                do throws(VoiceError) {
                    try Self.verify(checkpointFolder(step: step))
                    return (step, checkpointFolder(step: step))
                } catch {
                    warn("checkpoint step \(step) is unusable (\(error)); trying an older one")
                    problems.append("step \(step): \(error)")
                }
            }
            throw .corrupt("no usable checkpoint in \(checkpoints.path): " + problems.joined(separator: "; "))
        }
    }

    /// The generator's inference weights of checkpoint `folder`: `generator.safetensors`, with the
    /// adapters of `lora.safetensors` (if any) merged in, without the posterior encoder.
    /// LoRA scale α/r: r comes from the adapter shapes, α from the file's `alpha` metadata or the
    /// run's `provenance.json` (`lora.alpha`).
    public func inferenceWeights(checkpoint folder: URL, config: VITSConfig) throws(VoiceError) -> [String: Tensor] {
        let generatorURL = folder.appendingPathComponent(RunLayout.generatorFile)
        var state = try Self.readTensors(generatorURL)
        let loraURL = folder.appendingPathComponent(RunLayout.loraFile)
        if FileManager.default.fileExists(atPath: loraURL.path) {
            let adapters = try Self.readTensors(loraURL)
            let alpha = try loraAlpha(file: loraURL)
            state = try Self.mergeLoRA(base: state, adapters: adapters, alpha: alpha, config: config, source: loraURL.path)
        }
        return state.filter { SynthesizerTrn.isInferenceKey($0.key) }
    }

    private func loraAlpha(file: URL) throws(VoiceError) -> Float {
        if let meta = try? TensorFile.metadata(file),
           let text = meta["alpha"] ?? meta["lora_alpha"], let a = Float(text) { return a }
        if let a = try provenance().lora?.alpha { return Float(a) }
        throw .corrupt("\(file.path): cannot merge the LoRA adapters: their alpha is neither in the file's metadata (\"alpha\") "
                       + "nor in \(root.appendingPathComponent(RunLayout.provenanceFile).path) (\"lora\": {\"alpha\": …})")
    }

    /// Builds the generator, loads `base` strictly, attaches an adapter of the stored rank to every
    /// layer that has one in `adapters`, loads them, and returns the merged plain state dict.
    public static func mergeLoRA(base: [String: Tensor], adapters: [String: Tensor], alpha: Float,
                                 config: VITSConfig, source: String) throws(VoiceError) -> [String: Tensor] {
        let vocabulary = try vocabularySize(base, source: source)
        let model = SynthesizerTrn(config: config, vocabularySize: vocabulary, generator: RandomGenerator(seed: 0))
        do { try model.load(base, strict: true) } catch {
            throw .corrupt("the checkpoint's generator does not match its config: \(error)")
        }
        let suffixA = ".lora.lora_A", suffixB = ".lora.lora_B"
        let layers = adapters.keys.filter { $0.hasSuffix(suffixA) }.map { String($0.dropLast(suffixA.count)) }.sorted()
        guard !layers.isEmpty else { throw .corrupt("\(source) holds no *.lora.lora_A tensors") }
        let rng = RandomGenerator(seed: 0)
        for path in layers {
            guard let a = adapters[path + suffixA], let b = adapters[path + suffixB] else {
                throw .corrupt("\(source): \(path) has lora_A but no lora_B")
            }
            guard let layer = model.module(at: path) as? WeightedLayer else {
                throw .corrupt("\(source): \(path) is not a convolution or linear layer of this model")
            }
            guard a.rank == 2, b.rank == 2, a.shape[0] == b.shape[1], a.shape[0] >= 1 else {
                throw .corrupt("\(source): \(path) adapters have shapes \(a.shape) and \(b.shape), expected [r, in] and [out, r]")
            }
            layer.attachLoRA(rank: a.shape[0], alpha: alpha, generator: rng)
        }
        let adapterKeys = model.loraStateDict()
        let extra = Set(adapters.keys).subtracting(adapterKeys.keys)
        guard extra.isEmpty else { throw .corrupt("\(source): unexpected tensors \(extra.sorted().prefix(5))") }
        do { try model.load(base.merging(adapters) { x, _ in x }, strict: true) } catch {
            throw .corrupt("\(source): adapters do not fit the model: \(error)")
        }
        return model.mergedStateDict()
    }

    // MARK: helpers

    static func vocabularySize(_ weights: [String: Tensor], source: String) throws(VoiceError) -> Int {
        guard let emb = weights["enc_p.emb.weight"], emb.rank == 2 else {
            throw .corrupt("\(source): no enc_p.emb.weight [vocabulary, hidden] tensor: not VITS generator weights")
        }
        return emb.shape[0]
    }

    static func readTensors(_ url: URL) throws(VoiceError) -> [String: Tensor] {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .corrupt("\(url.path) is missing") }
        do { return try TensorFile.load(url) } catch { throw .corrupt("\(url.path): unreadable weights (\(error))") }
    }

    static func read(_ url: URL, what: String) throws(VoiceError) -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .notAVoice("\(url.path) is missing or unreadable (\(what))")
        }
        return data
    }

    /// A run file's top-level object, read through the Formats JSON layer.
    static func jsonObject(_ url: URL, what: String) throws(VoiceError) -> JSONSection {
        let data = try read(url, what: what)
        do { return try JSONFile.object(data, file: url.path) } catch { throw .corrupt("\(error) (\(what))") }
    }

    /// Throws what reading a section logged, with file, line and key.
    static func check(_ object: JSONSection, _ url: URL) throws(VoiceError) {
        do { try JSONFile.check(object.log, file: url.path) } catch { throw .corrupt(error.description) }
    }
}
