import Foundation
import Engine
import Training
import VITS

/// Where a voice was loaded from.
public enum VoiceSource: Equatable, Sendable {
    case bundle(URL)
    /// A checkpoint of a run folder (given as the run or as the checkpoint folder itself).
    case checkpoint(run: URL, folder: URL, step: Int)
}

/// A voice ready to synthesize: the generator in eval mode with inference weights, and its manifest
/// (for a run or checkpoint, a manifest built from the run's files).
public final class Voice {
    public let model: SynthesizerTrn
    public let manifest: VoiceManifest
    public let config: VITSConfig
    public let source: VoiceSource

    public init(model: SynthesizerTrn, manifest: VoiceManifest, config: VITSConfig, source: VoiceSource) {
        self.model = model; self.manifest = manifest; self.config = config; self.source = source
    }

    public var sampleRate: Int { config.data.samplingRate }
}

public enum VoiceLoader {
    /// Loads `url`: a voice bundle (`voice.json`), a run folder (the checkpoint `choice` picks), or a
    /// single checkpoint folder (`checkpoints/step-N/`, whose run folder is two levels up). Checkpoint
    /// files are verified against the sizes and CRC-32C recorded in their state.json.
    /// - Parameters:
    ///   - warn: receives fall-backs (a damaged newest checkpoint, no best step recorded).
    public static func load(_ url: URL, choice: CheckpointChoice = .latest,
                            warn: (String) -> Void = { _ in }) throws(VoiceError) -> Voice {
        let url = url.standardizedFileURL
        if VoiceBundle.isVoice(url) { return try loadBundle(url) }
        let (manifest, weights, source) = try checkpointVoice(url, choice: choice, warn: warn)
        return try build(manifest: manifest, weights: weights, source: source, origin: url.path)
    }

    /// The manifest and inference weights of a run or checkpoint folder (what `vits export` writes).
    public static func checkpointVoice(_ url: URL, choice: CheckpointChoice,
                                       warn: (String) -> Void) throws(VoiceError)
        -> (manifest: VoiceManifest, weights: [String: Tensor], source: VoiceSource) {
        let run: RunFolder, step: Int, folder: URL
        if RunFolder.isRun(url) {
            run = RunFolder(root: url)
            (step, folder) = try run.checkpoint(choice, warn: warn)
        } else if RunFolder.isCheckpoint(url) {
            if choice != .latest { warn("\(url.path) is a single checkpoint: --step \(choice) ignored") }
            run = RunFolder(root: url.deletingLastPathComponent().deletingLastPathComponent())
            try RunFolder.verify(url)
            folder = url
            step = (try? RunFolder.state(url))?.step ?? RunLayout.step(ofCheckpointFolder: url.lastPathComponent) ?? 0
        } else {
            throw .notAVoice("\(url.path) is neither a voice bundle (voice.json), a run folder (config.json + checkpoints/) "
                             + "nor a checkpoint folder (state.json + generator.safetensors)")
        }
        let configData = try run.configData()
        let config: VITSConfig
        do { config = try VITSConfig.parse(configData, source: run.root.appendingPathComponent(RunLayout.configFile).path) } catch {
            throw .corrupt("\(error)")
        }
        let inventory = try run.inventory()
        let speakers = try run.speakers()
        let provenance = try run.provenance()
        let weights = try run.inferenceWeights(checkpoint: folder, config: config)
        let created = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(RunLayout.stateFile).path))?[.modificationDate] as? Date
        let manifest = VoiceManifest(
            name: run.root.lastPathComponent, sampleRate: config.data.samplingRate,
            config: String(decoding: configData, as: UTF8.self), inventory: inventory, speakers: speakers,
            frontend: run.frontend(for: inventory), weightsDType: "F32",
            provenance: .init(corpus: provenance.corpus, run: run.root.path, step: step,
                              parentVoice: provenance.parent,
                              created: ISO8601DateFormatter().string(from: created ?? Date()),
                              tool: "swiftvits", notes: provenanceNotes(provenance)))
        return (manifest, weights, .checkpoint(run: run.root, folder: folder, step: step))
    }

    /// A one-line summary of how the run was trained (kind, frozen parts, LoRA).
    static func provenanceNotes(_ p: RunFolder.Provenance) -> String? {
        var parts: [String] = []
        if let kind = p.kind { parts.append(kind) }
        if !p.freeze.isEmpty { parts.append("frozen: " + p.freeze.joined(separator: ", ")) }
        if let lora = p.lora {
            var s = "LoRA"
            if let r = lora.rank { s += " rank \(r)" }
            if let a = lora.alpha { s += " alpha " + (a == a.rounded() && abs(a) < 1e15 ? String(Int(a)) : "\(a)") }
            if !lora.targets.isEmpty { s += " on " + lora.targets.joined(separator: ",") }
            parts.append(s + " (merged)")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    static func loadBundle(_ folder: URL) throws(VoiceError) -> Voice {
        let manifest: VoiceManifest, weights: [String: Tensor]
        do {
            manifest = try VoiceBundle.readManifest(folder)
            weights = try VoiceBundle.readWeights(folder, manifest: manifest)
        } catch let error as VoiceError { throw error } catch { throw .corrupt("\(folder.path): \(error)") }
        return try build(manifest: manifest, weights: weights, source: .bundle(folder), origin: folder.path)
    }

    /// Builds the generator for `manifest` and loads `weights` (every inference key, nothing else).
    public static func build(manifest: VoiceManifest, weights: [String: Tensor], source: VoiceSource,
                             origin: String) throws(VoiceError) -> Voice {
        let config: VITSConfig
        do { config = try VITSConfig.parse(Data(manifest.config.utf8), source: "\(origin) (voice config)") } catch {
            throw .corrupt("\(error)")
        }
        let vocabulary = try RunFolder.vocabularySize(weights, source: origin)
        guard vocabulary == manifest.inventory.symbols.count else {
            throw .inventoryMismatch("\(origin): the weights have \(vocabulary) symbols but the inventory '\(manifest.inventory.name)' has \(manifest.inventory.symbols.count)")
        }
        for (key, t) in weights.sorted(by: { $0.key < $1.key }) {
            let p = t.pointer
            for i in 0..<t.count where !p[i].isFinite {
                throw .corrupt("\(origin): weight \(key) holds a non-finite value (damaged weights file)")
            }
        }
        let model = SynthesizerTrn(config: config, vocabularySize: vocabulary, generator: RandomGenerator(seed: 0))
        let report: LoadReport
        do { report = try model.load(weights, strict: false) } catch { throw .corrupt("\(origin): \(error)") }
        let missing = report.missing.filter { SynthesizerTrn.isInferenceKey($0) }
        guard missing.isEmpty, report.unexpected.isEmpty, report.shapeMismatched.isEmpty else {
            var problems: [String] = []
            if !missing.isEmpty { problems.append("missing \(missing.count) (\(missing.prefix(3).joined(separator: ", ")))") }
            if !report.unexpected.isEmpty { problems.append("unexpected \(report.unexpected.count) (\(report.unexpected.prefix(3).joined(separator: ", ")))") }
            if !report.shapeMismatched.isEmpty { problems.append("shape mismatch \(report.shapeMismatched.prefix(3).map(\.description).joined(separator: ", "))") }
            throw .corrupt("\(origin): the weights do not fit the voice's config: " + problems.joined(separator: "; "))
        }
        model.eval()
        return Voice(model: model, manifest: manifest, config: config, source: source)
    }
}
