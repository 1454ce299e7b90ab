import ArgumentParser
import Foundation
import Formats
import PiperPhonemes
import VITS
import Voice

/// `vits phonemize`: the phonemes and ids an imported Piper voice reads for a text.
struct PhonemizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phonemize",
        abstract: "Print the Piper phonemes and phoneme ids of a text, sentence by sentence.",
        discussion: """
            Uses espeak-ng (Debian's libespeak-ng) with the voice's espeak voice, as Piper 1.x does: \
            clauses, punctuation kept (`,` `:` `;` followed by a space), NFD-decomposed code points, \
            then ids `^ _ p₁ _ p₂ _ … _ $` from the voice's phoneme_id_map. Give --espeak-voice without \
            --voice to see phonemes only.

            Examples:
              vits phonemize --voice voices/lessac --text "Hello there. How are you?"
              vits phonemize --config en_US-lessac-medium.onnx.json --text-file lines.txt --json
              vits phonemize --espeak-voice de --text "Guten Tag."
            """)

    @Option(help: "An imported Piper voice bundle (vits import piper).") var voice: String?
    @Option(help: "A Piper voice config (VOICE.onnx.json): its espeak voice and phoneme_id_map.") var config: String?
    @Option(help: "An espeak-ng voice, without a bundle (phonemes only).") var espeakVoice: String?
    @Option(help: "The text.") var text: String?
    @Option(help: "A UTF-8 file: each line is phonemized on its own.") var textFile: String?
    @Flag(help: "One JSON object per sentence ({\"line\", \"phonemes\": [...], \"ids\": [...]}).") var json = false

    func validate() throws {
        guard [voice, config, espeakVoice].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --voice, --config and --espeak-voice")
        }
        guard (text == nil) != (textFile == nil) else { throw ValidationError("give exactly one of --text and --text-file") }
    }

    func run() throws {
        let phonemizer: PiperPhonemizer
        let withIDs = espeakVoice == nil
        if let voice {
            phonemizer = try PiperSupport.phonemizer(bundle: URL(fileURLWithPath: voice))
        } else if let config {
            let piper = try PiperVoiceConfig(url: URL(fileURLWithPath: config))
            guard let v = piper.espeakVoice else { throw CommandFailure("\(config) has no espeak.voice") }
            phonemizer = try PiperPhonemizer(espeakVoice: v, phonemeIDMap: piper.phonemeIDMap)
        } else {
            phonemizer = try PiperPhonemizer(espeakVoice: espeakVoice ?? "", phonemeIDMap: ["^": [1], "$": [2], "_": [0]])
        }
        let lines: [String]
        if let textFile {
            guard let data = FileManager.default.contents(atPath: textFile) else { throw CommandFailure("cannot read \(textFile)") }
            lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        } else {
            lines = [text ?? ""]
        }
        for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            for sentence in try phonemizer.phonemes(line) {
                let (ids, missing) = phonemizer.ids(sentence)
                if json {
                    var object: JSONValue = ["line": .int(Int64(number + 1)), "phonemes": .array(sentence.map(JSONValue.string))]
                    if withIDs { object.set("ids", .array(ids.map { .int(Int64($0)) })) }
                    print(try JSONWriter(style: .compact, sortedKeys: true).string(object))
                } else {
                    print(sentence.joined())
                    if withIDs { print(ids.map(String.init).joined(separator: " ")) }
                }
                if withIDs, !missing.isEmpty { VoiceSupport.warn("not in the voice's phoneme_id_map (skipped): \(missing.joined(separator: " "))") }
            }
        }
    }
}
