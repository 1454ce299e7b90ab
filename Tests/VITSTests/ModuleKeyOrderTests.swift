import Foundation
import XCTest
import Engine
import VITS

/// The live module tree of representative models against `Fixtures/keys/module_order.txt`: every
/// submodule path with its type, every parameter key in `namedParameters()` order with its shape
/// and `requiresGrad`, every buffer key in walk order with its shape. The order is what the parity
/// fixtures, the optimizer state, gradient clipping and the replica fingerprint rely on, so any
/// change to how modules declare or discover their children must leave this file's content intact.
///
/// The fixture was recorded from the models as they were before children and parameters were
/// declared through property wrappers (registration by string); re-record it only for an
/// intended change of model structure: `scripts/fixtures/record_module_order.sh`.
final class ModuleKeyOrderTests: XCTestCase {
    /// Lines describing one model's tree (format above, one tab-separated record per line).
    static func describe(_ model: Module) -> [String] {
        var lines: [String] = []
        for (path, module) in model.namedModules() {
            lines.append("M\t\(path.isEmpty ? "." : path)\t\(type(of: module))")
        }
        for (key, t) in model.namedParameters() {
            lines.append("P\t\(key)\t\(t.shape)\t\(t.requiresGrad ? 1 : 0)")
        }
        for (path, module) in model.namedModules() {
            for (name, t) in module.ownBuffers {
                lines.append("B\t\(path.isEmpty ? name : path + "." + name)\t\(t.shape)")
            }
        }
        return lines
    }

    private static func configData(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Fixtures.url("configs/\(name).json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fixture config with `model` entries replaced.
    private static func config(_ name: String, model edits: [String: Any] = [:]) throws -> VITSConfig {
        var root = try configData(name)
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        for (k, v) in edits { model[k] = v }
        root["model"] = model
        return try VITSConfig.parse(JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }

    private static func generator(_ config: VITSConfig) -> SynthesizerTrn {
        SynthesizerTrn(config: config, vocabularySize: config.fixture?.nVocab ?? 178, generator: RandomGenerator(seed: 1))
    }

    /// The models of the fixture, in file order: (section name, model).
    static func models() throws -> [(String, Module)] {
        var out: [(String, Module)] = []
        out.append(("ljs_base generator", generator(try config("ljs_base"))))
        out.append(("tiny-sdp generator", generator(try config("tiny-sdp"))))
        out.append(("tiny-dp generator", generator(try config("tiny-dp"))))
        out.append(("tiny-spk generator (multi-speaker)", generator(try config("tiny-spk"))))
        for variant in ["istft", "mb_istft", "ms_istft"] {
            out.append(("authors_ljs_\(variant)_vits generator", generator(try config("authors_ljs_\(variant)_vits"))))
        }
        out.append(("tiny-spk generator with pitch excitation",
                    generator(try config("tiny-spk", model: ["pitch_excitation": true, "pitch_predictor_channels": 16]))))
        let ljs = try config("ljs_base")
        out.append(("ljs_base discriminator", try MultiPeriodDiscriminator(config: ljs, generator: RandomGenerator(seed: 2))))
        out.append(("spectral-norm discriminator (width 1/16, periods 2 3)",
                    try MultiPeriodDiscriminator(config: try config("ljs_base", model: [
                        "use_spectral_norm": true, "discriminator_width_multiplier": 0.0625, "discriminator_periods": [2, 3],
                    ]), generator: RandomGenerator(seed: 3))))
        // LoRA fine-tuning as `vits finetune --lora-rank 4` sets it up: everything frozen, adapters on
        // the default targets, then one subtree unfrozen again (requiresGrad is part of the record).
        let lora = generator(try config("tiny-sdp"))
        lora.freeze()
        lora.attachLoRA(toPrefixes: ["dec", "flow", "enc_p", "dp"], rank: 4, alpha: 8, generator: RandomGenerator(seed: 4))
        lora.unfreeze("enc_p.proj")
        out.append(("tiny-sdp generator with LoRA (rank 4, default targets, enc_p.proj unfrozen)", lora))
        return out
    }

    static func render() throws -> String {
        var text = "# Module tree, parameter and buffer order of representative models (ModuleKeyOrderTests).\n"
        text += "# M path type | P key shape requiresGrad | B key shape; written by scripts/fixtures/record_module_order.sh\n"
        for (name, model) in try models() {
            text += "## \(name)\n" + describe(model).joined(separator: "\n") + "\n"
        }
        return text
    }

    func testModuleTreesMatchRecordedOrder() throws {
        let live = try Self.render()
        if let path = ProcessInfo.processInfo.environment["SWIFTVITS_RECORD_MODULE_ORDER"] {
            try live.write(toFile: path, atomically: true, encoding: .utf8)
            throw XCTSkip("recorded the module order to \(path); nothing compared")
        }
        let recorded = try Fixtures.text("keys/module_order.txt")
        let a = live.split(separator: "\n", omittingEmptySubsequences: false)
        let e = recorded.split(separator: "\n", omittingEmptySubsequences: false)
        var section = ""
        for (i, (x, y)) in zip(a, e).enumerated() {
            if y.hasPrefix("## ") { section = String(y.dropFirst(3)) }
            if x != y {
                XCTFail("\(section): line \(i + 1) is '\(x)', recorded '\(y)'")
                return
            }
        }
        XCTAssertEqual(a.count, e.count, "number of lines")
    }

    /// The fixture is not vacuous: it covers every kind of entry the models have.
    func testRecordCoversEveryEntryKind() throws {
        let recorded = try Fixtures.text("keys/module_order.txt")
        for needle in ["\tdec.ups.0.weight_g\t", "\tdp.flows.0.logs\t", "\temb_g.weight\t", "B\tdec.updown_filter\t",
                       "\tdec.m_source.merge.weight\t", "\tpitch_predictor.cond.weight\t", "weight_orig\t",
                       "B\tdiscriminators.0.convs.0.weight_u\t", "\tdec.conv_pre.lora.lora_A\t", "\tdec.subband_conv_post.",
                       "M\tenc_p.encoder.drop\tDropout", "P\tdec.ups.0.lora.lora_B\t", "\tenc_p.proj.weight\t"] {
            XCTAssertTrue(recorded.contains(needle), "no '\(needle)' in the fixture")
        }
    }
}
