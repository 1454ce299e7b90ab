import ArgumentParser
import Foundation
import Engine
import Training
import VITS

/// `vits bench checkpoint`: time a full training checkpoint (both models, both AdamW states) of a config.
struct BenchCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Write and read a full training checkpoint of a config (ljs_base: ~1 GB) and report time and size.",
        discussion: """
            Example:
              vits bench checkpoint --config Tests/VITSTests/Fixtures/configs/ljs_base.json --json
            """)

    @Option(name: .long, help: "VITS config.") var config: String
    @Option(name: .long, help: "Vocabulary size.") var vocabulary = 220
    @Option(name: .long, help: "Scratch folder (default: a temporary folder, removed afterwards).") var directory: String?
    @Flag(name: .long, help: "JSON output.") var json = false

    func run() throws {
        Engine.configure()
        let cfg: VITSConfig
        do { cfg = try VITSConfig.load(contentsOf: URL(fileURLWithPath: config)) } catch { throw CommandFailure("\(error)") }
        let rng = RandomGenerator(seed: 1)
        let g = SynthesizerTrn(config: cfg, vocabularySize: vocabulary, generator: rng)
        let d = try MultiPeriodDiscriminator(config: cfg, generator: rng)
        let optG = AdamW(parameters: g.trainableParameters(), learningRate: 2e-4, betas: (0.8, 0.99), eps: 1e-9, weightDecay: 0.01)
        let optD = AdamW(parameters: d.trainableParameters(), learningRate: 2e-4, betas: (0.8, 0.99), eps: 1e-9, weightDecay: 0.01)
        for (opt, params) in [(optG, g.parameters()), (optD, d.parameters())] {
            for p in params { p.grad = Tensor(repeating: 1e-3, shape: p.shape) }
            opt.step()   // creates the moment buffers a real checkpoint holds
        }
        let root = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("vits-bench-ckpt-\(getpid())")
        defer { if directory == nil { try? FileManager.default.removeItem(at: root) } }
        let store = try CheckpointStore(root: root)
        let t0 = Date()
        let folder = try store.write(step: 1) { dir in
            try g.save(to: dir.appendingPathComponent(RunLayout.generatorFile))
            try d.save(to: dir.appendingPathComponent("discriminator.safetensors"))
            try TensorFile.save(optG.stateTensors().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: dir.appendingPathComponent("optimizer-g.safetensors"))
            try TensorFile.save(optD.stateTensors().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: dir.appendingPathComponent("optimizer-d.safetensors"))
            return Data("{}".utf8)
        }
        let write = Date().timeIntervalSince(t0)
        let t1 = Date()
        let loaded = try store.load(step: 1)   // verifies sizes and CRC-32C of every file
        try g.load(contentsOf: loaded.url.appendingPathComponent(RunLayout.generatorFile))
        try d.load(contentsOf: loaded.url.appendingPathComponent("discriminator.safetensors"))
        try optG.loadState(TensorFile.load(loaded.url.appendingPathComponent("optimizer-g.safetensors")))
        try optD.loadState(TensorFile.load(loaded.url.appendingPathComponent("optimizer-d.safetensors")))
        let read = Date().timeIntervalSince(t1)
        let bytes = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.fileSizeKey])
            .reduce(0) { $0 + ((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
        if json {
            print(#"{"bench": "checkpoint", "config": "\#(config)", "bytes": \#(bytes), "write_seconds": \#(write), "read_verify_load_seconds": \#(read)}"#)
        } else {
            print(String(format: "checkpoint of %@: %.1f MB; write+fsync+publish %.2f s; verify+load %.2f s", config, Double(bytes) / 1e6, write, read))
        }
    }
}
