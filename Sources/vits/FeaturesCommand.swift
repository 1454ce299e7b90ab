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

    @Option(help: "Sample rate (Hz) to compute at; the input is resampled if it differs.")
    var sampleRate = 22050

    @Option(help: "FFT size (VITS filter_length).")
    var nFft = 1024

    @Option(help: "Hop length in samples.")
    var hopLength = 256

    @Option(help: "Window length in samples (≤ n-fft; zero-padded to n-fft).")
    var winLength = 1024

    @Option(help: "Number of mel channels (with --mel).")
    var nMels = 80

    @Option(help: "Lowest mel frequency (Hz).")
    var fmin: Double = 0

    @Option(help: "Highest mel frequency (Hz); default sample-rate / 2.")
    var fmax: Double?

    func validate() throws {
        guard AudioFile.supportedSampleRates.contains(sampleRate) else {
            throw ValidationError("--sample-rate must be in \(AudioFile.supportedSampleRates) Hz (got \(sampleRate))")
        }
    }

    func run() throws {
        let config = SpectrogramConfig(sampleRate: sampleRate, nFFT: nFft, hopLength: hopLength, winLength: winLength,
                                       nMels: nMels, fmin: fmin, fmax: fmax)
        try config.validate()
        let audio = try AudioFile.read(URL(fileURLWithPath: input), sampleRate: sampleRate)
        let features = mel ? try MelSpectrogram(config: config).compute(audio.samples)
                           : try LinearSpectrogram(config: config).compute(audio.samples)
        try Npy.write(features.values, shape: [features.rows, features.frames], to: URL(fileURLWithPath: output))
        print("wrote \(output): \(mel ? "log-mel" : "linear spectrogram") [\(features.rows), \(features.frames)] at \(sampleRate) Hz")
    }
}
