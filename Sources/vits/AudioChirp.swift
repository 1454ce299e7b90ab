import ArgumentParser
import Foundation
import Audio

/// `vits audio chirp`: a linear chirp test signal (the demo and benchmarks use it).
struct AudioChirp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chirp",
        abstract: "Write a linear chirp (sine sweep) as a mono PCM16 WAV.",
        discussion: """
            x(t) = amplitude · sin(2π (f0·t + (f1 − f0)·t² / (2T))), sweeping f0 → f1 over T seconds.

            Example:
              vits audio chirp -o out/chirp.wav --seconds 2 --from 100 --to 8000
            """)

    @Option(name: .shortAndLong, help: "Output WAV file.")
    var output: String

    @Option(help: "Duration in seconds.")
    var seconds: Double = 2

    @Option(help: "Sample rate in Hz.")
    var sampleRate = 22050

    @Option(name: .customLong("from"), help: "Start frequency in Hz.")
    var startHz: Double = 100

    @Option(name: .customLong("to"), help: "End frequency in Hz.")
    var endHz: Double = 8000

    @Option(help: "Peak amplitude in (0, 1].")
    var amplitude: Double = 0.5

    func validate() throws {
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        guard amplitude > 0, amplitude <= 1 else { throw ValidationError("--amplitude must be in (0, 1]") }
        guard startHz >= 0, endHz >= 0 else { throw ValidationError("--from and --to must be ≥ 0 Hz") }
        guard AudioFile.supportedSampleRates.contains(sampleRate) else {
            throw ValidationError("--sample-rate must be in \(AudioFile.supportedSampleRates) Hz (got \(sampleRate))")
        }
    }

    func run() throws {
        let samples = Chirp.samples(seconds: seconds, sampleRate: sampleRate, from: startHz, to: endHz, amplitude: amplitude)
        try AudioFile.write(samples, sampleRate: sampleRate, to: URL(fileURLWithPath: output))
        print("wrote \(output): \(samples.count) samples at \(sampleRate) Hz, \(startHz) → \(endHz) Hz")
    }
}

/// Linear chirp samples, shared by `audio chirp` and `bench features`.
enum Chirp {
    static func samples(seconds: Double, sampleRate: Int, from f0: Double, to f1: Double, amplitude: Double) -> [Float] {
        let count = Int((seconds * Double(sampleRate)).rounded())
        let rate = Double(sampleRate)
        return (0..<count).map { i in
            let t = Double(i) / rate
            return Float(amplitude * sin(2 * Double.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))))
        }
    }
}
