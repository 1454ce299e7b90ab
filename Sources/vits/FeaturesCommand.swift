import ArgumentParser
import Foundation
import Audio
import Features
import Formats

/// `vits features`: linear or log-mel spectrogram of an audio file, written as .npy [bins, frames].
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Compute the VITS linear spectrogram or log-mel spectrogram of an audio file.",
        discussion: """
            Reads any format libsndfile reads (downmixed to mono), resamples to --sample-rate when the \
            file's rate differs, and writes a NumPy .npy (float32, [bins, frames]; n_fft/2+1 bins, or \
            n_mels with --mel). The definition is the reference VITS one (reflect padding, center=false, \
            periodic Hann window, Slaney mel filterbank, natural log clamped at 1e-5).

            Example:
              vits features speech.wav -o speech-mel.npy --mel --sample-rate 22050
            """)

    @Argument(help: "Input audio file (WAV, FLAC, OGG, …).")
    var input: String

    @Option(name: .shortAndLong, help: "Output .npy file.")
    var output: String

    @Flag(help: "Log-mel spectrogram instead of the linear magnitude spectrogram.")
    var mel = false

    @OptionGroup var stft: SpectrogramOptions

    @Option(help: "Number of mel channels (with --mel).")
    var nMels = 80

    @Option(help: "Lowest mel frequency (Hz).")
    var fmin: Double = 0

    @Option(help: "Highest mel frequency (Hz); default sample-rate / 2.")
    var fmax: Double?

    func run() throws {
        let sampleRate = stft.sampleRate
        let config = SpectrogramConfig(sampleRate: sampleRate, nFFT: stft.nFft, hopLength: stft.hopLength,
                                       winLength: stft.winLength, nMels: nMels, fmin: fmin, fmax: fmax)
        try config.validate()
        let audio = try AudioFile.read(URL(fileURLWithPath: input), sampleRate: sampleRate)
        let features = mel ? try MelSpectrogram(config: config).compute(audio.samples)
                           : try LinearSpectrogram(config: config).compute(audio.samples)
        try Npy.write(features.values, shape: [features.rows, features.frames], to: URL(fileURLWithPath: output))
        print("wrote \(output): \(mel ? "log-mel" : "linear spectrogram") [\(features.rows), \(features.frames)] at \(sampleRate) Hz")
    }
}
