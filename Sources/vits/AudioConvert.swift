import ArgumentParser
import Foundation
import Audio

/// `vits audio convert`: any libsndfile format → mono WAV, optionally resampled.
struct AudioConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an audio file to a mono WAV (PCM16 or float32), optionally resampled.",
        discussion: """
            Channels are downmixed to their mean; resampling uses soxr at very high quality. The output \
            is written to a temporary file and renamed, so it is never left half-written.

            Example:
              vits audio convert 000001.wav -o 000001-22k.wav --sample-rate 22050
            """)

    @Argument(help: "Input audio file (WAV, FLAC, OGG, AIFF, …).")
    var input: String

    @Option(name: .shortAndLong, help: "Output WAV file.")
    var output: String

    @Option(help: "Output sample rate in Hz (default: the input's).")
    var sampleRate: Int?

    @Flag(name: .customLong("float"), help: "Write 32-bit float samples instead of 16-bit PCM.")
    var float32 = false

    func validate() throws {
        if let sampleRate, !AudioFile.supportedSampleRates.contains(sampleRate) {
            throw ValidationError("--sample-rate must be in \(AudioFile.supportedSampleRates) Hz (got \(sampleRate))")
        }
    }

    func run() throws {
        var audio = try AudioFile.read(URL(fileURLWithPath: input))
        if let sampleRate { audio = try audio.resampled(to: sampleRate) }
        try AudioFile.write(audio.samples, sampleRate: audio.sampleRate, to: URL(fileURLWithPath: output),
                            format: float32 ? .float32 : .pcm16)
    }
}
