import ArgumentParser
import Foundation
import Mandarin

/// `vits g2p`: what the Mandarin frontend makes of a line of text.
struct G2PCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g2p",
        abstract: "Normalize Chinese text and convert it to pinyin and phoneme tokens.",
        discussion: """
            With TEXT, analyses that text; without it, every line of standard input.
            Example: vits g2p "请等一会儿。"    echo "今天是2024年3月5日。" | vits g2p --json
            --json prints one object per input line:
              {"text", "normalized", "pinyin": [...], "chars": [{"char", "pinyin"}...], "tokens": [...]}
            Characters that give no sound (emoji, symbols, other scripts, hanzi the lexicon cannot \
            read, bytes that are not UTF-8) are dropped with a warning on standard error. Text with \
            nothing to say fails (exit 1) after its output is printed: TEXT when it has no syllable, \
            standard input when a line that is not blank has none (blank lines are passed through).
            """)

    @Argument(help: "Text to analyse (default: read lines from standard input).")
    var text: String?

    @Flag(help: "One JSON object per input line.")
    var json = false

    @Option(help: "Use the lexicon in this folder (zh_chars.txt, zh_words.txt, optional zh_overrides.txt) instead of the bundled one.")
    var lexicon: String?

    func run() throws {
        let frontend: MandarinFrontend
        do {
            if let lexicon {
                frontend = MandarinFrontend(lexicon: try Self.loadLexicon(folder: lexicon))
            } else {
                frontend = try MandarinFrontend.bundled()
            }
        } catch {
            throw ValidationError(error.description)
        }
        var output = FileHandleOutput()
        if let text {
            let result = frontend.process(text)
            emit(result, to: &output)
            output.flush()
            try TextDiagnostics.requireSpeakable(result)
        } else {
            var unspeakable: [String] = []
            var number = 0
            while let line = readLine(strippingNewline: true) {
                number += 1
                let result = frontend.process(line)
                emit(result, to: &output)
                TextDiagnostics.warnDropped(result, label: "line \(number)")
                let blank = line.unicodeScalars.allSatisfy(\.properties.isWhitespace)
                if !blank, let reason = result.unspeakableReason { unspeakable.append("line \(number): \(reason)") }
            }
            output.flush()
            if !unspeakable.isEmpty {
                let shown = unspeakable.prefix(5).joined(separator: "\n")
                throw CommandFailure(shown + (unspeakable.count > 5 ? "\n… \(unspeakable.count - 5) more lines with nothing to say" : ""))
            }
        }
    }

    static func loadLexicon(folder: String) throws(MandarinError) -> Lexicon {
        func read(_ name: String, optional: Bool = false) throws(MandarinError) -> Data {
            let path = (folder as NSString).appendingPathComponent(name)
            if optional && !FileManager.default.fileExists(atPath: path) { return Data() }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .unreadableFile(path: path, reason: "missing or unreadable")
            }
            return data
        }
        return try Lexicon(chars: read("zh_chars.txt"), words: read("zh_words.txt"), overrides: read("zh_overrides.txt", optional: true))
    }

    func emit(_ r: G2PResult, to output: inout FileHandleOutput) {
        if json {
            output.write(G2PJSON.encode(r))
            output.write("\n")
        } else {
            output.write("normalized: \(r.normalized)\npinyin:     \(r.pinyin.joined(separator: " "))\ntokens:     \(r.tokens.joined(separator: " "))\n")
        }
    }
}

/// Buffered stdout (one write per 64 KB, not per line).
struct FileHandleOutput {
    var buffer = ""
    mutating func write(_ s: String) {
        buffer += s
        if buffer.utf8.count > 65536 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}

/// The JSON line of issue 4 item 6, keys in a fixed order.
enum G2PJSON {
    static func encode(_ r: G2PResult) -> String {
        var s = "{\"text\": " + quote(r.text) + ", \"normalized\": " + quote(r.normalized) + ", \"pinyin\": ["
        s += r.pinyin.map(quote).joined(separator: ", ")
        s += "], \"chars\": ["
        s += r.chars.map { "{\"char\": " + quote(String($0.char)) + ", \"pinyin\": " + ($0.pinyin.map(quote) ?? "null") + "}" }
            .joined(separator: ", ")
        s += "], \"tokens\": ["
        s += r.tokens.map(quote).joined(separator: ", ")
        return s + "]}"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
