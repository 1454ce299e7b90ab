import XCTest
import Formats
import Training

final class CheckpointStoreTests: XCTestCase {
    private var dir: URL!
    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func writeCheckpoint(_ store: CheckpointStore, step: Int, payload: [UInt8]) throws {
        let state = try JSONSerialization.data(withJSONObject: ["epoch": step / 10])
        try store.write(step: step) { folder in
            try Data(payload).write(to: folder.appendingPathComponent("weights.bin"))
            return state
        }
    }

    func testSlicedCRCMatchesBytewiseCRC() {
        let bytes = (0..<1237).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
        var running = CRC32C.Running()
        bytes.withUnsafeBytes { running.update($0) }   // one chunk
        XCTAssertEqual(running.value, CRC32C.checksum(bytes))
        var split = CRC32C.Running()
        bytes[0..<5].withUnsafeBytes { split.update($0) }  // chunks of odd sizes
        bytes[5...].withUnsafeBytes { split.update($0) }
        XCTAssertEqual(split.value, CRC32C.checksum(bytes))
    }

    func testWriteLoadAndFallbackOnDamage() throws {
        let store = try CheckpointStore(root: dir)
        try writeCheckpoint(store, step: 10, payload: [1, 2, 3])
        try writeCheckpoint(store, step: 20, payload: [4, 5, 6, 7])
        XCTAssertEqual(store.steps(), [10, 20])
        let newest = try XCTUnwrap(try store.loadNewest(warn: { XCTFail("unexpected warning \($0)") }))
        XCTAssertEqual(newest.step, 20)
        let trainer = try JSONSerialization.jsonObject(with: newest.trainerState) as? [String: Int]
        XCTAssertEqual(trainer?["epoch"], 2)

        // Damage the newest: one flipped byte.
        let weights = dir.appendingPathComponent("step-00000020/weights.bin")
        try Data([4, 5, 6, 8]).write(to: weights)
        var warnings: [String] = []
        let fallback = try XCTUnwrap(try store.loadNewest(warn: { warnings.append($0) }))
        XCTAssertEqual(fallback.step, 10)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("step 20"))

        // Damage the older one too: loading must fail loudly, not restart from scratch.
        try Data([1, 2]).write(to: dir.appendingPathComponent("step-00000010/weights.bin"))
        XCTAssertThrowsError(try store.loadNewest(warn: { _ in }))
    }

    /// The run layout the store writes is the one `RunLayout` reads back (the voice loader and
    /// `vits inspect --newest-step` rely on it): names, step parsing, state.json records.
    func testRunLayoutReadsWhatTheStoreWrites() throws {
        XCTAssertEqual(RunLayout.checkpointFolderName(step: 1234), "step-00001234")
        XCTAssertEqual(RunLayout.step(ofCheckpointFolder: "step-00001234"), 1234)
        for name in ["step-1234", ".tmp-step-00000006-999", "step-0000000x", "steps-0000001"] {
            XCTAssertNil(RunLayout.step(ofCheckpointFolder: name), name)
        }
        let run = dir.appendingPathComponent("run")
        XCTAssertNil(RunLayout.newestStep(run: run), "no run folder yet: no checkpoint")
        let store = try CheckpointStore(root: run.appendingPathComponent(RunLayout.checkpointsFolder))
        try writeCheckpoint(store, step: 3, payload: [1, 2, 3, 4, 5])
        try writeCheckpoint(store, step: 12, payload: [6])
        // A folder without its state.json (never published by the store) does not count.
        try FileManager.default.createDirectory(at: store.root.appendingPathComponent("step-00000099"), withIntermediateDirectories: true)
        XCTAssertEqual(RunLayout.completeSteps(inCheckpoints: store.root), [3, 12])
        XCTAssertEqual(RunLayout.newestStep(run: run), 12)

        let folder = store.root.appendingPathComponent(RunLayout.checkpointFolderName(step: 3))
        let state = try CheckpointState.read(folder: folder)
        XCTAssertEqual(state.step, 3)
        XCTAssertEqual(state.files["weights.bin"], .init(bytes: 5, crc32c: CRC32C.checksum([1, 2, 3, 4, 5])))
        XCTAssertEqual(state.trainer["epoch"]?.intValue, 0)
        try state.verify("weights.bin", in: folder)
        XCTAssertThrowsError(try state.verify("other.bin", in: folder), "an unrecorded file is not verified")
        try Data([1, 2, 3, 4, 6]).write(to: folder.appendingPathComponent("weights.bin"))
        XCTAssertThrowsError(try state.verify("weights.bin", in: folder)) { XCTAssertTrue("\($0)".contains("CRC-32C"), "\($0)") }
        try Data([1, 2]).write(to: folder.appendingPathComponent("weights.bin"))
        XCTAssertThrowsError(try state.verify("weights.bin", in: folder)) { XCTAssertTrue("\($0)".contains("2 bytes"), "\($0)") }
    }

    /// state.json as Foundation's serializer wrote it (earlier versions) reads the same; one written
    /// now reads back in Python's json module's terms (plain JSON); a damaged value is reported with
    /// the file's line and the key.
    func testStateFileCompatibilityAndKeyedErrors() throws {
        let store = try CheckpointStore(root: dir.appendingPathComponent("checkpoints"))
        let trainer = try JSONSerialization.data(withJSONObject: ["epoch": 2, "task": ["rng": [UInt64.max, 1, 0]]] as [String: Any])
        let folder = try store.write(step: 7) { folder in
            try Data([9, 9]).write(to: folder.appendingPathComponent("weights.bin"))
            return trainer
        }
        let url = folder.appendingPathComponent(RunLayout.stateFile)
        let written = try CheckpointState.read(folder: folder)
        XCTAssertEqual(written.trainer["task"]?["rng"], [.uint(UInt64.max), 1, 0])
        // Foundation reads what the writer wrote, every key and integer intact.
        let foreign = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(foreign["step"] as? Int, 7)
        XCTAssertEqual((foreign["files"] as? [String: [String: Int]])?["weights.bin"]?["bytes"], 2)
        // Re-written the way earlier versions did (Foundation, pretty, sorted): reads back the same.
        try JSONSerialization.data(withJSONObject: foreign, options: [.prettyPrinted, .sortedKeys]).write(to: url)
        let reread = try CheckpointState.read(folder: folder)
        XCTAssertEqual(reread.files, written.files)
        XCTAssertEqual(reread.step, 7)
        XCTAssertEqual(reread.trainer["epoch"]?.intValue, 2)
        XCTAssertEqual(reread.trainer["task"]?["rng"], [.uint(UInt64.max), 1, 0])
        // A damaged record: file, line and key path.
        let text = "{\n  \"files\": {\n    \"weights.bin\": {\"bytes\": \"two\", \"crc32c\": 1}\n  },\n  \"trainer\": {}\n}"
        try Data(text.utf8).write(to: url)
        XCTAssertThrowsError(try CheckpointState.read(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("\(url.path):3: files.weights.bin.bytes: expected an integer, found a string"), "\(error)")
        }
    }

    func testInterruptedWriteIsInvisibleAndCleaned() throws {
        let store = try CheckpointStore(root: dir)
        try writeCheckpoint(store, step: 5, payload: [9])
        // A write that dies halfway leaves only a temporary folder.
        let tmp = dir.appendingPathComponent(".tmp-step-00000006-999")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try Data([1]).write(to: tmp.appendingPathComponent("weights.bin"))
        XCTAssertEqual(store.steps(), [5])
        _ = try CheckpointStore(root: dir)   // reopening cleans leftovers
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path))
        // A failing writer publishes nothing.
        struct Boom: Error {}
        XCTAssertThrowsError(try store.write(step: 7) { _ in throw Boom() })
        XCTAssertEqual(store.steps(), [5])
    }

    func testPruneKeepsLastKAndProtected() throws {
        let store = try CheckpointStore(root: dir)
        for step in [1, 2, 3, 4, 5] { try writeCheckpoint(store, step: step, payload: [UInt8(step)]) }
        store.prune(keepLast: 2, protect: [2])
        XCTAssertEqual(store.steps(), [2, 4, 5])
    }
}
