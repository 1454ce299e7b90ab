import Foundation
import Formats
import Engine

/// The architecture and training settings of a Piper voice, named as Piper's `VitsModel` names them
/// (`hyper_parameters` of a Lightning checkpoint), and their translation into our reference-format
/// config (train / data / model sections of jaywalnut310/vits's config.json).
///
/// Defaults are Piper's (`piper_train/vits/lightning.py`, `config.py`): a key a checkpoint or an
/// ONNX file does not determine takes Piper's value.
public struct PiperHyperParameters: Sendable, Equatable {
    public var numSymbols: Int
    public var numSpeakers: Int = 1
    public var resblock: String = "2"
    public var resblockKernelSizes: [Int] = [3, 5, 7]
    public var resblockDilationSizes: [[Int]] = [[1, 2], [2, 6], [3, 12]]
    public var upsampleRates: [Int] = [8, 8, 4]
    public var upsampleInitialChannel: Int = 256
    public var upsampleKernelSizes: [Int] = [16, 16, 8]
    public var filterLength: Int = 1024
    public var hopLength: Int = 256
    public var winLength: Int = 1024
    public var melChannels: Int = 80
    public var sampleRate: Int = 22050
    public var melFmin: Double = 0
    public var melFmax: Double? = nil
    public var interChannels: Int = 192
    public var hiddenChannels: Int = 192
    public var filterChannels: Int = 768
    public var nHeads: Int = 2
    public var nLayers: Int = 6
    public var kernelSize: Int = 3
    public var pDropout: Double = 0.1
    public var nLayersQ: Int = 3
    public var useSpectralNorm: Bool = false
    public var ginChannels: Int = 0
    public var useSDP: Bool = true
    public var segmentSize: Int = 8192
    public var learningRate: Double = 2e-4
    public var betas: [Double] = [0.8, 0.99]
    public var eps: Double = 1e-9
    public var batchSize: Int = 1
    public var lrDecay: Double = 0.999875
    public var cMel: Double = 45
    public var cKl: Double = 1
    public var seed: Int = 1234

    public init(numSymbols: Int) { self.numSymbols = numSymbols }

    /// From a Lightning checkpoint's `hyper_parameters` (unknown keys are ignored; absent keys keep Piper's defaults).
    public init(lightning h: [String: Any]) throws(ModelImportError) {
        guard let symbols = (h["num_symbols"] as? NSNumber)?.intValue, symbols > 0 else {
            throw .corrupt("the checkpoint's hyper_parameters lack a positive num_symbols (not a Piper checkpoint?)")
        }
        self.init(numSymbols: symbols)
        func int(_ k: String) -> Int? { (h[k] as? NSNumber)?.intValue }
        func double(_ k: String) -> Double? { (h[k] as? NSNumber)?.doubleValue }
        func ints(_ k: String) -> [Int]? { (h[k] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } }
        numSpeakers = int("num_speakers") ?? numSpeakers
        if let r = h["resblock"] as? String { resblock = r } else if let r = int("resblock") { resblock = String(r) }
        resblockKernelSizes = ints("resblock_kernel_sizes") ?? resblockKernelSizes
        if let d = h["resblock_dilation_sizes"] as? [Any] {
            resblockDilationSizes = d.map { (($0 as? [Any]) ?? []).compactMap { ($0 as? NSNumber)?.intValue } }
        }
        upsampleRates = ints("upsample_rates") ?? upsampleRates
        upsampleInitialChannel = int("upsample_initial_channel") ?? upsampleInitialChannel
        upsampleKernelSizes = ints("upsample_kernel_sizes") ?? upsampleKernelSizes
        filterLength = int("filter_length") ?? filterLength
        hopLength = int("hop_length") ?? hopLength
        winLength = int("win_length") ?? winLength
        melChannels = int("mel_channels") ?? melChannels
        sampleRate = int("sample_rate") ?? sampleRate
        melFmin = double("mel_fmin") ?? melFmin
        melFmax = double("mel_fmax")
        interChannels = int("inter_channels") ?? interChannels
        hiddenChannels = int("hidden_channels") ?? hiddenChannels
        filterChannels = int("filter_channels") ?? filterChannels
        nHeads = int("n_heads") ?? nHeads
        nLayers = int("n_layers") ?? nLayers
        kernelSize = int("kernel_size") ?? kernelSize
        pDropout = double("p_dropout") ?? pDropout
        nLayersQ = int("n_layers_q") ?? nLayersQ
        func bool(_ k: String) -> Bool? { (h[k] as? Bool) ?? (h[k] as? NSNumber)?.boolValue }
        useSpectralNorm = bool("use_spectral_norm") ?? useSpectralNorm
        ginChannels = int("gin_channels") ?? ginChannels
        // Piper's VitsModel: a multi-speaker model without gin_channels gets 512.
        if numSpeakers > 1, ginChannels <= 0 { ginChannels = 512 }
        useSDP = bool("use_sdp") ?? useSDP
        segmentSize = int("segment_size") ?? segmentSize
        learningRate = double("learning_rate") ?? learningRate
        if let b = h["betas"] as? [Any] { betas = b.compactMap { ($0 as? NSNumber)?.doubleValue } }
        eps = double("eps") ?? eps
        batchSize = int("batch_size") ?? batchSize
        lrDecay = double("lr_decay") ?? lrDecay
        cMel = double("c_mel") ?? cMel
        cKl = double("c_kl") ?? cKl
        seed = int("seed") ?? seed
    }

    /// The reference-format config (JSON text) of this architecture. Piper feeds the model phoneme
    /// ids with its own `_` padding, so `add_blank` is false.
    public func referenceConfig() -> Data {
        func int(_ v: Int) -> JSONValue { .int(Int64(v)) }
        func ints(_ v: [Int]) -> JSONValue { .array(v.map(int)) }
        let train: JSONValue = [
            "log_interval": 200, "eval_interval": 1000, "seed": int(seed), "epochs": 10000, "learning_rate": .double(learningRate),
            "betas": .array(betas.map(JSONValue.double)), "eps": .double(eps), "batch_size": int(batchSize), "fp16_run": false,
            "lr_decay": .double(lrDecay), "segment_size": int(segmentSize), "init_lr_ratio": 1, "warmup_epochs": 0,
            "c_mel": .double(cMel), "c_kl": .double(cKl),
        ]
        let data: JSONValue = [
            "text_cleaners": [], "max_wav_value": 32768.0, "sampling_rate": int(sampleRate),
            "filter_length": int(filterLength), "hop_length": int(hopLength), "win_length": int(winLength),
            "n_mel_channels": int(melChannels), "mel_fmin": .double(melFmin), "mel_fmax": melFmax.map(JSONValue.double) ?? .null,
            "add_blank": false, "n_speakers": int(numSpeakers > 1 ? numSpeakers : 0), "cleaned_text": true,
        ]
        let model: JSONValue = [
            "inter_channels": int(interChannels), "hidden_channels": int(hiddenChannels), "filter_channels": int(filterChannels),
            "n_heads": int(nHeads), "n_layers": int(nLayers), "kernel_size": int(kernelSize), "p_dropout": .double(pDropout),
            "resblock": .string(resblock), "resblock_kernel_sizes": ints(resblockKernelSizes),
            "resblock_dilation_sizes": .array(resblockDilationSizes.map(ints)), "upsample_rates": ints(upsampleRates),
            "upsample_initial_channel": int(upsampleInitialChannel), "upsample_kernel_sizes": ints(upsampleKernelSizes),
            "n_layers_q": int(nLayersQ), "use_spectral_norm": .bool(useSpectralNorm),
            "gin_channels": int(numSpeakers > 1 ? ginChannels : 0), "use_sdp": .bool(useSDP),
        ]
        // A non-finite value (a damaged checkpoint) cannot be written: empty data, which parsing then reports.
        return (try? JSONFile.encode(["train": train, "data": data, "model": model] as JSONValue)) ?? Data()
    }

    public func config(source: String) throws(ModelImportError) -> VITSConfig {
        do { return try VITSConfig.parse(referenceConfig(), source: source) } catch {
            throw .unsupported("\(source): the architecture read from the file is not one this VITS builds: \(error)")
        }
    }
}

/// Weight helpers shared by the importers.
public enum ImportedWeights {
    /// The name a weight-normalised parameter has in a Piper/ONNX file: the pair `X.weight_g` /
    /// `X.weight_v` is stored folded, as one `X.weight` (Piper removes weight norm before exporting,
    /// and the exporter folds what is left). Every other key is stored under its own name. The import
    /// splits `X.weight` back (`weightNormPair`); `vits export --format piper` folds into it.
    public static func foldedKey(_ key: String) -> String {
        key.hasSuffix(".weight_g") || key.hasSuffix(".weight_v") ? String(key.dropLast(2)) : key
    }

    /// `w` as weight norm's pair: v = w, g = ‖w‖ over every axis but 0, so g·v/‖v‖ = w.
    /// An all-zero row gets g = 0 and v = 1 (its weight stays 0, the norm stays finite).
    public static func weightNormPair(_ w: Tensor) -> (g: Tensor, v: Tensor) {
        let rows = w.shape[0], n = w.count / max(rows, 1)
        var gShape = [rows]
        gShape.append(contentsOf: [Int](repeating: 1, count: w.shape.count - 1))
        let g = Tensor(zeros: gShape)
        let v = Tensor(shape: w.shape, data: Array(UnsafeBufferPointer(start: w.pointer, count: w.count)))
        for r in 0..<rows {
            var s = 0.0
            for j in 0..<n { let x = Double(w.pointer[r * n + j]); s += x * x }
            if s == 0 {
                for j in 0..<n { v.pointer[r * n + j] = 1 }
            } else {
                g.pointer[r] = Float(s.squareRoot())
            }
        }
        return (g, v)
    }

    /// Keys a Piper ONNX file cannot hold: modules the exported inference graph never runs
    /// (the duration predictor's posterior flows and the first spline flow, which the reference's
    /// reverse pass drops) and the posterior encoder.
    public static func isAbsentFromInferenceGraph(_ key: String) -> Bool {
        key.hasPrefix("enc_q.") || key.hasPrefix("dp.post_") || key.hasPrefix("dp.flows.1.")
    }
}
