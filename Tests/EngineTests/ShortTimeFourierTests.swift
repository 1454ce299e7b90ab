import XCTest
import Engine

/// The STFT ops of the iSTFT decoders: values against torch.istft / torch.stft run through the
/// MB-iSTFT-VITS authors' code (Fixtures/stft.safetensors, scripts/fixtures/istft_decoders.py),
/// a reconstruction identity, and finite-difference gradients.
final class ShortTimeFourierTests: XCTestCase {
    private func fixture() throws -> [String: Tensor] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "stft", withExtension: "safetensors", subdirectory: "Fixtures"))
        return try TensorFile.load(url)
    }

    private func assertClose(_ actual: Tensor, _ expected: Tensor, relative: Float = 1e-4, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, label, file: file, line: line)
        guard actual.shape == expected.shape else { return }
        let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
        var worst: Float = 0
        for (a, e) in zip(actual.scalars, expected.scalars) { worst = max(worst, abs(a - e)) }
        XCTAssertGreaterThan(scale, 0, "\(label): reference is all zero", file: file, line: line)
        XCTAssertLessThanOrEqual(worst, relative * scale, "\(label): max|Δ| \(worst), scale \(scale)", file: file, line: line)
    }

    func testInverseMatchesTorchISTFT() throws {
        let fx = try fixture()
        for (nFFT, hop) in [(16, 4), (64, 16)] {
            let tag = "istft\(nFFT)"
            let real = try XCTUnwrap(fx[tag + ".real"]), imag = try XCTUnwrap(fx[tag + ".imag"])
            let out = STFTPlan(nFFT: nFFT, hop: hop).inverse(real: real, imag: imag)
            assertClose(out, try XCTUnwrap(fx[tag + ".out"]), tag)
        }
    }

    func testMagnitudeMatchesTorchSTFT() throws {
        let fx = try fixture()
        for (nFFT, hop, win) in [(683, 60, 300), (16, 4, 16)] {
            let x = try XCTUnwrap(fx["stft\(nFFT).x"])
            let mag = STFTPlan(nFFT: nFFT, hop: hop, winLength: win).magnitude(x)
            assertClose(mag, try XCTUnwrap(fx["stft\(nFFT).mag"]), "stft\(nFFT)")
        }
    }

    /// iSTFT(STFT(x)) = x for a Hann window with hop ≤ n_fft/4 (the envelope division makes it exact):
    /// the complex STFT is built here from a naive DFT, independently of the op's bases.
    func testInverseReconstructsNaiveSTFT() {
        let n = 16, hop = 4, length = 64
        let rng = RandomGenerator(seed: 3)
        let x = rng.randn([length]).scalars
        let window = SpectralWindow.periodicHann(n)
        // center=True: reflect-pad n/2 on both sides.
        let pad = n / 2
        let padded = (0..<(length + 2 * pad)).map { j -> Float in
            let i = j - pad
            return x[i < 0 ? -i : (i >= length ? 2 * (length - 1) - i : i)]
        }
        let frames = 1 + length / hop, bins = n / 2 + 1
        var re = [Float](repeating: 0, count: bins * frames), im = re
        for t in 0..<frames {
            for k in 0..<bins {
                var sr = 0.0, si = 0.0
                for m in 0..<n {
                    let v = Double(window[m] * padded[t * hop + m])
                    let angle = 2 * Double.pi * Double(k * m) / Double(n)
                    sr += v * cos(angle); si -= v * sin(angle)
                }
                re[k * frames + t] = Float(sr); im[k * frames + t] = Float(si)
            }
        }
        let y = STFTPlan(nFFT: n, hop: hop).inverse(real: Tensor(shape: [1, bins, frames], data: re),
                                                    imag: Tensor(shape: [1, bins, frames], data: im))
        XCTAssertEqual(y.shape, [1, length])
        for (a, b) in zip(y.scalars, x) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    private func check(_ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Tensor]) -> Tensor) {
        let reports = GradientCheck.run(inputs: inputs, epsilon: 1e-3, f)
        for (i, r) in reports.enumerated() where inputs[i].requiresGrad {
            XCTAssertLessThan(r.relativeError, 1e-2, "input \(i): max abs error \(r.maxAbsError)", file: file, line: line)
            XCTAssertFalse(r.numeric.allSatisfy { $0 == 0 }, "input \(i): numeric gradient is all zero", file: file, line: line)
        }
    }

    func testInverseGradient() {
        let rng = RandomGenerator(seed: 5)
        let real = rng.randn([2, 5, 6]), imag = rng.randn([2, 5, 6])
        real.requiresGrad = true; imag.requiresGrad = true
        let plan = STFTPlan(nFFT: 8, hop: 2)
        check([real, imag]) { plan.inverse(real: $0[0], imag: $0[1]) }
    }

    func testMagnitudeGradient() {
        let rng = RandomGenerator(seed: 6)
        let x = rng.randn([2, 20])
        x.requiresGrad = true
        // An odd n_fft with a shorter, centred window, as the loss's 683/300 resolution.
        let plan = STFTPlan(nFFT: 9, hop: 3, winLength: 6)
        check([x]) { plan.magnitude($0[0]) }
    }

    func testSinCosGradients() {
        let rng = RandomGenerator(seed: 7)
        let x = rng.randn([3, 4]); x.requiresGrad = true
        check([x]) { $0[0].sin() }
        check([x]) { $0[0].cos() }
        let values = x.scalars
        for (a, v) in zip(x.sin().scalars, values) { XCTAssertEqual(a, Foundation.sin(v), accuracy: 1e-7) }
    }
}
