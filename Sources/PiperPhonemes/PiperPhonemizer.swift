import Foundation
import CEspeakNG

public enum PhonemizerError: Error, CustomStringConvertible, Equatable {
    case espeakUnavailable(String)
    case unknownVoice(String)
    case missingSpecialSymbol(String)

    public var description: String {
        switch self {
        case .espeakUnavailable(let m), .unknownVoice(let m), .missingSpecialSymbol(let m): return m
        }
    }
}

/// One clause as espeak-ng reads it: its IPA phonemes, the punctuation that ended it and whether
/// that punctuation ends a sentence.
public struct EspeakClause: Equatable, Sendable {
    public var phonemes: String
    public var terminator: String
    public var endsSentence: Bool
}

/// Text → IPA phonemes through espeak-ng's C library (Debian's libespeak-ng), clause by clause.
///
/// espeak-ng keeps global state (one voice at a time, not thread-safe): every call holds one lock.
/// Piper calls a function of its own espeak-ng fork (`espeak_TextToPhonemesWithTerminator`) that
/// also returns the clause's terminator; the Debian library has only `espeak_TextToPhonemes`, so
/// the terminator is read from the text the clause consumed (its last punctuation mark).
public enum Espeak {
    nonisolated(unsafe) private static var initialized = false
    private static let lock = NSLock()

    /// Phonemes of `text` for espeak voice `voice` (`en-us`, `de`, `fr-fr`, …), one entry per clause.
    public static func clauses(_ text: String, voice: String) throws(PhonemizerError) -> [EspeakClause] {
        lock.lock()
        defer { lock.unlock() }
        if !initialized {
            // Synchronous output, no buffer, default data path, do not exit the process on errors.
            let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, Int32(espeakINITIALIZE_DONT_EXIT))
            guard rate > 0 else {
                throw .espeakUnavailable("espeak-ng could not start (its data files are missing? install espeak-ng-data)")
            }
            initialized = true
        }
        // Piper names voices by language (`fr-fr`); Debian's espeak-ng finds some of those only by language.
        let selected = espeak_SetVoiceByName(voice) == EE_OK || voice.withCString { language -> Bool in
            var spec = espeak_VOICE()
            spec.languages = language
            guard espeak_SetVoiceByProperties(&spec) == EE_OK, let current = espeak_GetCurrentVoice(),
                  let languages = current.pointee.languages else { return false }
            // espeak-ng falls back to some voice for any language; accept only one that speaks it
            // (`languages` is a priority byte followed by the language name).
            return String(cString: languages + 1).lowercased() == voice.lowercased()
        }
        guard selected else {
            throw .unknownVoice("espeak-ng has no voice '\(voice)' (list them with `espeak-ng --voices`)")
        }
        var bytes = Array(text.utf8)
        bytes.append(0)
        var out: [EspeakClause] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var cursor: UnsafeRawPointer? = UnsafeRawPointer(base)
            while let start = cursor {
                guard let phonemes = espeak_TextToPhonemes(&cursor, Int32(espeakCHARS_UTF8), Int32(espeakPHONEMES_IPA)) else { break }
                let consumedEnd = cursor.map { $0 - UnsafeRawPointer(base) } ?? (buffer.count - 1)
                let consumedStart = start - UnsafeRawPointer(base)
                let consumed = String(decoding: buffer[consumedStart..<max(consumedStart, consumedEnd)], as: UTF8.self)
                let (terminator, endsSentence) = Self.terminator(of: consumed, atEnd: cursor == nil)
                out.append(EspeakClause(phonemes: String(cString: phonemes), terminator: terminator, endsSentence: endsSentence))
            }
        }
        return out
    }

    /// The clause terminator as Piper reports it, from the clause's text: `.` `?` `!` end a
    /// sentence, `,` `:` `;` do not, an ellipsis is no terminator, and the end of the text ends a
    /// sentence. espeak-ng leaves its text pointer one character into the next clause (it reads
    /// ahead), so that character is dropped first; quotes and brackets around the mark are looked through.
    static func terminator(of clause: String, atEnd: Bool) -> (String, Bool) {
        var tail = Substring(clause)
        if !atEnd { while let last = tail.last, last.isLetter || last.isNumber { tail = tail.dropLast() } }
        while let last = tail.last, last.isWhitespace || "\"'“”‘’«»()[]{}\u{0}".contains(last) { tail = tail.dropLast() }
        if tail.hasSuffix("..") || tail.hasSuffix("…") { return ("", atEnd) }
        switch tail.last {
        case "."?: return (".", true)
        case "?"?: return ("?", true)
        case "!"?: return ("!", true)
        case ","?: return (",", false)
        case ":"?: return (":", false)
        case ";"?: return (";", false)
        default: return ("", atEnd)
        }
    }
}

/// Piper 1.x phonemization: espeak-ng clauses → sentences of phonemes (Unicode code points after
/// NFD decomposition, punctuation kept), and phonemes → ids (`^ _ p₁ _ p₂ _ … _ $`).
public struct PiperPhonemizer: Sendable {
    public let espeakVoice: String
    public let phonemeIDMap: [String: [Int]]

    public init(espeakVoice: String, phonemeIDMap: [String: [Int]]) throws(PhonemizerError) {
        for symbol in ["^", "$", "_"] where phonemeIDMap[symbol] == nil {
            throw .missingSpecialSymbol("the voice's phoneme_id_map has no '\(symbol)' (Piper's sentence start, end and pad)")
        }
        self.espeakVoice = espeakVoice
        self.phonemeIDMap = phonemeIDMap
    }

    /// Sentences of phonemes, as piper-tts's `EspeakPhonemizer.phonemize`.
    public func phonemes(_ text: String) throws(PhonemizerError) -> [[String]] {
        var sentences: [[String]] = []
        var current: [String] = []
        for clause in try Espeak.clauses(text, voice: espeakVoice) {
            // "(en)" … "(fr)": espeak's language-switch flags around foreign words; Piper drops them.
            var text = Self.removingLanguageFlags(clause.phonemes) + clause.terminator
            if [",", ":", ";"].contains(clause.terminator) { text += " " }
            current.append(contentsOf: text.decomposedStringWithCanonicalMapping.unicodeScalars.map { String($0) })
            if clause.endsSentence {
                sentences.append(current)
                current = []
            }
        }
        if !current.isEmpty { sentences.append(current) }
        if let last = sentences.last, last.isEmpty { sentences.removeLast() }
        return sentences
    }

    /// Ids of one sentence; phonemes missing from the map are skipped (and returned).
    public func ids(_ phonemes: [String]) -> (ids: [Int], missing: [String]) {
        let pad = phonemeIDMap["_"] ?? []
        var ids = (phonemeIDMap["^"] ?? []) + pad
        var missing: [String] = []
        for p in phonemes {
            guard let id = phonemeIDMap[p] else { missing.append(p); continue }
            ids += id
            ids += pad
        }
        ids += phonemeIDMap["$"] ?? []
        return (ids, missing)
    }

    static func removingLanguageFlags(_ s: String) -> String {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "(", let close = s[s.index(after: i)...].firstIndex(of: ")"), close > s.index(after: i) {
                i = s.index(after: close)
                continue
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }
}
