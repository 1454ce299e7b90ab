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

