import Foundation
import XCTest
import Training

extension VITSTrainingTests {
    /// Crash proof per checkpoint phase: the real `vits train` is paused (VITS_CHECKPOINT_TEST_PAUSE)
    /// inside the write of its 2nd checkpoint — after the generator weights, after the generator's
    /// optimizer state, after state.json, right after the rename — the folder is checked to be in
    /// that phase, the process is SIGKILLed there, and the same command then resumes and finishes.
    /// Its last checkpoint must equal, byte for byte, that of a run that was never interrupted.
    func testKillInsideEachCheckpointPhaseResumesBitExactly() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vits")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            return XCTFail("the vits binary should sit next to the test bundle: \(binary.path)")
        }
        let fm = FileManager.default
        let data = Self.data
        let configURL = Self.base.appendingPathComponent("phase-kill.json")
        var raw = try JSONSerialization.jsonObject(with: Self.config(maxSteps: 3)) as! [String: Any]
        var train = raw["train"] as! [String: Any]
        train["checkpoint_interval"] = 1
        train["keep_last"] = 5
        raw["train"] = train
        try JSONSerialization.data(withJSONObject: raw).write(to: configURL)

        func launch(_ run: URL, pause: String? = nil) throws -> Process {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["train", "--config", configURL.path, "--data", data.path, "--run", run.path, "--quiet"]
            var env = ProcessInfo.processInfo.environment
            env[CheckpointTestPause.variable] = pause
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let files = [RunLayout.generatorFile, RunLayout.discriminatorFile, RunLayout.generatorOptimizerFile,
                     RunLayout.discriminatorOptimizerFile]
        let step2 = CheckpointStore.folderName(step: 2), step3 = CheckpointStore.folderName(step: 3)

        let reference = Self.base.appendingPathComponent("runs/phase-reference")
        try? fm.removeItem(at: reference)
        let plain = try launch(reference)
        plain.waitUntilExit()
        XCTAssertEqual(plain.terminationStatus, 0, "uninterrupted run")
        let expected = try files.map { try Data(contentsOf: reference.appendingPathComponent("checkpoints/\(step3)/\($0)")) }

        for phase in CheckpointTestPause.Phase.allCases {
            let run = Self.base.appendingPathComponent("runs/phase-\(phase.rawValue)")
            let checkpoints = run.appendingPathComponent("checkpoints")
            let marker = Self.base.appendingPathComponent("phase-\(phase.rawValue).marker")
            try? fm.removeItem(at: run)
            try? fm.removeItem(at: marker)
            let p = try launch(run, pause: "\(phase.rawValue):2:\(marker.path)")
            while !fm.fileExists(atPath: marker.path) && p.isRunning { Thread.sleep(forTimeInterval: 0.02) }
            guard fm.fileExists(atPath: marker.path) else {
                return XCTFail("\(phase): vits train exited (\(p.terminationStatus)) without reaching the pause")
            }
            // The process sleeps inside the phase: the folder shows exactly that phase.
            let temporary = checkpoints.appendingPathComponent(RunLayout.writingPrefix + "\(step2)-\(p.processIdentifier)")
            func inTemporary(_ name: String) -> Bool { fm.fileExists(atPath: temporary.appendingPathComponent(name).path) }
            let published = fm.fileExists(atPath: checkpoints.appendingPathComponent("\(step2)/\(RunLayout.stateFile)").path)
            switch phase {
            case .weights:
                XCTAssertTrue(inTemporary(RunLayout.generatorFile) && !inTemporary(RunLayout.discriminatorFile), "\(phase)")
            case .optimizer:
                XCTAssertTrue(inTemporary(RunLayout.discriminatorFile) && inTemporary(RunLayout.generatorOptimizerFile)
                              && !inTemporary(RunLayout.discriminatorOptimizerFile), "\(phase)")
            case .state:
                XCTAssertTrue(inTemporary(RunLayout.discriminatorOptimizerFile) && inTemporary(RunLayout.stateFile), "\(phase)")
            case .rename:
                XCTAssertFalse(fm.fileExists(atPath: temporary.path), "\(phase)")
            }
            XCTAssertEqual(published, phase == .rename, "\(phase): step 2 published")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "\(phase)")
            // What the resume starts from: step 1, or step 2 when the kill came after the rename.
            XCTAssertEqual(RunLayout.completeSteps(inCheckpoints: checkpoints).last, phase == .rename ? 2 : 1, "\(phase)")

            let resumed = try launch(run)
            resumed.waitUntilExit()
            XCTAssertEqual(resumed.terminationStatus, 0, "\(phase): resumed run")
            let leftovers = try fm.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasPrefix(RunLayout.writingPrefix) }
            XCTAssertEqual(leftovers, [], "\(phase): temporary folders left")
            for (file, want) in zip(files, expected) {
                let got = try Data(contentsOf: checkpoints.appendingPathComponent("\(step3)/\(file)"))
                if got != want {
                    let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
                    XCTFail("\(phase): \(file) of the resumed run differs from the uninterrupted run from byte \(first)")
                }
            }
        }
    }
}
