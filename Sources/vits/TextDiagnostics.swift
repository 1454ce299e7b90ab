import Foundation
import Mandarin

/// What `g2p` and `synthesize` tell the user about text the Mandarin frontend cannot fully speak:
/// dropped characters as warnings on stderr, and text with nothing speakable as a failure.
enum TextDiagnostics {
    /// Prints one warning per kind of dropped character, prefixed with `label` (a line number or
    /// file) when given.
    static func warnDropped(_ result: G2PResult, label: String? = nil) {
        for line in DroppedCharacter.summary(result.dropped) {
            VoiceSupport.warn((label.map { $0 + ": " } ?? "") + line)
        }
    }

    /// Warns about dropped characters; throws when nothing in the text can be spoken.
    static func requireSpeakable(_ result: G2PResult, label: String? = nil) throws {
        warnDropped(result, label: label)
        if let reason = result.unspeakableReason {
            throw CommandFailure((label.map { $0 + ": " } ?? "") + reason)
        }
    }
}
