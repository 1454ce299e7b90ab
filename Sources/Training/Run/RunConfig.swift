import Foundation
import Formats

/// The frozen `config.json` of a run, and the comparison that decides whether a resume may go on.
///
/// A resumed run must train the same model the same way; so any difference in the config is refused
/// except in keys that only change cadence or bookkeeping (`RunConfig.harmlessKeys`). The refusal
/// names every differing key path; `--allow-config-change` overrides it deliberately.
public enum RunConfig {
    /// Key paths whose change never alters the trained weights.
    public static let harmlessKeys: Set<String> = [
        "train.max_steps", "train.log_interval", "train.eval_interval", "train.sample_interval",
        "train.checkpoint_interval", "train.keep_last", "train.keep_best", "train.epochs",
        "train.probe_sentences",
    ]

    /// Flattens a JSON object into "a.b.c" → canonical JSON text of each leaf (arrays are leaves).
    public static func flatten(_ json: JSONValue, prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        if let members = json.members {
            for (k, v) in members {
                let path = prefix.isEmpty ? k : prefix + "." + k
                for (kk, vv) in flatten(v, prefix: path) { out[kk] = vv }
            }
        } else {
            out[prefix] = canonicalLeaf(json)
        }
        return out
    }

    /// A leaf as the text the hash has always been taken over (so runs keep their config hash):
    /// `[leaf]`, compact, keys sorted, a floating value ending in ".0" without it, and "/" written as
    /// "\\/" (as Foundation's serializer wrote them).
    static func canonicalLeaf(_ leaf: JSONValue) -> String {
        var writer = JSONWriter(style: .compact, sortedKeys: true)
        writer.dropsZeroFraction = true
        let text = (try? writer.string(.array([leaf]))) ?? "[]"
        return text.replacingOccurrences(of: "/", with: "\\/")
    }

    static func parse(_ config: Data, _ what: String) throws -> JSONValue {
        let value = JSONValue(try JSONFile.parse(config, file: what))
        guard value.members != nil else { throw TrainingError.invalidArgument("\(what) is not a JSON object") }
        return value
    }

    /// Key paths that differ between two configs, sorted.
    public static func differences(_ a: Data, _ b: Data) throws -> [String] {
        let fa = flatten(try parse(a, "the run's frozen config")), fb = flatten(try parse(b, "the requested config"))
        return Set(fa.keys).union(fb.keys).filter { fa[$0] != fb[$0] }.sorted()
    }

    /// Differences that matter for exact resume.
    public static func significantDifferences(frozen: Data, requested: Data) throws -> [String] {
        try differences(frozen, requested).filter { !harmlessKeys.contains($0) }
    }

    /// A short stable hash (FNV-1a 64) of the canonical form, recorded in every checkpoint.
    public static func hash(_ config: Data) throws -> String {
        let flat = flatten(try parse(config, "the config"))
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for key in flat.keys.sorted() where !harmlessKeys.contains(key) {
            for b in (key + "=" + flat[key]! + "\n").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return String(format: "%016llx", h)
    }
}
