import XCTest
import Foundation
import Engine
import Training
import VITS

/// `train.c_stft` inside the training step: the same seed with and without the full-band STFT loss
/// gives the same forward pass at step 0, so the totals differ by exactly the weighted term it logs.
/// (An extension of `VITSTrainingTests`, so its class tear-down removes the shared corpus folder.)
extension VITSTrainingTests {
    private func configWithSTFTLoss(weight: Double) throws -> VITSConfig {
        var raw = try XCTUnwrap(JSONSerialization.jsonObject(with: VITSTrainingTests.config(maxSteps: 2)) as? [String: Any])
        var train = try XCTUnwrap(raw["train"] as? [String: Any])
        train["c_stft"] = weight
        train["stft_fft_sizes"] = [256, 128]
        train["stft_hop_sizes"] = [64, 32]
        train["stft_win_lengths"] = [200, 128]
        raw["train"] = train
        return try VITSConfig.parse(try JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys]))
    }

    func testFullBandSTFTLossEntersTheGeneratorTotal() throws {
        Engine.configure()
        var totals: [Double] = []
        var term = 0.0
        for weight in [0.0, 2.0] {
            let config = try configWithSTFTLoss(weight: weight)
            let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
            let task = try VITSTrainingTask(config: config, options: options, data: VITSTrainingTests.data, warn: { _ in })
            let outcome = try task.trainStep(epoch: 0, batchIndex: 0, step: 0)
            XCTAssertTrue(outcome.applied, "\(outcome.losses)")
            totals.append(try XCTUnwrap(outcome.losses["loss/g/total"]))
            if weight == 0 {
                XCTAssertNil(outcome.losses["loss/g/stft"])
            } else {
                term = try XCTUnwrap(outcome.losses["loss/g/stft"])
                XCTAssertGreaterThan(term, 0)
            }
        }
        XCTAssertEqual(totals[1] - totals[0], term, accuracy: 1e-4 * max(1, abs(totals[1])))
    }
}
