import Foundation

/// A test-only pause inside a checkpoint write, so a crash test can SIGKILL `vits train` at a known
/// phase (docs/training.md, "Crash safety"). Set `VITS_CHECKPOINT_TEST_PAUSE=PHASE:N:MARKER`: when
/// the N-th checkpoint this process writes (1-based) reaches PHASE, the process creates the file
/// MARKER and sleeps until killed. Without the variable every call is a no-op.
///
/// Phases, in write order:
/// - `weights`: the generator's weight file is in the temporary folder, the discriminator's not yet;
/// - `optimizer`: the generator's optimizer state is written, the discriminator's not yet;
/// - `state`: `state.json` (sizes and checksums) is written but not synced, the folder not renamed;
/// - `rename`: the folder has its final name, the parent folder is not synced yet.
public enum CheckpointTestPause {
    public enum Phase: String, Sendable, CaseIterable { case weights, optimizer, state, rename }

    public static let variable = "VITS_CHECKPOINT_TEST_PAUSE"

    private struct Request: Sendable { let phase: Phase; let checkpoint: Int; let marker: String }

    private static let request: Request? = {
        guard let raw = ProcessInfo.processInfo.environment[variable] else { return nil }
        let parts = raw.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, let phase = Phase(rawValue: parts[0]), let n = Int(parts[1]), n >= 1, !parts[2].isEmpty else {
            FileHandle.standardError.write(Data("warning: ignoring \(variable)=\(raw): expected PHASE:N:MARKER with PHASE one of \(Phase.allCases.map(\.rawValue)) and N ≥ 1\n".utf8))
            return nil
        }
        return Request(phase: phase, checkpoint: n, marker: parts[2])
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started = 0

    /// Called by `CheckpointStore.write` when it begins a checkpoint.
    static func beginCheckpoint() {
        guard request != nil else { return }
        lock.lock(); started += 1; lock.unlock()
    }

    /// Pauses forever (until killed) when the current checkpoint is the requested one at `phase`.
    public static func reached(_ phase: Phase) {
        guard let request, request.phase == phase else { return }
        lock.lock(); let current = started; lock.unlock()
        guard current == request.checkpoint else { return }
        FileManager.default.createFile(atPath: request.marker, contents: Data("\(phase.rawValue) \(current)\n".utf8))
        while true { sleep(60) }
    }
}
