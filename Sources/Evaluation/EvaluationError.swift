import Foundation

/// What can go wrong when scoring synthesized speech against recordings.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// A signal is too short to hold one analysis frame.
    case audioTooShort(String, seconds: Double)
    /// A file or folder could not be read.
    case unreadable(String)
    /// Nothing to score (no pairs, no utterances).
    case nothingToScore(String)

    public var description: String {
        switch self {
        case .audioTooShort(let what, let seconds):
            return String(format: "%@ is %.3f s long; scoring needs at least 0.05 s of audio", what, seconds)
        case .unreadable(let message): return message
        case .nothingToScore(let message): return message
        }
    }
}

/// Splits 0..<count into chunks run on all cores (Evaluation sits beside Features, so it has its
/// own copy of this small helper). Small jobs run inline: dispatch costs microseconds.
enum EvaluationWork {
    static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    static func forRanges(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workers * 4, max(1, count / max(1, minChunk)))
        if chunks <= 1 || workers == 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { work(lo..<hi) }
            }
        }
    }
}
