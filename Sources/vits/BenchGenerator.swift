import ArgumentParser
import Engine
import Foundation
import VITS
import Cores

/// `vits bench generator`: inference (noGrad) time of the decoder `dec` of a config (`model.decoder`), with
/// random weights, on a latent of the length that decodes to --seconds of audio.
struct BenchGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generator",
        abstract: "Time the decoder (model.decoder: HiFi-GAN or an iSTFT variant; inference path) of a VITS config on random weights.",
        discussion: """
            Reports the median of --runs timed runs after one warm-up run: seconds, the real-time factor \
            (wall seconds per audio second), the achieved GMAC/s of the convolutions, and the process CPU \
            time per run (meaningful when other jobs load the machine).

            Example:
              vits bench generator --config Tests/VITSTests/Fixtures/configs/ljs_base.json --seconds 1
              vits bench generator --config Tests/VITSTests/Fixtures/configs/authors_ljs_mb_istft_vits.json
            """)

    @Option(help: "Reference-format config.json (model and data sections).")
    var config: String

    @Option(help: "Seconds of audio to decode (rounded to whole frames).")
    var seconds: Double = 1

    @Option(help: "Batch size.")
    var batch = 1

    @Option(help: "Timed runs (the median is reported).")
    var runs = 5

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(runs) else { throw ValidationError("--runs must be in 1...1000") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (1...64).contains(batch) else { throw ValidationError("--batch must be in 1...64") }
    }

    func run() throws {
        Engine.configure()
        let cfg = try VITSConfig.load(contentsOf: URL(fileURLWithPath: config))
        let m = cfg.model
        let hop = cfg.data.hopLength
        let frames = max(1, Int((seconds * Double(cfg.data.samplingRate) / Double(hop)).rounded()))
        let rng = RandomGenerator(seed: 1234)
        let dec = makeWaveformDecoder(config: cfg, generator: rng)
        let z = rng.randn([batch, m.interChannels, frames])
        let g = m.ginChannels > 0 ? rng.randn([batch, m.ginChannels, 1]) : nil
        _ = noGrad { dec.decode(z, g: g, trace: nil) }
        var times: [Double] = [], cpuTimes: [Double] = []
        for _ in 0..<runs {
            let cpuStart = Self.processCPUSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = noGrad { dec.decode(z, g: g, trace: nil) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            cpuTimes.append(Self.processCPUSeconds() - cpuStart)
        }
        let median = times.sorted()[times.count / 2]
        let cpuMedian = cpuTimes.sorted()[cpuTimes.count / 2]
        let audioSeconds = Double(frames * hop * batch) / Double(cfg.data.samplingRate)
        let gmac = Double(Self.multiplyAccumulates(cfg, frames: frames) * batch) / 1e9
        if json {
            print(#"{"bench":"generator","config":"\#(config)","decoder":"\#(m.decoder.kind.rawValue)","frames":\#(frames),"batch":\#(batch),"audio_seconds":\#(audioSeconds),"runs":\#(runs),"seconds":\#(median),"realtime_factor":\#(median / audioSeconds),"gmac":\#(gmac),"gmac_per_second":\#(gmac / median),"cpu_seconds":\#(cpuMedian),"workers":\#(Parallel.workers)}"#)
        } else {
            print(String(format: "generator (\(m.decoder.kind.rawValue)): %d frames × %d (%.2f s of audio, %.1f GMAC): %.4f s median of %d runs, RTF %.4f, %.1f GMAC/s; CPU time %.4f s (%d workers; wall ≈ CPU/workers on an idle machine)",
                         frames, batch, audioSeconds, gmac, median, runs, median / audioSeconds, gmac / median, cpuMedian, Parallel.workers))
        }
    }

    /// User + system CPU seconds of this process: with other jobs competing for the cores, wall time
    /// overstates our cost; CPU time does not.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Multiply-accumulates of the decoder convolutions for one item of `frames` latent frames.
    static func multiplyAccumulates(_ cfg: VITSConfig, frames: Int) -> Int {
        let m = cfg.model
        var length = frames, channels = m.upsampleInitialChannel
        var macs = m.interChannels * channels * 7 * length                     // conv_pre
        for (u, k) in zip(m.upsampleRates, m.upsampleKernelSizes) {
            macs += channels * (channels / 2) * k * length                       // transposed conv: every input tap
            channels /= 2
            length *= u
            let convsPerDilation = m.resblock == .one ? 2 : 1
            for (k, d) in zip(m.resblockKernelSizes, m.resblockDilationSizes) {
                macs += d.count * convsPerDilation * channels * channels * k * length
            }
        }
        let d = m.decoder
        let postChannels = d.kind == .hifigan ? 1 : (d.kind == .istft ? 1 : d.subbands) * (d.istftNFFT + 2)
        return macs + channels * postChannels * 7 * length                     // conv_post (iSTFT and PQMF not counted)
    }
}
