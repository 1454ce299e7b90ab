import ArgumentParser
import Audio

/// The STFT options of the commands that compute VITS spectrograms (`features`, `prepare`): one
/// definition of their names, defaults (the reference 22.05 kHz setup) and checks.
struct SpectrogramOptions: ParsableArguments {
    @Option(help: "Sample rate (Hz); audio at another rate is resampled.")
    var sampleRate = 22050

    @Option(help: "FFT size (VITS filter_length).")
    var nFft = 1024

    @Option(help: "Hop length in samples.")
    var hopLength = 256

    @Option(help: "Window length in samples (≤ n-fft; zero-padded to n-fft).")
    var winLength = 1024

    func validate() throws {
        guard AudioFile.supportedSampleRates.contains(sampleRate) else {
            throw ValidationError("--sample-rate must be in \(AudioFile.supportedSampleRates) Hz (got \(sampleRate))")
        }
    }
}
