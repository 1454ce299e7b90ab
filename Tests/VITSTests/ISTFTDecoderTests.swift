import XCTest
import Engine
import VITS

/// The MB-iSTFT-VITS decoders (`model.decoder` istft / mb_istft / ms_istft), PQMF and the sub-band
/// STFT loss against tensors computed by the authors' code (Fixtures/istft/*.safetensors,
/// scripts/fixtures/istft_decoders.py), the authors' configs and checkpoint key lists, and the
/// PQMF's reconstruction property.
final class ISTFTDecoderTests: XCTestCase {
    private static let relativeTolerance: Float = 1e-4

    private func load(_ name: String) throws -> [String: Tensor] {
        try TensorFile.load(Fixtures.url("istft/\(name).safetensors"))
    }

    private func tensor(_ fx: [String: Tensor], _ key: String) throws -> Tensor {
        try XCTUnwrap(fx[key], "fixture tensor \(key) missing")
    }

    /// max|Δ| ≤ tolerance · max|reference|, as the VITS parity tests.
    private func assertClose(_ actual: Tensor, _ expected: Tensor, _ label: String, tolerance: Float = relativeTolerance,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, "\(label) shape", file: file, line: line)
        guard actual.shape == expected.shape else { return }
        let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
        var worst: Float = 0
        for (a, e) in zip(actual.scalars, expected.scalars) { worst = max(worst, abs(a - e)) }
        XCTAssertGreaterThan(scale, 0, "\(label): reference is all zero", file: file, line: line)
        XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(label): max|Δ| \(worst), scale \(scale)", file: file, line: line)
    }

    // MARK: - PQMF

    func testPQMFMatchesAuthors() throws {
        let fx = try load("pqmf")
        let pqmf = PQMF()
        assertClose(pqmf.analysisFilter, try tensor(fx, "pqmf.analysis_filter"), "analysis filter", tolerance: 1e-6)
        assertClose(pqmf.synthesisFilter, try tensor(fx, "pqmf.synthesis_filter"), "synthesis filter", tolerance: 1e-6)
        let x = try tensor(fx, "pqmf.x")
        let bands = pqmf.analysis(x)
        assertClose(bands, try tensor(fx, "pqmf.analysis"), "analysis")
        assertClose(pqmf.synthesis(bands), try tensor(fx, "pqmf.synthesis"), "synthesis")
    }

    /// Near-perfect reconstruction: inside each band (away from the band edges k/8 cycles/sample) a
    /// sine comes back through analysis + synthesis with its power (±1 %), one sample late, at more than
    /// 20 dB SNR (the authors' filter: 62 taps, cut-off 0.15, β 9; the PQMF of Nguyen 1994).
    func testPQMFReconstructsSinesInsideBands() {
        let pqmf = PQMF()
        let length = 2048, margin = 128
        for frequency in [0.05, 0.2, 0.3, 0.45] {
            let x = (0..<length).map { Float(sin(2 * Double.pi * frequency * Double($0))) }
            let y = noGrad { pqmf.synthesis(pqmf.analysis(Tensor(shape: [1, 1, length], data: x))) }.scalars
            XCTAssertEqual(y.count, length)
            var signal = 0.0, error = 0.0, power = 0.0
            for n in margin..<(length - margin) {
                let reference = Double(x[n]), rebuilt = Double(y[n + 1])
                signal += reference * reference
                power += rebuilt * rebuilt
                error += (reference - rebuilt) * (reference - rebuilt)
            }
            XCTAssertEqual(power / signal, 1, accuracy: 0.01, "frequency \(frequency): power ratio")
            XCTAssertGreaterThan(10 * log10(signal / error), 20, "frequency \(frequency): SNR")
        }
    }

    // MARK: - Decoders

    private func tinyDecoder(_ kind: DecoderKind) -> ISTFTGenerator {
        let rates = kind == .istft ? [8, 8] : [4, 4], kernels = kind == .istft ? [16, 16] : [8, 8]
        return ISTFTGenerator(kind: kind, initialChannel: 8, resblock: .one, resblockKernelSizes: [3, 5],
                              resblockDilationSizes: [[1, 3, 5], [1, 3, 5]], upsampleRates: rates, upsampleInitialChannel: 16,
                              upsampleKernelSizes: kernels, istftNFFT: 16, istftHop: 4, subbands: 4,
                              generator: RandomGenerator(seed: 1))
    }

    /// Forward tensors and parameter gradients of L = Σ o·w_o (+ the sub-band STFT loss for mb_istft)
    /// against the authors' generators on the same weights and input.
    func testDecodersMatchAuthors() throws {
        for kind in [DecoderKind.istft, .mbISTFT, .msISTFT] {
            let name = kind.rawValue
            let fx = try load(name)
            let decoder = tinyDecoder(kind)
            var state: [String: Tensor] = [:]
            for (key, value) in fx where key.hasPrefix("param.") { state[String(key.dropFirst(6))] = value }
            try decoder.load(state, strict: true)
            let z = try tensor(fx, "z")
            z.requiresGrad = true
            var traces: [String: Tensor] = [:]
            let out = decoder.decode(z, g: nil, trace: { traces[$0] = $1 })
            assertClose(out.audio, try tensor(fx, "o"), "\(name): o")
            let postKey = name == "istft" ? "dec.conv_post" : "dec.subband_conv_post"
            assertClose(try XCTUnwrap(traces[postKey]), try tensor(fx, "conv_post"), "\(name): conv_post")
            if kind == .istft { XCTAssertNil(out.subbands) } else {
                assertClose(try XCTUnwrap(out.subbands), try tensor(fx, "o_mb"), "\(name): o_mb")
            }
            var loss = (out.audio * (try tensor(fx, "w_o"))).sum()
            if kind == .mbISTFT {
                let subband = VITSLoss.subband(generatedBands: try XCTUnwrap(out.subbands), target: try tensor(fx, "y"),
                                               pqmf: PQMF(), loss: MultiResolutionSTFTLoss(.authorsSubband))
                assertClose(subband.reshaped([1]), try tensor(fx, "loss_subband"), "\(name): loss_subband")
                loss = loss + subband
            }
            assertClose(loss.reshaped([1]), try tensor(fx, "loss"), "\(name): loss")
            loss.backward()
            assertClose(try XCTUnwrap(z.grad), try tensor(fx, "grad.z"), "\(name): grad z")
            var checked = 0
            for (key, parameter) in decoder.namedParameters() {
                assertClose(try XCTUnwrap(parameter.grad, "\(name): no gradient for \(key)"), try tensor(fx, "grad." + key), "\(name): grad \(key)")
                checked += 1
            }
            XCTAssertEqual(checked, fx.keys.filter { $0.hasPrefix("grad.") && $0 != "grad.z" }.count, "\(name): every parameter gradient checked")
        }
    }

    // MARK: - Configs and keys

    /// The authors' three LJSpeech configs load (booleans select the variant), validate, and build a
    /// `dec` whose keys and shapes are their checkpoints' (key lists recorded from their models.py).
    func testAuthorsConfigsBuildTheirCheckpointKeys() throws {
        for (name, kind) in [("ljs_istft_vits", DecoderKind.istft), ("ljs_mb_istft_vits", .mbISTFT), ("ljs_ms_istft_vits", .msISTFT)] {
            let config = try Fixtures.config("authors_\(name)")
            XCTAssertEqual(config.model.decoder.kind, kind, name)
            XCTAssertEqual(config.model.decoder.istftNFFT, 16)
            XCTAssertEqual(config.model.decoder.istftHop, 4)
            XCTAssertEqual(config.train.subbandLoss, .authorsSubband)
            XCTAssertFalse(config.warnings.contains { $0.contains("unknown key") }, "\(name): \(config.warnings)")
            let expected = try Fixtures.keyList("keys/\(name).dec.txt").map { "\($0.key) \($0.shape)" }
            let layout = try VITSParameters.generator(config, vocabularySize: 10).filter { $0.module == "dec" }.map { "\($0.key) \($0.shape)" }
            XCTAssertEqual(layout, expected, "\(name): VITSParameters dec layout")
            let decoder = makeWaveformDecoder(config: config, generator: RandomGenerator(seed: 1))
            let state = decoder.stateDict()
            XCTAssertEqual(Set(state.keys.map { "dec.\($0) \(state[$0]!.shape)" }), Set(expected), "\(name): module keys")
            XCTAssertEqual(decoder.namedParameters().map { "dec.\($0.0) \($0.1.shape)" },
                           layout.filter { !$0.hasPrefix("dec.updown_filter") }, "\(name): parameter order")
        }
    }

    func testDecoderKeyValidation() throws {
        var config = try Fixtures.config("authors_ljs_mb_istft_vits")
        config.model.upsampleRates = [8, 4]
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertTrue("\(error)".contains("model.upsample_rates"), "\(error)")
        }
        config.model.upsampleRates = [4, 4]
        config.model.decoder.istftHop = 12
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertTrue("\(error)".contains("model.gen_istft_hop_size"), "\(error)")
        }
        let text = try Fixtures.text("configs/authors_ljs_mb_istft_vits.json")
            .replacingOccurrences(of: "\"mb_istft_vits\": true,", with: "\"decoder\": \"mb-istft\",")
        XCTAssertThrowsError(try VITSConfig.parse(Data(text.utf8))) { error in
            XCTAssertTrue("\(error)".contains("model.decoder"), "\(error)")
        }
    }
}
