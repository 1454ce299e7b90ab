import Foundation
import Formats

/// The one definition of a run folder's layout (docs/training.md, "Run folder"): the names the
/// trainer writes (`CheckpointStore`, `RunDirectory`, `RunSetup`, the VITS task), the voice loader
/// reads (`Voice.RunFolder`) and the recipes ask the binary about (`vits inspect --newest-step`).
///
///     <run>/config.json  inventory.json  speakers.json  provenance.json
///     <run>/checkpoints/step-NNNNNNNN/state.json  generator.safetensors  [lora.safetensors]
///                                     discriminator.safetensors  optimizer-g/-d.safetensors
///     <run>/logs/  <run>/samples/
public enum RunLayout {
    public static let configFile = "config.json"
    public static let inventoryFile = "inventory.json"
    public static let speakersFile = "speakers.json"
    public static let provenanceFile = "provenance.json"
    public static let checkpointsFolder = "checkpoints"
    public static let logsFolder = "logs"
    public static let samplesFolder = "samples"

    /// Files of one checkpoint folder.
    public static let stateFile = "state.json"
    public static let generatorFile = "generator.safetensors"
    public static let loraFile = "lora.safetensors"
    public static let discriminatorFile = "discriminator.safetensors"
    public static let generatorOptimizerFile = "optimizer-g.safetensors"
    public static let discriminatorOptimizerFile = "optimizer-d.safetensors"

    /// Prefixes of a checkpoint being written and of one being deleted: never a valid checkpoint.
    public static let writingPrefix = ".tmp-"
    public static let deletingPrefix = ".trash-"

    private static let checkpointPrefix = "step-"
    private static let stepDigits = 8

    /// `step-NNNNNNNN` (zero-padded so that names sort by step).
    public static func checkpointFolderName(step: Int) -> String {
        let digits = String(step)
        return checkpointPrefix + String(repeating: "0", count: max(0, stepDigits - digits.count)) + digits
    }

    /// The step a checkpoint folder name stands for; nil for anything else (temporaries included).
    public static func step(ofCheckpointFolder name: String) -> Int? {
        guard name.hasPrefix(checkpointPrefix), name.count == checkpointPrefix.count + stepDigits,
              let step = Int(name.dropFirst(checkpointPrefix.count)), step >= 0 else { return nil }
        return step
    }

    /// Steps of the complete checkpoints under a `checkpoints/` folder, ascending. A checkpoint is
    /// complete when it has its state.json: the store publishes folders atomically, state.json last.
    public static func completeSteps(inCheckpoints folder: URL) -> [Int] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> Int? in
            guard let step = step(ofCheckpointFolder: name) else { return nil }
            let state = folder.appendingPathComponent(name).appendingPathComponent(stateFile)
            return fm.fileExists(atPath: state.path) ? step : nil
        }.sorted()
    }

    /// The newest complete checkpoint step of run folder `run` (nil when it has none).
    public static func newestStep(run: URL) -> Int? {
        completeSteps(inCheckpoints: run.appendingPathComponent(checkpointsFolder)).last
    }
}

/// A checkpoint's `state.json`: `{"format": 1, "step": N, "files": {name: {"bytes", "crc32c"}},
/// "trainer": {…TrainerState…}}`. Written by `CheckpointStore`, verified by it and by voice loading.
public struct CheckpointState {
    public static let format = 1

    /// Size and CRC-32C of one file of the checkpoint.
    public struct FileRecord: Equatable, Sendable {
        public var bytes: UInt64
        public var crc32c: UInt32
        public init(bytes: UInt64, crc32c: UInt32) { self.bytes = bytes; self.crc32c = crc32c }
    }

    enum Key {
        static let format = "format", step = "step", files = "files", trainer = "trainer"
        static let bytes = "bytes", crc32c = "crc32c"
        /// `TrainerState.bestStep`, as its synthesized CodingKeys name it.
        static let bestStep = "bestStep"
    }

    public var step: Int?
    public var files: [String: FileRecord]
    /// The trainer's state object (`TrainerState`, the task's state inside it).
    public var trainer: JSONValue
    /// The parsed `trainer` object with its lines in state.json (set by `read`), for decoding with
    /// file:line errors.
    public var trainerNode: JSONNode?

    /// The best step the trainer recorded (nil before the first validation).
    public var bestStep: Int? { trainer[Key.bestStep]?.intValue }

    public init(step: Int, files: [String: FileRecord], trainer: JSONValue) {
        self.step = step; self.files = files; self.trainer = trainer
    }

    /// Reads `folder/state.json`; a damaged file is reported with its line and key.
    public static func read(folder: URL) throws(TrainingError) -> CheckpointState {
        let url = folder.appendingPathComponent(RunLayout.stateFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .corrupt("\(url.path) is missing or unreadable")
        }
        do {
            let root = try JSONFile.object(data, file: url.path)
            let step = root.optionalInt(Key.step)
            var files: [String: FileRecord] = [:]
            if let filesSection = root.section(Key.files) {
                for (name, node) in filesSection.members {
                    guard case .object(let members) = node.value else {
                        filesSection.fail(name, "expected an object {\"\(Key.bytes)\", \"\(Key.crc32c)\"}, found \(node.typeName)")
                        continue
                    }
                    let record = JSONSection(path: filesSection.keyPath(name), members: members, line: node.line, log: root.log)
                    let bytes = record.int(Key.bytes), crc = record.int(Key.crc32c)
                    if bytes < 0 { record.fail(Key.bytes, "expected a size ≥ 0, found \(bytes)") }
                    if crc < 0 || crc > Int(UInt32.max) { record.fail(Key.crc32c, "expected a 32-bit checksum, found \(crc)") }
                    files[name] = FileRecord(bytes: UInt64(max(0, bytes)), crc32c: UInt32(truncatingIfNeeded: max(0, crc)))
                }
            }
            let trainer = root.section(Key.trainer)
            try JSONFile.check(root.log, file: url.path)
            guard let trainer else { throw JSONReadError(file: url.path, line: nil, keyPath: Key.trainer, message: "missing") }
            let node = JSONNode(value: .object(trainer.members), line: trainer.line, column: 1)
            var state = CheckpointState(step: 0, files: files, trainer: JSONValue(node))
            state.step = step
            state.trainerNode = node
            return state
        } catch {
            throw .corrupt("\(error)")
        }
    }

    /// Pretty-printed, key-sorted state.json bytes (`JSONWriter`).
    public func encoded() throws -> Data {
        var filesObject: [(key: String, value: JSONValue)] = []
        for (name, record) in files {
            filesObject.append((key: name, value: [Key.bytes: .uint(record.bytes), Key.crc32c: .uint(UInt64(record.crc32c))]))
        }
        var object: JSONValue = [Key.format: .int(Int64(Self.format)), Key.files: .object(filesObject), Key.trainer: trainer]
        if let step { object.set(Key.step, .int(Int64(step))) }
        return try JSONFile.encode(object, trailingNewline: false)
    }

    /// Checks `folder/name` against its record: it must be recorded, present, of the recorded size
    /// and CRC-32C.
    public func verify(_ name: String, in folder: URL) throws(TrainingError) {
        let url = folder.appendingPathComponent(name)
        guard let record = files[name] else {
            throw .corrupt("\(url.path) is not recorded in the checkpoint's \(RunLayout.stateFile)")
        }
        guard FileManager.default.fileExists(atPath: url.path) else { throw .corrupt("\(url.path) is missing") }
        let actual = try Self.record(of: url)
        guard actual.bytes == record.bytes else {
            throw .corrupt("\(url.path) has \(actual.bytes) bytes, \(RunLayout.stateFile) records \(record.bytes) (truncated or damaged)")
        }
        guard actual.crc32c == record.crc32c else {
            throw .corrupt("\(url.path) does not match its CRC-32C in \(RunLayout.stateFile) (damaged)")
        }
    }

    /// Size and CRC-32C of a file, read in 4 MiB chunks.
    public static func record(of url: URL) throws(TrainingError) -> FileRecord {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw .io("cannot read \(url.path)") }
        defer { try? handle.close() }
        var crc = CRC32C.Running()
        var size: UInt64 = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 22) ?? Data() } catch { throw .io("cannot read \(url.path): \(error)") }
            if chunk.isEmpty { break }
            size += UInt64(chunk.count)
            chunk.withUnsafeBytes { crc.update(UnsafeRawBufferPointer($0)) }
        }
        return FileRecord(bytes: size, crc32c: crc.value)
    }
}
