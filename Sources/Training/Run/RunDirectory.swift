import Foundation

/// `runs/<name>/`: the frozen `config.json`, `checkpoints/`, `logs/` and `samples/` of one run.
public struct RunDirectory: Sendable {
    public let root: URL
    public var name: String { root.lastPathComponent }
    public var configURL: URL { root.appendingPathComponent(RunLayout.configFile) }
    public var checkpoints: URL { root.appendingPathComponent(RunLayout.checkpointsFolder) }
    public var logs: URL { root.appendingPathComponent(RunLayout.logsFolder) }
    public var samples: URL { root.appendingPathComponent(RunLayout.samplesFolder) }

    /// The folder's layout without opening it (ranks other than 0 of a data-parallel job, which
    /// never write the run folder).
    public init(root: URL) { self.root = root }

    /// Opens (or creates) the run folder and reconciles its frozen config with `config`:
    /// a new run freezes `config`; an existing run keeps its frozen config, and a requested config that
    /// differs in keys that matter is refused with their names unless `allowConfigChange` is set
    /// (then the new config is frozen and the change is reported through `warn`). Cadence keys
    /// (`RunConfig.harmlessKeys`) may always change.
    public static func open(_ root: URL, config: Data, allowConfigChange: Bool, warn: (String) -> Void) throws -> RunDirectory {
        let run = RunDirectory(root: root)
        let fm = FileManager.default
        do {
            for dir in [run.root, run.checkpoints, run.logs, run.samples] {
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            }
        } catch {
            throw TrainingError.io("cannot create run folder \(root.path): \(error.localizedDescription)")
        }
        _ = try RunConfig.parse(config, "the config")
        if let frozen = try? Data(contentsOf: run.configURL) {
            let changed = try RunConfig.significantDifferences(frozen: frozen, requested: config)
            if !changed.isEmpty {
                guard allowConfigChange else {
                    throw TrainingError.configMismatch(
                        "the config differs from the one frozen in \(run.configURL.path) in: \(changed.joined(separator: ", ")). "
                        + "Resuming with a different config would not continue the same run; use a new --run folder, "
                        + "or pass --allow-config-change to accept the change.")
                }
                warn("config changed in \(changed.joined(separator: ", ")) (accepted by --allow-config-change)")
            }
        }
        try config.write(to: run.configURL, options: .atomic)
        return run
    }
}
