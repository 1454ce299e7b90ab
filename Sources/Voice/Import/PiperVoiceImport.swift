import Foundation
import Engine
import Formats
import Training
import VITS

/// The voice config Piper keeps beside `VOICE.onnx` (`VOICE.onnx.json`): the fields an import reads.
public struct PiperVoiceConfig: Sendable {
    public var sampleRate: Int
    public var noiseScale: Float
    public var lengthScale: Float
    public var noiseW: Float
    /// Phoneme → ids (Piper maps each phoneme to a list of ids, almost always one).
    public var phonemeIDMap: [String: [Int]]
    public var numSymbols: Int?
    public var numSpeakers: Int
    public var speakerIDMap: [String: Int]
    /// `espeak.voice` (`en-us`, `de`, …); nil for `phoneme_type: text` voices.
    public var espeakVoice: String?
    public var phonemeType: String
    /// The file as parsed (the one parse, through `Formats.JSONParser`), kept in the bundle's `piper.json`.
    public let document: JSONNode

    /// Reads `VOICE.onnx.json` through the toolkit's JSON layer (`Formats.JSONParser`): every problem
    /// is reported with its line and key path, all at once (`en_US.onnx.json:12: phoneme_id_map.a:
    /// expected a list of ids ≥ 0, found a string`).
    public init(url: URL) throws(VoiceError) {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .notAVoice("\(url.path): cannot read the Piper voice config (pass --config VOICE.onnx.json)")
        }
        let document: JSONNode
        do { document = try JSONParser.parse(data, allowByteOrderMark: true) } catch {
            throw .corrupt("\(url.path): not valid JSON: \(error)")
        }
        guard case .object(let members) = document.value else {
            throw .corrupt("\(url.path): expected a JSON object (Piper's voice config), found \(document.typeName)")
        }
        self.document = document
        let log = JSONIssueLog()
        let top = JSONSection(path: "", members: members, line: document.line, log: log)
        let audio = top.section("audio")
        let rate = audio?.int("sample_rate") ?? 0
        if let audio, audio.has("sample_rate"), rate <= 0 { audio.fail("sample_rate", "expected a sample rate > 0, found \(rate)") }
        let inference = top.section("inference", required: false)
        let noiseScale = Float(inference?.double("noise_scale", default: 0.667) ?? 0.667)
        let lengthScale = Float(inference?.double("length_scale", default: 1) ?? 1)
        let noiseW = Float(inference?.double("noise_w", default: 0.8) ?? 0.8)
        var ids: [String: [Int]] = [:]
        if let map = top.section("phoneme_id_map") {
            if map.members.isEmpty { top.fail("phoneme_id_map", "expected at least one phoneme") }
            for (phoneme, _) in map.members {
                let errorsBefore = log.errors.count
                let list = map.ints(phoneme)
                if log.errors.count == errorsBefore, list.isEmpty || list.contains(where: { $0 < 0 }) {
                    map.fail(phoneme, "expected a non-empty list of ids ≥ 0")
                }
                ids[phoneme] = list
            }
        }
        let numSymbols = top.optionalInt("num_symbols")
        let numSpeakers = top.int("num_speakers", default: 1)
        if top.has("num_speakers"), numSpeakers < 1 { top.fail("num_speakers", "expected a speaker count ≥ 1, found \(numSpeakers)") }
        var speakers: [String: Int] = [:]
        if let map = top.section("speaker_id_map", required: false) {
            for (name, _) in map.members {
                let errorsBefore = log.errors.count
                let id = map.int(name)
                if log.errors.count == errorsBefore, id < 0 { map.fail(name, "expected a speaker id ≥ 0, found \(id)") }
                speakers[name] = id
            }
        }
        let espeakVoice = top.section("espeak", required: false)?.optionalString("voice")
        let phonemeType = top.optionalString("phoneme_type") ?? "espeak"
        if !log.errors.isEmpty {
            let lines = log.errors.map { issue in "\(url.path)\(issue.line.map { ":\($0)" } ?? ""): \(issue)" }
            throw .corrupt(lines.joined(separator: "\n") + "\n(expected Piper's voice config: {\"audio\": {\"sample_rate\": 22050}, \"phoneme_id_map\": {\"a\": [14], …}, …})")
        }
        sampleRate = rate
        self.noiseScale = noiseScale
        self.lengthScale = lengthScale
        self.noiseW = noiseW
        phonemeIDMap = ids
        self.numSymbols = numSymbols
        self.numSpeakers = numSpeakers
        speakerIDMap = speakers
        self.espeakVoice = espeakVoice
        self.phonemeType = phonemeType
    }

    /// The voice's speakers, checked against the model's speaker embedding (`emb_g` rows;
    /// 1 without one): `num_speakers` must agree, every `speaker_id_map` id must be a row, and no
    /// two names may share one. Piper names speakers after its dataset; an id the map does not name
    /// is called `speakerN`. A single-speaker voice has no speaker list (unless the map names id 0).
    public func speakers(modelSpeakers: Int, source: String) throws(VoiceError) -> [VoiceManifest.Speaker] {
        guard numSpeakers == modelSpeakers || (modelSpeakers == 1 && numSpeakers <= 1) else {
            throw .inventoryMismatch("\(source): num_speakers is \(numSpeakers), but the model's speaker embedding (emb_g) has "
                                     + (modelSpeakers > 1 ? "\(modelSpeakers) rows" : "none (a single-speaker model)"))
        }
        var names = [String?](repeating: nil, count: modelSpeakers)
        for (name, id) in speakerIDMap.sorted(by: { $0.value == $1.value ? $0.key < $1.key : $0.value < $1.value }) {
            guard id < modelSpeakers else {
                throw .inventoryMismatch("\(source): speaker_id_map.\(name) is id \(id), but the model has "
                                         + (modelSpeakers > 1 ? "\(modelSpeakers) speakers (ids 0…\(modelSpeakers - 1))" : "a single speaker (id 0)"))
            }
            if let other = names[id] {
                throw .inventoryMismatch("\(source): speaker_id_map gives id \(id) to both \"\(other)\" and \"\(name)\"")
            }
            names[id] = name
        }
        if modelSpeakers == 1 { return names[0].map { [VoiceManifest.Speaker(id: 0, name: $0)] } ?? [] }
        let taken = Set(speakerIDMap.keys)
        return names.enumerated().map { id, name in
            var fallback = "speaker\(id)"
            while taken.contains(fallback) { fallback += "_" }
            return VoiceManifest.Speaker(id: id, name: name ?? fallback)
        }
    }

    /// The inventory: symbol of each id (`phoneme_id_map` inverted). Ids no phoneme maps to are
    /// named `<id N>`; a phoneme mapped to several ids names each of them.
    public func inventory(size: Int) throws(VoiceError) -> [String] {
        var symbols = (0..<size).map { "<id \($0)>" }
        for (phoneme, ids) in phonemeIDMap.sorted(by: { $0.key < $1.key }) {
            for id in ids {
                guard id < size else {
                    throw .inventoryMismatch("phoneme_id_map maps \"\(phoneme)\" to id \(id), but the model has \(size) symbols")
                }
                symbols[id] = phoneme
            }
        }
        return symbols
    }
}

/// `vits import piper`: a Piper voice (`VOICE.onnx` + `VOICE.onnx.json`) → a voice bundle.
public enum PiperVoiceImporter {
    public struct Report: Sendable {
        public var manifest: VoiceManifest
        public var parameters: Int
        /// Initializers stored under another name (`onnx::Conv_123`, weights named after a graph
        /// input) and the key recovered from the node that reads them.
        public var recovered: [(initializer: String, key: String)]
        /// Weight-normalised layers whose folded weight was split back into (weight_g, weight_v).
        public var weightNormSplit: Int
        /// Keys the ONNX graph does not hold (unused at inference): initialised, listed for fine-tuning.
        public var initialized: [String]
    }

    /// Name of the sidecar file with Piper's original config and what the import could not carry.
    public static let sidecarName = "piper.json"
    public static let frontendName = "piper-espeak"

    public static func importVoice(onnx: URL, config configURL: URL? = nil, to out: URL, name: String? = nil) throws -> Report {
        let configURL = configURL ?? URL(fileURLWithPath: onnx.path + ".json")
        let piper = try PiperVoiceConfig(url: configURL)
        let model: OnnxModel
        do { model = try OnnxModel(url: onnx) } catch { throw VoiceError.corrupt("\(error)") }
        guard model.inputs.contains("input"), model.inputs.contains("scales"), model.outputs.contains("output") else {
            throw VoiceError.notAVoice("\(onnx.path): not a Piper voice (its graph inputs are \(model.inputs), expected input, input_lengths, scales[, sid])")
        }
        let (raw, recovered, negated) = try namedWeights(model)
        var hp = try hyperParameters(raw, model: model, source: onnx.path)
        hp.sampleRate = piper.sampleRate
        if let n = piper.numSymbols, n != hp.numSymbols {
            throw VoiceError.inventoryMismatch("\(configURL.path) says num_symbols \(n), the model's embedding has \(hp.numSymbols) rows")
        }
        let config = try hp.config(source: onnx.path)
        let net = SynthesizerTrn(config: config, vocabularySize: hp.numSymbols, generator: RandomGenerator(seed: 0))
        var weights: [String: Tensor] = [:]
        var initialized: [String] = [], splits = 0
        var used = Set<String>()
        for (key, target) in net.stateDict().sorted(by: { $0.key < $1.key }) where !key.hasPrefix("enc_q.") {
            if let t = raw[key] {
                guard t.shape == target.shape else {
                    throw VoiceError.corrupt("\(onnx.path): \(key) has shape \(t.shape), the architecture read from the file needs \(target.shape)")
                }
                weights[key] = t; used.insert(key)
            } else if key.hasSuffix(".weight_g") || key.hasSuffix(".weight_v") {
                let base = ImportedWeights.foldedKey(key)
                guard let w = raw[base] else {
                    if ImportedWeights.isAbsentFromInferenceGraph(key) { weights[key] = target; initialized.append(key); continue }
                    throw VoiceError.corrupt("\(onnx.path): no weight for \(base) (neither \(key) nor a folded \(base))")
                }
                let (g, v) = ImportedWeights.weightNormPair(w)
                weights[key] = key.hasSuffix("_g") ? g : v
                used.insert(base)
                if key.hasSuffix("_g") { splits += 1 }
            } else if ImportedWeights.isAbsentFromInferenceGraph(key) {
                weights[key] = target; initialized.append(key)
            } else {
                throw VoiceError.corrupt("\(onnx.path): the graph holds no weight for \(key)")
            }
        }
        let unused = Set(raw.keys).subtracting(used)
        guard unused.isEmpty else {
            throw VoiceError.corrupt("\(onnx.path): weights that fit no parameter of the model: \(unused.sorted().prefix(8).joined(separator: ", "))")
        }
        _ = negated
        let symbols = try piper.inventory(size: hp.numSymbols)
        let speakers = try piper.speakers(modelSpeakers: hp.numSpeakers, source: configURL.path)
        if hp.numSpeakers > 1, !model.inputs.contains("sid") {
            throw VoiceError.corrupt("\(onnx.path): the graph has a speaker embedding (emb_g, \(hp.numSpeakers) speakers) but no `sid` input")
        }
        var inference = VoiceManifest.InferenceDefaults()
        inference.noiseScale = piper.noiseScale
        inference.lengthScale = piper.lengthScale
        inference.noiseScaleW = piper.noiseW
        let voiceName = name ?? out.lastPathComponent
        let notes = "imported from a Piper ONNX voice: no posterior encoder and no discriminator (fine-tuning initialises them); "
            + "\(initialized.count) duration-predictor tensors unused at inference were initialised"
        let manifest = VoiceManifest(
            name: voiceName, sampleRate: piper.sampleRate, config: String(decoding: hp.referenceConfig(), as: UTF8.self),
            inventory: .init(name: "piper:" + (piper.espeakVoice ?? piper.phonemeType), symbols: symbols), speakers: speakers,
            frontend: piper.phonemeType == "espeak" ? frontendName : "piper-" + piper.phonemeType, inference: inference,
            weightsDType: "F32",
            provenance: .init(corpus: nil, run: nil, step: nil, parentVoice: onnx.standardizedFileURL.path,
                              created: ISO8601DateFormatter().string(from: Date()), tool: "swiftvits import piper", notes: notes))
        _ = try VoiceLoader.build(manifest: manifest, weights: weights, source: .bundle(out), origin: onnx.path)
        let card = VoiceExporter.voiceCard(manifest: manifest, weights: weights)
            + "\n## Imported\n\nFrom the Piper voice `\(onnx.lastPathComponent)`. The bundle has no posterior encoder and no "
            + "discriminator (a Piper ONNX file does not hold them); `\(sidecarName)` keeps Piper's config.\n"
        try VoiceBundle.write(to: out, manifest: manifest, weights: weights, storage: .f32, card: card)
        let recoveredKeys = Dictionary(recovered.map { ($0.initializer, JSONValue.string($0.key)) }) { a, _ in a }
        let sidecar: JSONValue = [
            "piper_config": JSONValue(piper.document),
            "import": [
                "source": .string(onnx.standardizedFileURL.path), "posterior_encoder": false, "discriminator": false,
                "initialized": .array(initialized.map(JSONValue.string)), "recovered": .object(recoveredKeys),
            ],
        ]
        try JSONWriter(style: .pretty, sortedKeys: true).data(sidecar)
            .write(to: out.appendingPathComponent(sidecarName), options: .atomic)
        _ = try VoiceLoader.load(out)
        return Report(manifest: manifest, parameters: weights.values.reduce(0) { $0 + $1.count },
                      recovered: recovered, weightNormSplit: splits, initialized: initialized)
    }

    static let modulePrefixes = ["enc_p.", "dec.", "flow.", "dp.", "emb_g."]

    /// Every floating-point initializer under its module key. A parameter keeps its name when the
    /// exporter kept it; one it renamed (`onnx::Conv_6713` after folding weight norm, an embedding
    /// named after the unused `sid` input) is named from the node reading it: node
    /// `/flow/flows.0/enc/in_layers.3/Conv`, input 1 → `flow.flows.0.enc.in_layers.3.weight`.
    static func namedWeights(_ model: OnnxModel) throws(VoiceError)
        -> (weights: [String: Tensor], recovered: [(initializer: String, key: String)], negated: [String]) {
        var out: [String: Tensor] = [:], recovered: [(String, String)] = [], negated: [String] = []
        for initializer in model.initializers where initializer.isFloatingPoint {
            var key = initializer.name
            var values = initializer.values
            if !modulePrefixes.contains(where: { key.hasPrefix($0) }) {
                let readers = model.consumers(of: initializer.name)
                guard let (node, index) = readers.first else { continue }   // read by nothing: not a weight
                var parts = node.name.split(separator: "/").map(String.init)
                guard parts.count >= 2 else {
                    throw .corrupt("\(model.path): initializer \(initializer.name) is read by node '\(node.name)', whose name gives no module path")
                }
                parts.removeLast()
                let module = parts.joined(separator: ".")
                switch (node.opType, index) {
                case ("Conv", 1), ("ConvTranspose", 1), ("Gather", 0), ("MatMul", 1): key = module + ".weight"
                case ("Conv", 2), ("ConvTranspose", 2): key = module + ".bias"
                case ("Exp", 0):
                    // ElementwiseAffine's reverse pass reads exp(-logs): the exporter folded -logs.
                    key = module + ".logs"
                    values = values.map { -$0 }
                    negated.append(key)
                default:
                    throw .corrupt("\(model.path): cannot tell which parameter initializer \(initializer.name) is (read by \(node.opType) node '\(node.name)', input \(index))")
                }
                guard modulePrefixes.contains(where: { key.hasPrefix($0) }) else {
                    throw .corrupt("\(model.path): initializer \(initializer.name) maps to \(key), which is not a VITS generator parameter")
                }
                recovered.append((initializer.name, key))
            }
            guard out[key] == nil else { throw .corrupt("\(model.path): two initializers map to \(key)") }
            out[key] = Tensor(shape: initializer.shape, data: values)
        }
        return (out, recovered, negated)
    }

    /// The architecture, from the weights' shapes and the decoder nodes' strides and dilations.
    static func hyperParameters(_ w: [String: Tensor], model: OnnxModel, source: String) throws(VoiceError) -> PiperHyperParameters {
        func need(_ key: String) throws(VoiceError) -> [Int] {
            guard let t = w[key] else { throw .corrupt("\(source): no \(key) in the graph (not a VITS/Piper voice?)") }
            return t.shape
        }
        let emb = try need("enc_p.emb.weight")
        var hp = PiperHyperParameters(numSymbols: emb[0])
        hp.hiddenChannels = emb[1]
        hp.interChannels = try need("enc_p.proj.weight")[0] / 2
        hp.nLayers = (0...).prefix { w["enc_p.encoder.attn_layers.\($0).conv_q.weight"] != nil }.count
        let rel = try need("enc_p.encoder.attn_layers.0.emb_rel_k")
        guard rel.count == 3, rel[2] > 0, hp.hiddenChannels % rel[2] == 0 else { throw .corrupt("\(source): unexpected emb_rel_k shape \(rel)") }
        hp.nHeads = hp.hiddenChannels / rel[2]
        let ffn = try need("enc_p.encoder.ffn_layers.0.conv_1.weight")
        hp.filterChannels = ffn[0]
        hp.kernelSize = ffn[2]
        hp.useSDP = w["dp.conv_1.weight"] == nil
        hp.upsampleInitialChannel = try need("dec.conv_pre.weight")[0]
        let stages = (0...).prefix { w["dec.ups.\($0).weight"] != nil }.count
        hp.upsampleKernelSizes = try (0..<stages).map { (i) throws(VoiceError) -> Int in try need("dec.ups.\(i).weight")[2] }
        hp.upsampleRates = try (0..<stages).map { (i) throws(VoiceError) -> Int in
            guard let s = model.nodes.first(where: { $0.name == "/dec/ups.\(i)/ConvTranspose" })?.ints["strides"]?.first else {
                throw .corrupt("\(source): no /dec/ups.\(i)/ConvTranspose node with strides")
            }
            return s
        }
        hp.hopLength = hp.upsampleRates.reduce(1, *)
        hp.filterLength = max(1024, hp.hopLength * 4)
        hp.winLength = hp.filterLength
        let resblocks = (0...).prefix { w["dec.resblocks.\($0).convs.0.weight"] != nil || w["dec.resblocks.\($0).convs1.0.weight"] != nil }.count
        guard stages > 0, resblocks % stages == 0 else { throw .corrupt("\(source): \(resblocks) resblocks for \(stages) upsampling stages") }
        let perStage = resblocks / stages
        let kindOne = w["dec.resblocks.0.convs1.0.weight"] != nil
        hp.resblock = kindOne ? "1" : "2"
        let convName = kindOne ? "convs1" : "convs"
        hp.resblockKernelSizes = try (0..<perStage).map { (j) throws(VoiceError) -> Int in try need("dec.resblocks.\(j).\(convName).0.weight")[2] }
        hp.resblockDilationSizes = (0..<perStage).map { j in
            (0...).prefix { w["dec.resblocks.\(j).\(convName).\($0).weight"] != nil }.map { m in
                model.nodes.first { $0.name == "/dec/resblocks.\(j)/\(convName).\(m)/Conv" }?.ints["dilations"]?.first ?? 1
            }
        }
        if let g = w["emb_g.weight"] {
            hp.numSpeakers = g.shape[0]
            hp.ginChannels = g.shape[1]
        }
        return hp
    }
}
