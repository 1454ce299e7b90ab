import XCTest
import Foundation
import Engine
import Training
import Corpus
import Formats
import VITS

/// Pitch excitation inside the VITS training step: a tiny model with `model.pitch_excitation` on the
/// miniature corpus of `VITSTrainingTests` trains (the decoder driven by the recordings' F0, the
/// predictor learning it), changes the new weights, and synthesizes from text alone.
extension VITSTrainingTests {
    private func pitchConfig(extra: [String: Any] = [:], data extraData: [String: Any] = [:]) throws -> Data {
        var raw = try XCTUnwrap(JSONSerialization.jsonObject(with: VITSTrainingTests.config(maxSteps: 2)) as? [String: Any])
        var model = try XCTUnwrap(raw["model"] as? [String: Any])
        model["pitch_excitation"] = true
        model["pitch_predictor_channels"] = 16
        for (k, v) in extra { model[k] = v }
        raw["model"] = model
        var data = try XCTUnwrap(raw["data"] as? [String: Any])
        for (k, v) in extraData { data[k] = v }
        raw["data"] = data
        return try JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys])
    }

    func testPitchExcitationTrainsAndSynthesizes() throws {
        Engine.configure()
        let config = try VITSConfig.parse(try pitchConfig())
        XCTAssertTrue(config.model.pitch.enabled)
        let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
        let task = try VITSTrainingTask(config: config, options: options, data: VITSTrainingTests.data, warn: { _ in })
        let before = task.generator.stateDict().mapValues(\.scalars)
        XCTAssertNotNil(before["dec.m_source.merge.weight"])
        XCTAssertNotNil(before["dec.noise_convs.0.weight"])
        XCTAssertNotNil(before["pitch_predictor.proj.weight"])
        for step in 0..<2 {
            let outcome = try task.trainStep(epoch: 0, batchIndex: step, step: step)
            XCTAssertTrue(outcome.applied, "step \(step): \(outcome.losses)")
            for (name, value) in outcome.losses { XCTAssertTrue(value.isFinite, "\(name) = \(value)") }
            XCTAssertGreaterThan(try XCTUnwrap(outcome.losses["loss/g/pitch_f0"]), 0)
            XCTAssertGreaterThan(try XCTUnwrap(outcome.losses["loss/g/pitch_vuv"]), 0)
        }
        let after = task.generator.stateDict()
        for key in ["dec.m_source.merge.weight", "dec.noise_convs.0.weight", "dec.noise_convs.1.weight", "pitch_predictor.convs.0.weight",
                    "pitch_predictor.proj.bias"] {
            XCTAssertNotEqual(after[key]?.scalars, before[key], "\(key) did not train")
        }
        let metrics = try task.validate(step: 2)
        XCTAssertTrue(try XCTUnwrap(metrics["mel_l1"]).isFinite)
        task.generator.eval()
        let out = try task.generator.infer(tokens: IntTensor(shape: [1, 6], values: [1, 9, 40, 12, 60, 1]), tokenLengths: [6],
                                           speakers: [0], noise: GeneratorNoise(RandomGenerator(seed: 5)))
        XCTAssertEqual(out.audio.shape, [1, 1, out.frameLengths[0] * 256])
        XCTAssertEqual(try XCTUnwrap(out.f0).shape, [1, out.frameLengths[0]])
        XCTAssertTrue(out.audio.scalars.allSatisfy(\.isFinite))
        // --pitch-scale: the same draws with the predicted F0 doubled drive the source (and change the audio).
        let up = try task.generator.infer(tokens: IntTensor(shape: [1, 6], values: [1, 9, 40, 12, 60, 1]), tokenLengths: [6],
                                          speakers: [0], pitchScale: 2, noise: GeneratorNoise(RandomGenerator(seed: 5)))
        XCTAssertEqual(try XCTUnwrap(up.f0).scalars, try XCTUnwrap(out.f0).scalars.map { $0 * 2 })
        XCTAssertEqual(up.z.scalars, out.z.scalars)
        if try XCTUnwrap(out.f0).scalars.contains(where: { $0 > 0 }) { XCTAssertNotEqual(up.audio.scalars, out.audio.scalars) }
    }

    /// `model.pitch_source_frozen`: the frozen part of the source path keeps its initial weights
    /// through training steps (and stays in the state dict); the rest still trains.
    func testFrozenSourceKeepsItsInitialWeights() throws {
        Engine.configure()
        for (mode, frozenKeys, trainedKeys) in [
            ("merge", ["dec.m_source.merge.weight", "dec.m_source.merge.bias"], ["dec.noise_convs.0.weight", "dec.noise_convs.2.bias"]),
            ("all", ["dec.m_source.merge.weight", "dec.noise_convs.0.weight", "dec.noise_convs.1.weight", "dec.noise_convs.2.bias"],
             ["dec.ups.0.weight_v", "pitch_predictor.proj.weight"]),
        ] {
            let config = try VITSConfig.parse(try pitchConfig(extra: ["pitch_source_frozen": mode]))
            let options = try VITSTrainingOptions(config: config, maxStepsOverride: nil)
            let task = try VITSTrainingTask(config: config, options: options, data: VITSTrainingTests.data, warn: { _ in })
            let before = task.generator.stateDict().mapValues(\.scalars)
            for step in 0..<2 { XCTAssertTrue(try task.trainStep(epoch: 0, batchIndex: step, step: step).applied) }
            let after = task.generator.stateDict()
            for key in frozenKeys { XCTAssertEqual(after[key]?.scalars, before[key], "\(mode): \(key) moved") }
            for key in trainedKeys { XCTAssertNotEqual(after[key]?.scalars, before[key], "\(mode): \(key) did not train") }
        }
        XCTAssertThrowsError(try VITSConfig.parse(try pitchConfig(extra: ["pitch_source_frozen": "gate"]))) { error in
            XCTAssertTrue("\(error)".contains("model.pitch_source_frozen"), "\(error)")
        }
    }

    /// A model without pitch excitation is built exactly as before: the same keys and initial weights.
    func testPitchOffLeavesTheModelUnchanged() throws {
        Engine.configure()
        let plain = try VITSConfig.parse(VITSTrainingTests.config(maxSteps: 2))
        let withPitch = try VITSConfig.parse(try pitchConfig())
        let a = SynthesizerTrn(config: plain, vocabularySize: 64, generator: RandomGenerator(seed: 3)).stateDict()
        let b = SynthesizerTrn(config: withPitch, vocabularySize: 64, generator: RandomGenerator(seed: 3)).stateDict()
        XCTAssertFalse(a.keys.contains { $0.contains("pitch") || $0.contains("m_source") || $0.contains("noise_convs") })
        // The pitch modules are created last, so every shared key starts from the same weights.
        for (key, value) in a { XCTAssertEqual(b[key]?.scalars, value.scalars, key) }
    }

    func testPitchConfigIsValidated() throws {
        XCTAssertThrowsError(try VITSConfig.parse(try pitchConfig(extra: ["pitch_predictor_kernel": 4]))) { error in
            XCTAssertTrue("\(error)".contains("model.pitch_predictor_kernel"), "\(error)")
        }
        // hop 300 = 5·5·4·3: the third stage's source conv would stride by 3.
        let odd = try pitchConfig(extra: ["upsample_rates": [5, 5, 4, 3], "upsample_kernel_sizes": [11, 11, 8, 7],
                                          "upsample_initial_channel": 32],
                                  data: ["hop_length": 300, "filter_length": 1200, "win_length": 1200])
        XCTAssertThrowsError(try VITSConfig.parse(odd)) { error in
            XCTAssertTrue("\(error)".contains("stage 2 strides by 3"), "\(error)")
        }
        XCTAssertThrowsError(try VITSConfig.parse(try pitchConfig(extra: ["decoder": "istft", "upsample_rates": [8, 8], "upsample_kernel_sizes": [16, 16]]))) { error in
            XCTAssertTrue("\(error)".contains("model.pitch_excitation"), "\(error)")
        }
    }

    /// The F0 targets sit at the spectrogram frames' centres: a harmonic tone whose F0 moves 150 Hz ± 5 %
    /// at 4 Hz reads its instantaneous F0 at every frame centre (within 1 %) away from the edges, and
    /// the silence after it reads unvoiced. (Harvest, like WORLD's, leaves a perfectly steady tone
    /// unvoiced; speech is never that steady.)
    func testFrameF0FollowsAMovingTone() {
        let rate = 22050, hop = 256, frames = 60
        func hz(_ seconds: Double) -> Double { 150 * (1 + 0.05 * sin(2 * .pi * 4 * seconds)) }
        var phase = 0.0
        var signal = (0..<(frames * hop)).map { n -> Double in
            phase += 2 * .pi * hz(Double(n) / Double(rate)) / Double(rate)
            return 0.5 * sin(phase) + 0.25 * sin(2 * phase) + 0.1 * sin(3 * phase)
        }
        for n in (40 * hop)..<signal.count { signal[n] = 0 }
        let f0 = PitchTargets.frameF0(signal: signal, sampleRate: rate, hop: hop, frames: frames)
        XCTAssertEqual(f0.count, frames)
        for t in 4..<36 {
            let expected = hz((Double(t) + 0.5) * Double(hop) / Double(rate))
            XCTAssertEqual(Double(f0[t]), expected, accuracy: expected / 100, "frame \(t)")
        }
        for t in 44..<frames { XCTAssertEqual(f0[t], 0, "frame \(t)") }
    }

    /// The F0 targets are kept in the data folder's derived cache and read back bit-exactly; a file
    /// is used only when it was made from the same samples (its fingerprint), otherwise tracked anew.
    func testF0TargetsAreCachedInTheDataFolder() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("f0-cache-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: VITSTrainingTests.data, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let set = try CorpusDataset(directory: copy, split: .train, addBlank: true)
        let batch = try set.collate([0, 1])
        let folder = DataFolder(copy)
        func targets() -> PitchTargets { PitchTargets(sampleRate: set.info.sampleRate, hop: set.info.hopLength, store: folder) }

        let tracked = targets().f0(for: batch).scalars
        let files = batch.ids.map { folder.derivedCacheURL(kind: targets().trackerKind, utterance: $0, ext: "safetensors") }
        for file in files { XCTAssertTrue(FileManager.default.fileExists(atPath: file.path), file.path) }
        XCTAssertEqual(targets().f0(for: batch).scalars, tracked, "read back from the cache")
        XCTAssertGreaterThan(tracked.filter { $0 > 0 }.count, 0, "the recordings are voiced somewhere")

        // The cache is what is read: row 0's file with its F0 replaced (metadata kept) comes back as written.
        let stored = try SafeTensorsFile(contentsOf: files[0])
        let frames = Int(batch.specLengths[0])
        XCTAssertEqual(try stored.tensor(named: "f0").shape, [frames])
        let replaced = [Float](repeating: 123, count: frames)
        try SafeTensors.write([(name: "f0", shape: [frames], values: replaced)], metadata: stored.metadata, to: files[0])
        let fromCache = targets().f0(for: batch).scalars
        XCTAssertEqual(Array(fromCache[0..<frames]), replaced)

        // A file made from other samples (another fingerprint) is not used, and is replaced.
        var foreign = stored.metadata
        foreign["fingerprint"] = "0"
        try SafeTensors.write([(name: "f0", shape: [frames], values: replaced)], metadata: foreign, to: files[0])
        XCTAssertEqual(targets().f0(for: batch).scalars, tracked)
        XCTAssertEqual(targets().f0(for: batch).scalars, tracked, "the rewritten file")
    }
}
