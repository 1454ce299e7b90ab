#if canImport(Glibc)
import Glibc
#endif

/// SIGINT / SIGTERM / SIGUSR1 → a flag the training loop polls between steps, so it can write a checkpoint and
/// exit cleanly instead of dying mid-step. A second signal while the first is being handled exits
/// at once (the last complete checkpoint stays valid: checkpoints are published atomically).
/// SIGUSR1 is there for MPI jobs: `mpirun` forwards it to every rank, whereas a SIGINT or SIGTERM
/// to `mpirun` is followed by SIGKILL after a short grace period (docs/training.md).
public enum StopSignal {
    nonisolated(unsafe) private static var received: sig_atomic_t = 0
    nonisolated(unsafe) private static var lastSignal: Int32 = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if StopSignal.received != 0 { _exit(128 + sig) }
            StopSignal.received = 1
            StopSignal.lastSignal = sig
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGUSR1, handler)
    }

    public static var isRequested: Bool { received != 0 }
    public static var signalName: String { lastSignal == SIGTERM ? "SIGTERM" : lastSignal == SIGUSR1 ? "SIGUSR1" : "SIGINT" }

    /// For tests and embedding: clear a handled request.
    public static func reset() { received = 0; lastSignal = 0 }
}
