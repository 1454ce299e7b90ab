import XCTest
import Foundation
import Audio
import Features
import Formats

/// Spectrograms against the reference VITS fixture (jaywalnut310/vits mel_processing + librosa) and
/// against our float64 fixture at other configurations.
final class FeaturesTests: XCTestCase {
    static func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    static let reference = Result { try SafeTensorsFile(contentsOf: try fixture("features.safetensors")) }
    static let others = Result { try SafeTensorsFile(contentsOf: try fixture("other_configs.safetensors")) }
    let vitsConfig = SpectrogramConfig(sampleRate: 22050, nFFT: 1024, hopLength: 256, winLength: 1024, nMels: 80, fmin: 0, fmax: nil)

    /// max |a − b| and the reference's max |b|.
    func maxError(_ a: Spectrogram, _ b: (shape: [Int], values: [Float]), file: StaticString = #filePath, line: UInt = #line) -> (Float, Float) {
        XCTAssertEqual([a.rows, a.frames], b.shape, file: file, line: line)
        guard a.values.count == b.values.count else { return (.infinity, 0) }
        var err: Float = 0, peak: Float = 0
        for (x, y) in zip(a.values, b.values) { err = max(err, abs(x - y)); peak = max(peak, abs(y)) }
        return (err, peak)
    }

    func testWavFilesReadAsTheReferenceLoaderDoes() throws {
        let reference = try Self.reference.get()
        for name in ["sine440", "chirp", "speech"] {
            let audio = try AudioFile.read(try Self.fixture("\(name).wav"))
            XCTAssertEqual(audio.sampleRate, 22050)
            XCTAssertEqual(audio.samples, try reference.tensor(named: "\(name).wav").values, name)
        }
    }

    func testLinearSpectrogramMatchesReference() throws {
        let reference = try Self.reference.get()
        let linear = try LinearSpectrogram(config: vitsConfig)
        for name in ["sine440", "chirp", "speech"] {
            let spec = try linear.compute(try AudioFile.read(try Self.fixture("\(name).wav")).samples)
            let (err, peak) = maxError(spec, try reference.tensor(named: "\(name).spec"))
            XCTAssertLessThanOrEqual(err, 1e-6 * peak + 1e-5, "\(name): max error \(err), max |spec| \(peak)")
        }
    }

    func testLogMelMatchesReference() throws {
        let reference = try Self.reference.get()
        let mel = try MelSpectrogram(config: vitsConfig)
        for name in ["sine440", "chirp", "speech"] {
            let logMel = try mel.compute(try AudioFile.read(try Self.fixture("\(name).wav")).samples)
            let (err, _) = maxError(logMel, try reference.tensor(named: "\(name).mel_ref"))
            XCTAssertLessThanOrEqual(err, 2e-3, "\(name): max log-mel error \(err)")
        }
    }

    func testFilterbankAndWindowMatchLibrosaAndTorch() throws {
        let reference = try Self.reference.get()
        let basis = try reference.tensor(named: "librosa.mel_basis")
        XCTAssertEqual(basis.shape, [80, 513])
        let ours = MelFilterbank.slaney(sampleRate: 22050, nFFT: 1024, nMels: 80, fmin: 0, fmax: 11025)
        XCTAssertEqual(ours.count, basis.values.count)
        let err = zip(ours, basis.values).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(err, 1e-6)
        XCTAssertEqual(try MelSpectrogram(config: vitsConfig).filterbank, ours)

        let window = try reference.tensor(named: "ref.hann_window").values
        let hann = SpectrogramWindow.hann(length: 1024)
        // torch evaluates the cosine in float32 (off by up to ~2 ulp); ours is the correctly rounded value.
        XCTAssertLessThanOrEqual(zip(hann, window).map { abs($0 - $1) }.max() ?? .infinity, 3e-7)
    }

    func testOtherConfigurationsAgainstFloat64Reference() throws {
        let others = try Self.others.get()
        for name in ["a", "b", "c"] {
            let json = try XCTUnwrap(others.metadata[name])
            let params = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Double])
            func p(_ key: String) throws -> Double { try XCTUnwrap(params[key], key) }
            let config = SpectrogramConfig(sampleRate: Int(try p("sample_rate")), nFFT: Int(try p("n_fft")),
                                           hopLength: Int(try p("hop")), winLength: Int(try p("win")),
                                           nMels: Int(try p("n_mels")), fmin: try p("fmin"), fmax: try p("fmax"))
            let samples = try others.tensor(named: "\(name).wav").values

            let basis = try others.tensor(named: "\(name).mel_basis")
            let ours = MelFilterbank.slaney(sampleRate: config.sampleRate, nFFT: config.nFFT, nMels: config.nMels,
                                            fmin: config.fmin, fmax: config.effectiveFmax)
            XCTAssertEqual([config.nMels, config.bins], basis.shape)
            XCTAssertLessThanOrEqual(zip(ours, basis.values).map { abs($0 - $1) }.max() ?? .infinity, 1e-6, "\(name) filterbank")

            let spec = try LinearSpectrogram(config: config).compute(samples)
            let (err, peak) = maxError(spec, try others.tensor(named: "\(name).spec"))
            XCTAssertLessThanOrEqual(err, 1e-6 * peak + 1e-5, "\(name) linear: \(err) (max \(peak))")

            let logMel = try MelSpectrogram(config: config).compute(samples)
            let (melErr, _) = maxError(logMel, try others.tensor(named: "\(name).mel"))
            // The fixture is float64; our STFT runs in double too, so only float32 output rounding remains.
            XCTAssertLessThanOrEqual(melErr, 1e-4, "\(name) log-mel: \(melErr)")
        }
    }

    /// The log-mel is exactly ln(max(filterbank · linear, 1e-5)) of the public pieces (checks the
    /// vectorised product and logarithm against plain loops and Foundation.log).
    func testLogMelIsLogOfFilterbankTimesLinear() throws {
        let samples = (0..<20000).map { i -> Float in
            let t = Double(i) / 22050
            return Float(0.4 * sin(2 * Double.pi * (200 * t + 3000 * t * t)) * exp(-3 * t))   // decays towards the 1e-5 floor
        }
        let linear = try LinearSpectrogram(config: vitsConfig).compute(samples)
        let mel = try MelSpectrogram(config: vitsConfig)
        let logMel = try mel.compute(samples)
        let bins = vitsConfig.bins
        var worst: Double = 0
        for m in 0..<80 {
            for t in 0..<linear.frames {
                var sum = 0.0
                for b in 0..<bins { sum += Double(mel.filterbank[m * bins + b]) * Double(linear[b, t]) }
                worst = max(worst, abs(Foundation.log(max(sum, 1e-5)) - Double(logMel[m, t])))
            }
        }
        XCTAssertLessThan(worst, 2e-5)
    }

    func testFrameCountShortInputsAndDeterminism() throws {
        XCTAssertEqual(vitsConfig.frameCount(samples: 22050), 86)
        XCTAssertEqual(vitsConfig.frameCount(samples: 44100), 172)
        let linear = try LinearSpectrogram(config: vitsConfig)
        // reflect padding needs more than (n_fft − hop)/2 = 384 samples, and one full frame
        XCTAssertThrowsError(try linear.compute([Float](repeating: 0.1, count: 384))) { error in
            XCTAssertEqual(error as? FeatureError, .audioTooShort(samples: 384, minimum: 385))
        }
        XCTAssertThrowsError(try linear.compute([]))
        XCTAssertEqual(try linear.compute([Float](repeating: 0.1, count: 385)).frames, 1)

        let samples = (0..<30000).map { Float(sin(Double($0) * 0.01 + sin(Double($0) * 0.0003))) * 0.3 }
        let mel = try MelSpectrogram(config: vitsConfig)
        let first = try mel.compute(samples)
        XCTAssertEqual(try mel.compute(samples).values.map(\.bitPattern), first.values.map(\.bitPattern))
        // used from several threads at once, same result
        let results = UnsafeMutableBufferPointer<Spectrogram?>.allocate(capacity: 4)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: 4) { i in shared[i] = try? mel.compute(samples) }
        for r in results { XCTAssertEqual(r?.values, first.values) }
    }

    func testInvalidConfigurations() {
        let bad: [SpectrogramConfig] = [
            SpectrogramConfig(hopLength: 0),
            SpectrogramConfig(hopLength: 2048),
            SpectrogramConfig(winLength: 2048),
            SpectrogramConfig(nFFT: 1),
            SpectrogramConfig(nMels: 0),
            SpectrogramConfig(fmin: 8000, fmax: 4000),
            SpectrogramConfig(fmin: -1),
            SpectrogramConfig(sampleRate: 0),
        ]
        for config in bad {
            XCTAssertThrowsError(try MelSpectrogram(config: config), "\(config)") { error in
                guard case .invalidConfig? = error as? FeatureError else { return XCTFail("\(error)") }
            }
        }
    }
}
