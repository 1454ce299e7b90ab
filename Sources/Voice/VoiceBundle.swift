import Foundation
import Engine
import VITS
import Formats

/// A ready-to-use voice: `voices/<name>/` with `voice.json` (audio parameters, the full model config,
/// phoneme inventory, speakers, frontend, inference defaults, provenance), `model.safetensors`
/// (inference weights only — no posterior encoder, no discriminator, LoRA merged; F16 or F32) and a
/// `README.md` voice card. Written by `vits export`, read by `vits synthesize`.
public struct VoiceManifest: Codable, Sendable, Equatable {
    public static let formatName = "swiftvits-voice"
    public static let formatVersion = 1

    public struct Inventory: Codable, Sendable, Equatable {
        public var name: String
        public var symbols: [String]
        public init(name: String, symbols: [String]) { self.name = name; self.symbols = symbols }
    }
    public struct Speaker: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public init(id: Int, name: String) { self.id = id; self.name = name }
    }
    public struct InferenceDefaults: Codable, Sendable, Equatable {
        public var noiseScale: Float = 0.667
        public var lengthScale: Float = 1
        public var noiseScaleW: Float = 0.8
        public init() {}
        enum CodingKeys: String, CodingKey { case noiseScale = "noise_scale", lengthScale = "length_scale", noiseScaleW = "noise_scale_w" }
    }
    public struct Provenance: Codable, Sendable, Equatable {
        public var corpus: String?
        public var run: String?
        public var step: Int?
        public var parentVoice: String?
        public var created: String
        public var tool: String
        public var notes: String?
        public init(corpus: String?, run: String?, step: Int?, parentVoice: String?, created: String, tool: String, notes: String? = nil) {
            self.corpus = corpus; self.run = run; self.step = step; self.parentVoice = parentVoice
            self.created = created; self.tool = tool; self.notes = notes
        }
        enum CodingKeys: String, CodingKey { case corpus, run, step, parentVoice = "parent_voice", created, tool, notes }
    }

    public var format: String = VoiceManifest.formatName
    public var formatVersion: Int = VoiceManifest.formatVersion
    public var name: String
    public var sampleRate: Int
    /// The reference-format config (train/data/model) the generator was built from, as JSON text.
    public var config: String
    public var inventory: Inventory
    public var speakers: [Speaker]
    /// Text frontend that produces the inventory's tokens (e.g. "mandarin").
    public var frontend: String
    public var inference: InferenceDefaults
    public var weightsFile: String = "model.safetensors"
    public var weightsDType: String
    public var provenance: Provenance

    public init(name: String, sampleRate: Int, config: String, inventory: Inventory, speakers: [Speaker],
                frontend: String, inference: InferenceDefaults = .init(), weightsDType: String, provenance: Provenance) {
        self.name = name; self.sampleRate = sampleRate; self.config = config; self.inventory = inventory
        self.speakers = speakers; self.frontend = frontend; self.inference = inference
        self.weightsDType = weightsDType; self.provenance = provenance
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", name, sampleRate = "sample_rate", config, inventory, speakers,
             frontend, inference, weightsFile = "weights_file", weightsDType = "weights_dtype", provenance
    }

    /// Resolves `--speaker` given as an id or a name.
    public func speakerID(_ value: String?) throws -> Int {
        guard let value else {
            if speakers.count > 1 { return speakers[0].id }
            return 0
        }
        if let id = Int(value), speakers.isEmpty ? id == 0 : speakers.contains(where: { $0.id == id }) { return id }
        if let s = speakers.first(where: { $0.name == value }) { return s.id }
        let known = speakers.isEmpty ? "0 (single-speaker voice)" : speakers.map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
        throw VoiceError.unknownSpeaker("unknown speaker '\(value)'; this voice has: \(known)")
    }
}

public enum VoiceError: Error, CustomStringConvertible, Equatable {
    case notAVoice(String)
    case unsupported(String)
    case unknownSpeaker(String)
    case inventoryMismatch(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .notAVoice(let m), .unsupported(let m), .unknownSpeaker(let m), .inventoryMismatch(let m), .corrupt(let m): return m
        }
    }
}

public enum VoiceBundle {
    public static func manifestURL(_ folder: URL) -> URL { folder.appendingPathComponent("voice.json") }

    public static func isVoice(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: manifestURL(folder).path)
    }

    public static func readManifest(_ folder: URL) throws -> VoiceManifest {
        let url = manifestURL(folder)
        guard let data = try? Data(contentsOf: url) else {
            throw VoiceError.notAVoice("\(folder.path) is not a voice bundle (no readable voice.json)")
        }
        let manifest: VoiceManifest
        do { manifest = try JSONFile.decode(VoiceManifest.self, from: data, file: url.path) } catch {
            throw VoiceError.corrupt("\(error) (not a valid voice manifest)")
        }
        guard manifest.format == VoiceManifest.formatName else {
            throw VoiceError.notAVoice("\(url.path): format is '\(manifest.format)', expected '\(VoiceManifest.formatName)'")
        }
        guard manifest.formatVersion <= VoiceManifest.formatVersion else {
            throw VoiceError.unsupported("\(url.path): voice format version \(manifest.formatVersion) is newer than this vits understands (\(VoiceManifest.formatVersion)); update vits")
        }
        return manifest
    }

    /// Writes a bundle atomically: into `<folder>.tmp-<pid>`, then swapped into place.
    public static func write(to folder: URL, manifest: VoiceManifest, weights: [String: Tensor],
                             storage: SafeTensorsStorageType, card: String) throws {
        let fm = FileManager.default
        let tmp = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        do {
            try TensorFile.save(weights.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                to: tmp.appendingPathComponent(manifest.weightsFile), storage: storage,
                                metadata: ["format": VoiceManifest.formatName, "voice": manifest.name])
            try JSONFile.encode(manifest).write(to: tmp.appendingPathComponent("voice.json"))
            try Data(card.utf8).write(to: tmp.appendingPathComponent("README.md"))
            if fm.fileExists(atPath: folder.path) {
                let old = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).old-\(getpid())")
                try fm.moveItem(at: folder, to: old)
                try fm.moveItem(at: tmp, to: folder)
                try? fm.removeItem(at: old)
            } else {
                try fm.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fm.moveItem(at: tmp, to: folder)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }

    /// The inference weights of a bundle (F16 files come back as Float32).
    public static func readWeights(_ folder: URL, manifest: VoiceManifest) throws -> [String: Tensor] {
        let url = folder.appendingPathComponent(manifest.weightsFile)
        do { return try TensorFile.load(url) } catch {
            throw VoiceError.corrupt("\(url.path): cannot read the voice's weights (\(error))")
        }
    }
}
