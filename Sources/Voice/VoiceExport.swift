import Foundation
import Engine
import Formats
import VITS

/// `vits export`: a run's checkpoint → a voice bundle (`voice.json`, `model.safetensors`, `README.md`).
public enum VoiceExporter {
    public struct Report: Sendable {
        public var step: Int
        public var checkpoint: URL
        public var tensors: Int
        public var parameters: Int
        public var weightsBytes: Int
        public var manifest: VoiceManifest
    }

    /// Exports checkpoint `choice` of `run` to `out`. The weights are the generator's inference keys
    /// (no posterior encoder, no discriminator, LoRA merged), F16 when `fp16`. The bundle is loaded
    /// back before the call returns, so a bundle that would not load is never left behind.
    @discardableResult
    public static func export(run: URL, choice: CheckpointChoice, to out: URL, name: String? = nil, fp16: Bool = false,
                              warn: (String) -> Void = { _ in }) throws -> Report {
        let run = run.standardizedFileURL
        guard RunFolder.isRun(run) || RunFolder.isCheckpoint(run) else {
            throw VoiceError.notAVoice("\(run.path) is not a run folder (config.json + checkpoints/) or a checkpoint folder")
        }
        var (manifest, weights, source) = try VoiceLoader.checkpointVoice(run, choice: choice, warn: warn)
        guard case let .checkpoint(_, folder, step) = source else { fatalError("checkpointVoice returns a checkpoint source") }
        manifest.name = name ?? out.lastPathComponent
        manifest.weightsDType = fp16 ? "F16" : "F32"
        manifest.provenance.created = ISO8601DateFormatter().string(from: Date())
        if fp16 {
            // F16 saturates at 65504: refuse rather than write infinities.
            for (key, t) in weights.sorted(by: { $0.key < $1.key }) {
                let p = t.pointer
                for i in 0..<t.count where abs(p[i]) > 65504 {
                    throw VoiceError.unsupported("\(key) holds \(p[i]), beyond the float16 range: export without --fp16")
                }
            }
        }
        // Validate before writing: the weights must build the voice's model.
        _ = try VoiceLoader.build(manifest: manifest, weights: weights, source: source, origin: folder.path)
        let card = voiceCard(manifest: manifest, weights: weights)
        try VoiceBundle.write(to: out, manifest: manifest, weights: weights, storage: fp16 ? .f16 : .f32, card: card)
        _ = try VoiceLoader.load(out)
        let size = (try? FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(manifest.weightsFile).path))?[.size] as? NSNumber
        return Report(step: step, checkpoint: folder, tensors: weights.count,
                      parameters: weights.values.reduce(0) { $0 + $1.count }, weightsBytes: size?.intValue ?? 0, manifest: manifest)
    }

    /// The README.md voice card: facts recorded in the manifest, nothing else.
    public static func voiceCard(manifest m: VoiceManifest, weights: [String: Tensor]) -> String {
        let config = try? VITSConfig.parse(Data(m.config.utf8))
        let parameters = weights.values.reduce(0) { $0 + $1.count }
        var s = "# Voice `\(m.name)`\n\n"
        s += "A SwiftVITS voice bundle: a VITS generator (\(formatCount(parameters)) inference parameters, \(m.weightsDType) weights) "
        s += "for text in the `\(m.frontend)` frontend, \(m.sampleRate) Hz mono output.\n\n"
        s += "```sh\nvits synthesize --voice \(m.name == "" ? "DIR" : "voices/\(m.name)") --text \"…\" -o out.wav\n```\n\n"
        s += "## Training\n\n"
        s += "| | |\n|---|---|\n"
        s += "| corpus | \(m.provenance.corpus.map { "`\($0)`" } ?? "not recorded") |\n"
        s += "| run | \(m.provenance.run.map { "`\($0)`" } ?? "not recorded") |\n"
        s += "| checkpoint step | \(m.provenance.step.map(String.init) ?? "not recorded") |\n"
        s += "| started from | \(m.provenance.parentVoice.map { "`\($0)`" } ?? "scratch (no parent recorded)") |\n"
        if let notes = m.provenance.notes { s += "| how | \(notes) |\n" }
        s += "| exported | \(m.provenance.created) by \(m.provenance.tool) |\n\n"
        s += "## Model\n\n"
        if let c = config {
            let md = c.model
            s += "- text encoder: \(md.nLayers) layers, hidden \(md.hiddenChannels), filter \(md.filterChannels), \(md.nHeads) heads\n"
            s += "- duration predictor: \(md.useSDP ? "stochastic" : "deterministic")\n"
            s += "- decoder: upsampling \(md.upsampleRates.map(String.init).joined(separator: "×")) from \(md.upsampleInitialChannel) channels, ResBlock\(md.resblock == .one ? "1" : "2")\n"
            s += "- audio: \(c.data.samplingRate) Hz, hop \(c.data.hopLength), n_fft \(c.data.filterLength)\(c.data.addBlank ? ", blanks between tokens" : "")\n"
        }
        s += "- token inventory: `\(m.inventory.name)` (\(m.inventory.symbols.count) symbols)\n"
        s += "- inference defaults: noise scale \(m.inference.noiseScale), length scale \(m.inference.lengthScale), noise scale w \(m.inference.noiseScaleW)\n\n"
        s += "## Speakers\n\n"
        if m.speakers.isEmpty {
            s += "One speaker (no speaker table).\n\n"
        } else {
            s += m.speakers.map { "- \($0.id): `\($0.name)`" }.joined(separator: "\n") + "\n\n"
        }
        s += "## Licence\n\n"
        s += "The run recorded no licence. This voice is derived from the corpus above; its use is governed by that corpus's licence.\n"
        return s
    }

    static func formatCount(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
