import ArgumentParser
import Foundation
import Formats
import Training
import VITS

/// `vits inspect CONFIG.json`: validate a config and show what it builds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a VITS config.json and print its summary and parameter counts.",
        discussion: """
            Reads the reference config format (train / data / model sections of jaywalnut310/vits), \
            reports every invalid key with its line, and counts the parameters each top-level module \
            creates (generator: enc_p, dec, enc_q, flow, dp, emb_g; discriminator).

            The vocabulary size is not part of the reference config: it comes from --n-vocab, else from \
            the fixture section of a parity-fixture config, else the reference English table (178).

            With --newest-step the argument is a run folder instead, and the one line printed is the \
            step of its newest complete checkpoint (0 when it has none or does not exist yet): what the recipes use to decide \
            whether a training stage is done, so that they never re-encode the run layout.

            Examples:
              vits inspect config.json
              vits inspect config.json --n-vocab 219 --json
              vits inspect runs/demo --newest-step
            """)

    @Argument(help: "Path of the config.json to inspect (a run folder with --newest-step).")
    var config: String

    @Flag(help: "Print the newest complete checkpoint step of the run folder given as the argument.")
    var newestStep = false

    @Option(name: .customLong("n-vocab"), help: "Vocabulary size (number of token ids) of the text frontend.")
    var vocabularySize: Int?

    @Flag(help: "List every parameter key with its shape.")
    var keys = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    static let referenceVocabularySize = 178

    func run() throws {
        if newestStep {
            // A run that has not started yet (no folder) has no checkpoint either.
            print(RunLayout.newestStep(run: URL(fileURLWithPath: config)) ?? 0)
            return
        }
        let loaded: VITSConfig
        do {
            loaded = try VITSConfig.load(contentsOf: URL(fileURLWithPath: config))
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        for warning in loaded.warnings { printError("warning: \(config): \(warning)") }

        let vocabulary = vocabularySize ?? loaded.fixture?.nVocab ?? loaded.fixture?.symbols?.count
        if vocabulary == nil && !json {
            printError("note: vocabulary size not given; using \(Self.referenceVocabularySize) (reference English symbols), pass --n-vocab")
        }
        let nVocab = vocabulary ?? Self.referenceVocabularySize
        let generator: [ParameterSpec], discriminator: [ParameterSpec]
        do {
            generator = try VITSParameters.generator(loaded, vocabularySize: nVocab)
            discriminator = try VITSParameters.discriminator(loaded)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        let modules = Dictionary(uniqueKeysWithValues: VITSParameters.countsByModule(generator).map { ($0.module, $0.count) })
        let generatorTotal = VITSParameters.total(generator)
        let inferenceTotal = generatorTotal - (modules["enc_q"] ?? 0)
        let discriminatorTotal = VITSParameters.total(discriminator)

        if json {
            func int(_ v: Int) -> JSONValue { .int(Int64(v)) }
            let moduleObject = JSONValue.object(VITSParameters.generatorModules.map { (key: $0, value: int(modules[$0] ?? 0)) })
            var object: JSONValue = [
                "config": .string(config),
                "vocabulary_size": int(nVocab),
                "generator": ["modules": moduleObject, "total": int(generatorTotal), "tensors": int(generator.count),
                              "inference_only": int(inferenceTotal)],
                "discriminator": ["total": int(discriminatorTotal), "tensors": int(discriminator.count),
                                  "discriminators": int(1 + loaded.model.discriminatorPeriods.count)],
                "total": int(generatorTotal + discriminatorTotal),
                "warnings": .array(loaded.warnings.map(JSONValue.string)),
            ]
            if keys {
                object.set("keys", .array((generator + discriminator).map {
                    ["key": .string($0.key), "shape": .array($0.shape.map(int)), "buffer": .bool($0.isBuffer)]
                }))
            }
            print(try JSONWriter(style: .compact, sortedKeys: true).string(object))
            return
        }

        print(summary(loaded, path: config))
        print("parameters (vocabulary \(nVocab)):")
        for name in VITSParameters.generatorModules {
            print("  \(name.padding(toLength: 14, withPad: " ", startingAt: 0))\(grouped(modules[name] ?? 0, width: 12))")
        }
        print("  generator     \(grouped(generatorTotal, width: 12))  (\(generator.count) tensors; inference without enc_q: \(grouped(inferenceTotal)))")
        print("  discriminator \(grouped(discriminatorTotal, width: 12))  (\(discriminator.count) tensors)")
        print("  total         \(grouped(generatorTotal + discriminatorTotal, width: 12))")
        if keys {
            print("keys:")
            for spec in generator + discriminator {
                print("  \(spec.key) \(spec.shape)\(spec.isBuffer ? " (buffer)" : "")")
            }
        }
    }

    private func summary(_ c: VITSConfig, path: String) -> String {
        let d = c.data, m = c.model, t = c.train
        let speakers = c.isMultiSpeaker ? "\(d.nSpeakers) speakers, speaker embedding \(m.ginChannels)" : "single speaker"
        let istft = m.decoder.kind == .hifigan ? "" : " (iSTFT n_fft \(m.decoder.istftNFFT) hop \(m.decoder.istftHop)\(m.decoder.usesSubbands ? ", \(m.decoder.subbands) bands" : ""))"
        let discriminatorNorm = m.useSpectralNorm ? "spectral norm" : "weight norm"
        let width = m.discriminatorWidthMultiplier == 1 ? "reference width" : "width x\(m.discriminatorWidthMultiplier)"
        return """
            config: \(path)
              audio: \(d.samplingRate) Hz, n_fft \(d.filterLength), hop \(d.hopLength), window \(d.winLength), \
            \(d.nMelChannels) mels \(d.melFmin)-\(d.resolvedMelFmax) Hz, add_blank \(d.addBlank)
              text encoder: hidden \(m.hiddenChannels), filter \(m.filterChannels), \(m.nHeads) heads x \(m.nLayers) layers, \
            kernel \(m.kernelSize), dropout \(m.pDropout)
              latent: \(m.interChannels) channels; duration predictor: \(m.useSDP ? "stochastic" : "deterministic"); \(speakers)
              decoder: \(m.decoder.kind.rawValue)\(istft), ResBlock\(m.resblock.rawValue) kernels \(m.resblockKernelSizes) dilations \(m.resblockDilationSizes), \
            upsample \(m.upsampleRates) kernels \(m.upsampleKernelSizes) from \(m.upsampleInitialChannel) channels
              discriminator: scale + periods \(m.discriminatorPeriods), \(width), \(discriminatorNorm)
              training slice: \(t.segmentSize) samples = \(c.segmentFrames) frames; batch \(t.batchSize); \
            learning rate \(t.learningRate); c_mel \(t.cMel), c_kl \(t.cKl)
            """
    }

    private func grouped(_ n: Int, width: Int = 0) -> String {
        let digits = String(n)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(repeating: " ", count: max(0, width - out.count)) + out
    }

    private func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
