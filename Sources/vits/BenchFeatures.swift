import ArgumentParser
import Foundation
import Features

/// `vits bench features`: log-mel of 60 s of generated audio at the VITS defaults.
struct BenchFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Time the log-mel spectrogram of 60 s of generated audio (22050 Hz, 1024/256/1024, 80 mels).",
        discussion: """
            Reports the median of --runs timed runs after one warm-up run: seconds, frames per second \
            and audio seconds per wall second.

            Example:
              vits bench features --json
            """)

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(help: "Timed runs (the median is reported).")
    var runs = 5

    @Option(help: "Seconds of audio to generate.")
    var seconds: Double = 60

    func validate() throws {
        guard (1...1000).contains(runs) else { throw ValidationError("--runs must be in 1...1000") }
        guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--seconds must be in 1...3600") }
    }

    func run() throws {
        let config = SpectrogramConfig()
        // A chirp plus low-level deterministic noise: every frame has non-trivial content.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let samples = Chirp.samples(seconds: seconds, sampleRate: config.sampleRate, from: 50, to: 10_000, amplitude: 0.5)
            .map { x -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return x + Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.01
            }
        let mel = try MelSpectrogram(config: config)
        var frames = try mel.compute(samples).frames  // warm-up (plans, page faults)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            frames = try mel.compute(samples).frames
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let framesPerSecond = Double(frames) / median
        if json {
            print(#"{"bench":"features","kind":"log-mel","audio_seconds":\#(seconds),"sample_rate":\#(config.sampleRate),"n_fft":\#(config.nFFT),"hop":\#(config.hopLength),"n_mels":\#(config.nMels),"frames":\#(frames),"runs":\#(runs),"seconds":\#(median),"frames_per_second":\#(framesPerSecond.rounded()),"realtime_factor":\#(median / seconds)}"#)
        } else {
            print(String(format: "features: log-mel of %.0f s of audio (%d frames): %.4f s median of %d runs, %.0f frames/s, %.0f× real time",
                         seconds, frames, median, runs, framesPerSecond, seconds / median))
        }
    }
}
