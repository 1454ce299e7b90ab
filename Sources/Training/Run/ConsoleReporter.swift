import Foundation
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// The trainer's console: one status line per log interval (step/max, losses, steps/s, LR, ETA),
/// or nothing (`quiet`), or one JSON object per line (`json`, for scripts).
public struct ConsoleReporter: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case human, quiet, json }
    public let mode: Mode

    public init(mode: Mode) { self.mode = mode }

    public func banner(_ text: String) {
        switch mode {
        case .human: FileHandle.standardError.write(Data((text + "\n").utf8))
        case .json: emit(["event": "banner", "message": .string(text)])
        case .quiet: break
        }
    }

    public func warning(_ text: String) {
        // Warnings are never silenced: they explain why a run did something unexpected.
        if mode == .json { emit(["event": "warning", "message": .string(text)]) } else {
            FileHandle.standardError.write(Data(("warning: " + text + "\n").utf8))
        }
    }

    public func status(step: Int, maxSteps: Int, losses: [(String, Double)], stepsPerSecond: Double, learningRate: Double) {
        let remaining = Double(max(0, maxSteps - step))
        let eta = stepsPerSecond > 0 ? remaining / stepsPerSecond : .infinity
        switch mode {
        case .quiet: return
        case .json:
            var obj: JSONValue = ["event": "status", "step": .int(Int64(step)), "max_steps": .int(Int64(maxSteps)),
                                  "steps_per_second": .double(stepsPerSecond), "lr": .double(learningRate),
                                  "eta_seconds": .double(eta.isFinite ? eta : -1)]
            for (k, v) in losses { obj.set(k, .double(v.isFinite ? v : -1)) }
            emit(obj)
        case .human:
            let width = String(maxSteps).count
            let pct = maxSteps > 0 ? 100 * Double(step) / Double(maxSteps) : 0
            let lossText = losses.map { "\($0.0) \(Self.format($0.1))" }.joined(separator: "  ")
            let line = String(format: "step %\(width)d/%d (%5.1f%%)  ", step, maxSteps, pct) + lossText
                + String(format: "  %.2f steps/s  lr %.3e  ETA %@", stepsPerSecond, learningRate, Self.duration(eta))
            print(line)
            fflush(nil)   // one line per interval, also when stdout is a pipe or a log file
        }
    }

    public static func format(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        return abs(v) >= 100 ? String(format: "%.1f", v) : String(format: "%.4f", v)
    }

    /// "3d04h", "2h05m", "4m07s", "12s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s >= 86_400 { return String(format: "%dd%02dh", s / 86_400, (s % 86_400) / 3600) }
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }

    /// One compact, key-sorted line; a non-finite number (a rate before the first step) is written
    /// as null, JSON having none.
    private func emit(_ obj: JSONValue) {
        if let data = try? JSONWriter(style: .compact, sortedKeys: true, nonFinite: .null).data(obj) {
            print(String(decoding: data, as: UTF8.self))
            fflush(nil)
        }
    }
}
