import Foundation
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// The checkpoints of one run: `<root>/step-NNNNNNNN/` folders, each complete or absent.
///
/// Crash safety: a checkpoint is written into `<root>/.tmp-step-…`, every file and the folder are
/// fsynced, and only then is the folder renamed to its final name (an atomic rename on one file
/// system) and the parent fsynced. A `kill -9` at any instant therefore leaves either the complete
/// new checkpoint or none of it. `state.json` records each file's size and CRC-32C; loading verifies
/// them and falls back to the previous checkpoint, with a warning, when the newest is damaged.
public final class CheckpointStore {
    public struct Checkpoint: Sendable {
        public let step: Int
        public let url: URL
        /// The trainer's own state object, as compact JSON (decoded by the caller).
        public let trainerState: Data
        /// The same object as parsed from state.json (lines of that file), for keyed errors.
        public let trainer: JSONNode?
        public var stateURL: URL { url.appendingPathComponent(RunLayout.stateFile) }
    }

    public let root: URL
    private let fm = FileManager.default

    public init(root: URL) throws {
        self.root = root
        do { try fm.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw TrainingError.io("cannot create checkpoint folder \(root.path): \(error.localizedDescription)")
        }
        // Leftovers of an interrupted write or prune are never valid checkpoints.
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        where name.hasPrefix(RunLayout.writingPrefix) || name.hasPrefix(RunLayout.deletingPrefix) {
            try? fm.removeItem(at: root.appendingPathComponent(name))
        }
    }

    public static func folderName(step: Int) -> String { RunLayout.checkpointFolderName(step: step) }

    /// Steps of the checkpoint folders present (complete by construction), ascending.
    public func steps() -> [Int] { RunLayout.completeSteps(inCheckpoints: root) }

    /// Writes checkpoint `step`: `writeFiles` fills the folder it is given and returns the trainer's
    /// state (a JSON object); then `state.json` is written with it and the checksums of every file,
    /// and the folder is published.
    /// If a complete checkpoint of that step already exists it is kept and returned unchanged.
    @discardableResult
    public func write(step: Int, _ writeFiles: (URL) throws -> Data) throws -> URL {
        let final = root.appendingPathComponent(Self.folderName(step: step))
        if fm.fileExists(atPath: final.appendingPathComponent(RunLayout.stateFile).path) { return final }
        CheckpointTestPause.beginCheckpoint()
        let tmp = root.appendingPathComponent(RunLayout.writingPrefix + "\(Self.folderName(step: step))-\(getpid())")
        try? fm.removeItem(at: tmp)
        do { try fm.createDirectory(at: tmp, withIntermediateDirectories: false) } catch {
            throw TrainingError.io("cannot create \(tmp.path): \(error.localizedDescription)")
        }
        do {
            let trainerState = try writeFiles(tmp)
            var files: [String: CheckpointState.FileRecord] = [:]
            for name in try fm.contentsOfDirectory(atPath: tmp.path).sorted() {
                let url = tmp.appendingPathComponent(name)
                files[name] = try CheckpointState.record(of: url)
                try Self.fsync(url)
            }
            let trainer = JSONValue(try JSONFile.parse(trainerState, file: "the trainer state of step \(step)"))
            guard case .object = trainer else { throw TrainingError.invalidArgument("trainer state must be a JSON object") }
            let json = try CheckpointState(step: step, files: files, trainer: trainer).encoded()
            let stateURL = tmp.appendingPathComponent(RunLayout.stateFile)
            try json.write(to: stateURL)
            CheckpointTestPause.reached(.state)
            try Self.fsync(stateURL)
            try Self.fsync(tmp)
            guard rename(tmp.path, final.path) == 0 else {
                throw TrainingError.io("cannot publish checkpoint \(final.path): \(String(cString: strerror(errno)))")
            }
            CheckpointTestPause.reached(.rename)
            try Self.fsync(root)
        } catch {
            try? fm.removeItem(at: tmp)
            if let e = error as? TrainingError { throw e }
            throw TrainingError.io("writing checkpoint step \(step) in \(root.path) failed: \(error.localizedDescription)")
        }
        return final
    }

    /// Loads and verifies checkpoint `step`.
    public func load(step: Int) throws -> Checkpoint {
        let dir = root.appendingPathComponent(Self.folderName(step: step))
        let state = try CheckpointState.read(folder: dir)
        for name in state.files.keys.sorted() { try state.verify(name, in: dir) }
        let trainerData = try JSONWriter(style: .compact, sortedKeys: true).data(state.trainer)
        return Checkpoint(step: step, url: dir, trainerState: trainerData, trainer: state.trainerNode)
    }

    /// The newest checkpoint that verifies. Damaged newer ones are reported through `warn` and
    /// skipped. Returns nil only when the run has no checkpoint at all; throws when checkpoints
    /// exist but none verifies (never a silent restart from scratch).
    public func loadNewest(warn: (String) -> Void) throws -> Checkpoint? {
        let all = steps()
        if all.isEmpty { return nil }
        var problems: [String] = []
        for step in all.reversed() {
            do { return try load(step: step) } catch {
                let message = "checkpoint step \(step) is unusable (\(error)); falling back to an older one"
                warn(message)
                problems.append("\(error)")
            }
        }
        throw TrainingError.corrupt("no loadable checkpoint in \(root.path) (\(all.count) found, all damaged): "
                                    + problems.joined(separator: "; ")
                                    + ". Move the folder away to start from scratch.")
    }

    /// Deletes all but the newest `keepLast` checkpoints and those in `protect` (e.g. the best one).
    public func prune(keepLast: Int, protect: Set<Int>) {
        let all = steps()
        let keep = Set(all.suffix(max(1, keepLast))).union(protect)
        for step in all where !keep.contains(step) {
            let dir = root.appendingPathComponent(Self.folderName(step: step))
            // Rename first: a crash mid-delete must not leave a half-deleted folder that looks complete.
            let trash = root.appendingPathComponent(RunLayout.deletingPrefix + Self.folderName(step: step))
            if rename(dir.path, trash.path) == 0 { try? fm.removeItem(at: trash) }
        }
    }

    static func fsync(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw TrainingError.io("cannot open \(url.path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw TrainingError.io("fsync \(url.path) failed: \(String(cString: strerror(errno)))") }
    }
}
