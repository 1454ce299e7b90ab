/// One input character the frontend left out because it has no sound it could give.
public struct DroppedCharacter: Sendable, Equatable {
    public enum Reason: Sendable, Equatable, CaseIterable {
        /// Not in the inventory: emoji, symbols, other scripts, control characters (normalization rule 15).
        case unsupported
        /// U+FFFD, the replacement character: the input had bytes that are not UTF-8 (decoders put
        /// one U+FFFD in place of each undecodable sequence).
        case undecodable
        /// A hanzi the lexicon has no reading for.
        case noReading
    }

    public let scalar: Unicode.Scalar
    public let reason: Reason

    public init(scalar: Unicode.Scalar, reason: Reason) {
        self.scalar = scalar
        self.reason = reason
    }

    /// `'☃' (U+2603)`; control, format and space characters as their code point only.
    public var display: String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate, .privateUse:
            return code
        default:
            return "'\(Character(scalar))' (\(code))"
        }
    }

    /// One line per reason, e.g. `dropped 1 character not in the inventory: '☃' (U+2603)`, naming
    /// the first `limit` distinct characters of each kind. Empty when nothing was dropped.
    public static func summary(_ dropped: [DroppedCharacter], limit: Int = 5) -> [String] {
        Reason.allCases.compactMap { reason in
            let these = dropped.filter { $0.reason == reason }
            guard !these.isEmpty else { return nil }
            var seen = Set<Unicode.Scalar>(), shown: [String] = []
            for d in these where seen.insert(d.scalar).inserted {
                if shown.count < limit { shown.append(d.display) }
            }
            let more = seen.count > shown.count ? ", … (\(seen.count - shown.count) more distinct)" : ""
            let n = these.count
            switch reason {
            case .unsupported:
                return "dropped \(n) character\(n == 1 ? "" : "s") not in the inventory: " + shown.joined(separator: ", ") + more
            case .noReading:
                return "dropped \(n) hanzi without a reading in the lexicon: " + shown.joined(separator: ", ") + more
                    + " (add a reading with a zh_overrides.txt lexicon, see docs/frontend.md)"
            case .undecodable:
                return "dropped \(n) undecodable byte sequence\(n == 1 ? "" : "s") (U+FFFD): the input is not valid UTF-8"
                    + " (convert it first, e.g. iconv -f GB18030 -t UTF-8)"
            }
        }
    }
}

extension G2PResult {
    /// True when the text gives at least one syllable.
    public var isSpeakable: Bool { !pinyin.isEmpty }

    /// Why the text gives no syllable, as a message a user can act on; nil when it is speakable.
    public var unspeakableReason: String? {
        guard !isSpeakable else { return nil }
        if text.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            return "nothing to say: the text is empty" + (text.isEmpty ? "" : " (only spaces or line breaks)")
        }
        if dropped.contains(where: { $0.reason == .undecodable }) {
            return "nothing to say: the input is not valid UTF-8 (undecodable bytes became U+FFFD); convert it to UTF-8 first, e.g. iconv -f GB18030 -t UTF-8"
        }
        if !dropped.isEmpty {
            let shown = DroppedCharacter.summary(dropped, limit: 3).joined(separator: "; ")
            return "nothing to say: no character of the text can be spoken (\(shown)); the Mandarin frontend reads hanzi, Latin letters, digits, and the symbols listed in docs/frontend.md"
        }
        return "nothing to say: the text has only punctuation or spaces; give hanzi, Latin letters or digits"
    }
}
