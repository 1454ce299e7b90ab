import XCTest
import Foundation
import Engine
import Training
import VITS

/// The iSTFT decoders inside the VITS training step: a tiny mb_istft / ms_istft model on the
/// miniature corpus of `VITSTrainingTests` takes generator/discriminator steps (mb_istft with the
/// sub-band STFT loss, as the authors' train_latest.py), changes its weights, and synthesizes.
/// (An extension of `VITSTrainingTests`, so its class tear-down removes the shared corpus folder.)
extension VITSTrainingTests {
    private func istftConfig(decoder: String) throws -> Data {
        var raw = try XCTUnwrap(JSONSerialization.jsonObject(with: VITSTrainingTests.config(maxSteps: 2)) as? [String: Any])
        var model = try XCTUnwrap(raw["model"] as? [String: Any])
        model["decoder"] = decoder
        model["upsample_rates"] = [4, 4]             // × iSTFT hop 4 × 4 bands = hop_length 256
        model["upsample_kernel_sizes"] = [8, 8]
        model["upsample_initial_channel"] = 16
        model["subbands"] = 4
        model["gen_istft_n_fft"] = 16
        model["gen_istft_hop_size"] = 4
        raw["model"] = model
        return try JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys])
    }

    func testISTFTDecodersTrainAndSynthesize() throws {
        Engine.configure()
        for decoder in ["mb_istft", "ms_istft"] {
            let raw = try istftConfig(decoder: decoder)
            let config = try VITSConfig.parse(raw)
            XCTAssertEqual(config.model.decoder.kind.rawValue, decoder)
            let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
            let task = try VITSTrainingTask(config: config, options: options, data: VITSTrainingTests.data, warn: { _ in })
            XCTAssertTrue(task.generator.dec is ISTFTGenerator)
            let before = task.generator.stateDict().mapValues(\.scalars)
            for step in 0..<2 {
                let outcome = try task.trainStep(epoch: 0, batchIndex: step, step: step)
                XCTAssertTrue(outcome.applied, "\(decoder) step \(step): \(outcome.losses)")
                for (name, value) in outcome.losses { XCTAssertTrue(value.isFinite, "\(decoder): \(name) = \(value)") }
                if decoder == "mb_istft" {
                    // The authors add the sub-band loss for mb_istft only.
                    XCTAssertGreaterThan(try XCTUnwrap(outcome.losses["loss/g/subband"]), 0)
                } else {
                    XCTAssertNil(outcome.losses["loss/g/subband"])
                }
            }
            let after = task.generator.stateDict()
            for key in ["dec.subband_conv_post.weight_v", "dec.conv_pre.weight_v", "dec.ups.0.weight_v"] {
                XCTAssertNotEqual(after[key]?.scalars, before[key], "\(decoder): \(key) did not train")
            }
            task.generator.eval()
            let out = try task.generator.infer(tokens: IntTensor(shape: [1, 6], values: [1, 9, 40, 12, 60, 1]), tokenLengths: [6],
                                               speakers: [0], noise: GeneratorNoise(RandomGenerator(seed: 5)))
            XCTAssertEqual(out.audio.shape, [1, 1, out.frameLengths[0] * 256])
            XCTAssertTrue(out.audio.scalars.allSatisfy(\.isFinite))
            XCTAssertGreaterThan(out.audio.scalars.map(abs).max() ?? 0, 0)
        }
    }
}
