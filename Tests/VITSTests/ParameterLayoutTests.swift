import Foundation
import XCTest
import VITS

final class ParameterLayoutTests: XCTestCase {
    /// Compares two ordered key lists and reports the first divergence (a plain == would print 800 keys).
    private func assertSameList(_ actual: [ParameterSpec], _ expected: [ParameterSpec], _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        for (i, (a, e)) in zip(actual, expected).enumerated() where a.key != e.key || a.shape != e.shape {
            XCTFail("\(what): entry \(i) is \(a), expected \(e)", file: file, line: line)
            return
        }
        XCTAssertEqual(actual.count, expected.count, "\(what): number of tensors", file: file, line: line)
    }

    private func assertSameSet(_ actual: [ParameterSpec], _ expected: [ParameterSpec], _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let a = Dictionary(uniqueKeysWithValues: actual.map { ($0.key, $0.shape) })
        let e = Dictionary(uniqueKeysWithValues: expected.map { ($0.key, $0.shape) })
        XCTAssertEqual(Set(a.keys).subtracting(e.keys).sorted(), [], "\(what): unexpected keys", file: file, line: line)
        XCTAssertEqual(Set(e.keys).subtracting(a.keys).sorted(), [], "\(what): missing keys", file: file, line: line)
        for (k, shape) in a where e[k] != nil && e[k] != shape {
            XCTFail("\(what): \(k) has shape \(shape), expected \(e[k]!)", file: file, line: line)
        }
    }

    private func counts(_ specs: [ParameterSpec]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: VITSParameters.countsByModule(specs).map { ($0.module, $0.count) })
    }

    func testLjsBaseGeneratorMatchesReferenceKeyList() throws {
        let specs = try VITSParameters.generator(Fixtures.config("ljs_base"), vocabularySize: 178)
        assertSameList(specs, try Fixtures.keyList("keys/ljs_base.generator.txt"), "ljs_base generator")
        XCTAssertEqual(VITSParameters.total(specs), 36_321_072)
        XCTAssertEqual(specs.count, 838)
    }

    func testReferenceDiscriminatorMatchesReferenceKeyList() throws {
        let specs = try VITSParameters.discriminator(Fixtures.config("ljs_base"))
        assertSameList(specs, try Fixtures.keyList("keys/mpd.discriminator.txt"), "MultiPeriodDiscriminator")
        XCTAssertEqual(VITSParameters.total(specs), 46_747_132)
        // DiscriminatorS 5,641,362 and each DiscriminatorP 8,221,154 (notes/vits.md §2).
        let perDisc = Dictionary(grouping: specs) { $0.key.split(separator: ".")[1] }.mapValues { VITSParameters.total($0) }
        XCTAssertEqual(perDisc["0"], 5_641_362)
        for d in 1...5 { XCTAssertEqual(perDisc["\(d)"], 8_221_154) }
    }

    /// Per-module counts of notes/vits.md §2 (computed there from the reference constructors).
    func testModuleCountsOfReferenceConfigs() throws {
        let ljs = try VITSParameters.generator(Fixtures.config("ljs_base"), vocabularySize: 178)
        XCTAssertEqual(counts(ljs), ["enc_p": 6_326_784, "dec": 14_337_024, "enc_q": 7_238_016, "flow": 7_102_080, "dp": 1_317_168])
        XCTAssertEqual(VITSParameters.countsByModule(ljs).map(\.module), ["enc_p", "dec", "enc_q", "flow", "dp"])

        let nosdp = try VITSParameters.generator(Fixtures.config("ljs_nosdp"), vocabularySize: 178)
        XCTAssertEqual(counts(nosdp)["dp"], 345_857)
        XCTAssertEqual(VITSParameters.total(nosdp), 35_349_761)

        let vctk = try VITSParameters.generator(Fixtures.config("vctk_base"), vocabularySize: 178)
        XCTAssertEqual(counts(vctk), ["enc_p": 6_326_784, "dec": 14_468_608, "enc_q": 8_823_168, "flow": 8_687_232,
                                      "dp": 1_366_512, "emb_g": 27_904])
        XCTAssertEqual(VITSParameters.total(vctk), 39_700_208)
    }

    /// The fixtures' generator.safetensors keys (state_dict order from the fixture README, shapes
    /// checked against the file header when the fixture was extracted).
    func testFixtureGeneratorsMatchTheirSafetensors() throws {
        for name in Fixtures.fixtureNames {
            let config = try Fixtures.config(name)
            let vocabulary = try XCTUnwrap(config.fixture?.nVocab)
            let specs = try VITSParameters.generator(config, vocabularySize: vocabulary)
            assertSameList(specs, try Fixtures.keyList("keys/\(name).generator.txt"), "\(name) generator")
        }
    }

    func testFixtureDiscriminatorsMatchTheirFiles() throws {
        for name in Fixtures.fixtureNames {
            let specs = try VITSParameters.discriminator(Fixtures.config(name))
            assertSameSet(specs, try Fixtures.keyList("keys/\(name).discriminator.txt"), "\(name) discriminator")
            XCTAssertEqual(VITSParameters.total(specs), 46_747_132)
        }
    }

    private func ljsVariant(_ edit: (inout [String: Any]) -> Void) throws -> VITSConfig {
        let data = try Data(contentsOf: Fixtures.url("configs/ljs_base.json"))
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        edit(&model)
        root["model"] = model
        return try VITSConfig.parse(JSONSerialization.data(withJSONObject: root))
    }

    func testDiscriminatorWidthAndPeriods() throws {
        let narrow = try VITSParameters.discriminator(ljsVariant {
            $0["discriminator_width_multiplier"] = 0.25
            $0["discriminator_periods"] = [2, 3]
        })
        let shapes = Dictionary(uniqueKeysWithValues: narrow.map { ($0.key, $0.shape) })
        XCTAssertEqual(Set(narrow.map { $0.key.split(separator: ".")[1] }), ["0", "1", "2"])
        XCTAssertEqual(shapes["discriminators.0.convs.0.weight_v"], [4, 1, 15])
        XCTAssertEqual(shapes["discriminators.0.convs.1.weight_v"], [16, 4, 41])     // 4→16, groups 1
        XCTAssertEqual(shapes["discriminators.0.convs.4.weight_v"], [256, 4, 41])    // 256→256, groups 64: 4 in per group kept
        XCTAssertEqual(shapes["discriminators.0.convs.5.weight_v"], [256, 256, 5])
        XCTAssertEqual(shapes["discriminators.0.conv_post.weight_v"], [1, 256, 3])
        XCTAssertEqual(shapes["discriminators.2.convs.3.weight_v"], [256, 128, 5, 1])
        XCTAssertEqual(shapes["discriminators.2.conv_post.weight_v"], [1, 256, 3, 1])
        // Dense layers scale quadratically: a P discriminator at 1/4 width is close to 1/16 the size.
        let pNarrow = VITSParameters.total(narrow.filter { $0.key.hasPrefix("discriminators.1.") })
        XCTAssertLessThan(pNarrow, 8_221_154 / 14)
        XCTAssertGreaterThan(pNarrow, 8_221_154 / 18)

        let geometry = try XCTUnwrap(DiscriminatorGeometry.make(widthMultiplier: 0.0625))
        XCTAssertEqual(geometry.scaleConvs.map(\.outChannels), [1, 4, 16, 64, 64, 64])
        XCTAssertEqual(geometry.scaleConvs.map(\.groups), [1, 1, 1, 4, 16, 1])
        XCTAssertNil(DiscriminatorGeometry.make(widthMultiplier: 0.03125))
        XCTAssertEqual(DiscriminatorGeometry.reference.scaleConvs.map(\.groups), [1, 4, 16, 64, 256, 1])
    }

    /// Spectral norm keeps the raw weight and two power-iteration buffers instead of g and v:
    /// the trainable count drops by exactly the g entries (one per output channel).
    func testSpectralNormLayout() throws {
        let weightNorm = try VITSParameters.discriminator(Fixtures.config("ljs_base"))
        let spectral = try VITSParameters.discriminator(ljsVariant { $0["use_spectral_norm"] = true })
        let gCount = weightNorm.filter { $0.key.hasSuffix("weight_g") }.reduce(0) { $0 + $1.count }
        XCTAssertEqual(VITSParameters.total(spectral), 46_747_132 - gCount)
        let post = spectral.filter { $0.key.hasPrefix("discriminators.1.conv_post.") }
        XCTAssertEqual(post, [
            ParameterSpec(key: "discriminators.1.conv_post.bias", shape: [1]),
            ParameterSpec(key: "discriminators.1.conv_post.weight_orig", shape: [1, 1024, 3, 1]),
            ParameterSpec(key: "discriminators.1.conv_post.weight_u", shape: [1], isBuffer: true),
            ParameterSpec(key: "discriminators.1.conv_post.weight_v", shape: [3072], isBuffer: true),
        ])
    }

    func testResBlock2Layout() throws {
        let config = try ljsVariant {
            $0["resblock"] = "2"
            $0["resblock_dilation_sizes"] = [[1, 2], [2, 6], [3, 12]]
        }
        let specs = try VITSParameters.generator(config, vocabularySize: 178)
        let block = specs.filter { $0.key.hasPrefix("dec.resblocks.1.") }.map(\.key)
        XCTAssertEqual(block, ["bias", "weight_g", "weight_v"].map { "dec.resblocks.1.convs.0.\($0)" }
                            + ["bias", "weight_g", "weight_v"].map { "dec.resblocks.1.convs.1.\($0)" })
        // ResBlock2 has 2 of ResBlock1's 6 convs per block, all C×C×k weight-normed: (C²k + 2C) each.
        let ref = try VITSParameters.generator(Fixtures.config("ljs_base"), vocabularySize: 178)
        func resblocks(_ s: [ParameterSpec]) -> Int { VITSParameters.total(s.filter { $0.key.hasPrefix("dec.resblocks.") }) }
        XCTAssertEqual(resblocks(specs) * 3, resblocks(ref))
    }

    func testInvalidInputsThrowInsteadOfTrapping() throws {
        var config = try Fixtures.config("ljs_base")
        config.model.nHeads = 5
        XCTAssertThrowsError(try VITSParameters.generator(config, vocabularySize: 178))
        XCTAssertThrowsError(try VITSParameters.generator(Fixtures.config("ljs_base"), vocabularySize: 0))
        config = try Fixtures.config("ljs_base")
        config.model.discriminatorWidthMultiplier = 0.3
        XCTAssertThrowsError(try VITSParameters.discriminator(config))
    }
}
