import XCTest
import Foundation
import Formats

/// safetensors and .npy readers/writers: Python-written fixtures, round trips, malformed files.
final class SafeTensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("FormatsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    /// Builds a file from a header string and a data buffer (header length prefix computed).
    func rawFile(_ header: String, data: [UInt8], lengthOverride: UInt64? = nil, name: String = "bad.safetensors") throws -> URL {
        let h = Array(header.utf8)
        let length = lengthOverride ?? UInt64(h.count)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        bytes += h + data
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func expectError(_ url: URL, _ check: (SafeTensorsError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try SafeTensorsFile(contentsOf: url)
            XCTFail("expected an error", file: file, line: line)
        } catch {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), "message must name the file: \(error)", file: file, line: line)
        }
    }

    // MARK: Python-written fixture

    func testReadsPythonWrittenFile() throws {
        for mapped in [false, true] {
            let file = try SafeTensorsFile(contentsOf: try fixture("python.safetensors"), mapped: mapped)
            XCTAssertEqual(file.metadata, ["format": "pt", "note": "ünïcödé ✓"])
            XCTAssertEqual(Set(file.names), ["weights.f32", "weights.f16", "weights.f64", "scalar", "empty", "step"])

            let f32 = try file.tensor(named: "weights.f32")
            XCTAssertEqual(f32.shape, [2, 3, 4])
            XCTAssertEqual(f32.values, (0..<24).map { Float($0) * 0.5 - 3 })

            let f16 = try file.tensor(named: "weights.f16")
            XCTAssertEqual(f16.shape, [2, 4])
            XCTAssertEqual(f16.values, [1.5, -0.25, 1024, 0.125, -7.75, 0, 65504, 6.103515625e-05])

            let f64 = try file.tensor(named: "weights.f64")
            XCTAssertEqual(f64.values, [Float(0.1), Float(-1e-3), Float(12345.678)])

            let scalar = try file.tensor(named: "scalar")
            XCTAssertEqual(scalar.shape, [])
            XCTAssertEqual(scalar.values, [2.5])

            let empty = try file.tensor(named: "empty")
            XCTAssertEqual(empty.shape, [0, 3])
            XCTAssertEqual(empty.values, [])

            XCTAssertEqual(try file.info(named: "step").dtype, .i64)
            let step = try file.withRawBytes(named: "step") { $0.loadUnaligned(as: Int64.self) }
            XCTAssertEqual(Int64(littleEndian: step), 42)
            XCTAssertThrowsError(try file.tensor(named: "step")) { error in
                guard case .unsupportedDType(_, "step", .i64)? = error as? SafeTensorsError else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try file.tensor(named: "missing")) { error in
                guard case .tensorNotFound(_, "missing")? = error as? SafeTensorsError else { return XCTFail("\(error)") }
            }
        }
    }

    // MARK: Round trips

    func testF32RoundTripIsExactWithMetadata() throws {
        let url = directory.appendingPathComponent("weights.safetensors")
        let a: [Float] = (0..<60).map { Float($0) * 0.37 - 11 }
        let b: [Float] = [Float.pi, -0, 1e-30, 3.4e38, -Float.leastNonzeroMagnitude]
        let metadata = ["config": #"{"model": {"hidden": 192}, "quote": "\"x\"\n"}"#, "step": "1200"]
        try b.withUnsafeBufferPointer { bBuffer in
            try SafeTensors.write([
                SafeTensorsEntry(name: "enc_p.encoder.attn_layers.0.conv_q.weight", shape: [3, 4, 5], values: a),
                SafeTensorsEntry(name: "dec.ups.0.weight_g", shape: [5], buffer: bBuffer),
                SafeTensorsEntry(name: "scalar", shape: [], values: [7]),
                SafeTensorsEntry(name: "empty", shape: [2, 0], values: []),
            ], metadata: metadata, to: url)
        }
        for mapped in [false, true] {
            let file = try SafeTensorsFile(contentsOf: url, mapped: mapped)
            XCTAssertEqual(file.metadata, metadata)
            let ta = try file.tensor(named: "enc_p.encoder.attn_layers.0.conv_q.weight")
            XCTAssertEqual(ta.shape, [3, 4, 5])
            XCTAssertEqual(ta.values.map(\.bitPattern), a.map(\.bitPattern))
            XCTAssertEqual(try file.tensor(named: "dec.ups.0.weight_g").values.map(\.bitPattern), b.map(\.bitPattern))
            XCTAssertEqual(try file.tensor(named: "scalar").values, [7])
            XCTAssertEqual(try file.tensor(named: "empty").shape, [2, 0])
            // into a caller-owned buffer (how Engine fills tensor storage)
            var out = [Float](repeating: 0, count: 60)
            try out.withUnsafeMutableBufferPointer { try file.read(named: "enc_p.encoder.attn_layers.0.conv_q.weight", into: $0) }
            XCTAssertEqual(out, a)
        }
        // header is padded so the data starts 8-byte aligned
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
    }

    func testF16RoundTripWithinHalfPrecision() throws {
        let url = directory.appendingPathComponent("half.safetensors")
        let values: [Float] = (0..<1000).map { Float(sin(Double($0) * 0.1)) * Float($0 % 37 + 1) }
        try SafeTensors.write([(name: "w", shape: [10, 100], values: values)], storage: .f16, to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.info(named: "w").dtype, .f16)
        let back = try file.tensor(named: "w").values
        for (x, y) in zip(values, back) {
            // round to nearest: relative error ≤ 2^-11 for normal halves, absolute ≤ 2^-25 for subnormals
            XCTAssertLessThanOrEqual(abs(x - y), max(abs(x) * 0x1p-11, 0x1p-25), "\(x) → \(y)")
        }
        XCTAssertEqual(back, values.map { Float(Float16($0)) })
    }

    func testMixedStorageTypesAndOrder() throws {
        let url = directory.appendingPathComponent("mixed.safetensors")
        try SafeTensors.write([
            SafeTensorsEntry(name: "b.half", shape: [3], values: [1, 2, 3]),
            SafeTensorsEntry(name: "a.moment", shape: [2], values: [0.1, 0.2], storage: .f32),
        ], storage: .f16, to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.infos.map(\.name), ["a.moment", "b.half"])  // 4-byte tensors first
        XCTAssertEqual(file.infos.map(\.dtype), [.f32, .f16])
        XCTAssertEqual(try file.tensor(named: "a.moment").values, [0.1, 0.2])
    }

    func testWriteReplacesAtomicallyAndLeavesNothingOnFailure() throws {
        let url = directory.appendingPathComponent("w.safetensors")
        try SafeTensors.write([(name: "x", shape: [1], values: [1])], to: url)
        try SafeTensors.write([(name: "x", shape: [2], values: [2, 3])], to: url)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).tensor(named: "x").values, [2, 3])

        XCTAssertThrowsError(try SafeTensors.write([(name: "x", shape: [3], values: [1, 2])], to: url)) { error in
            guard case .invalidTensor(name: "x", _)? = error as? SafeTensorsError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SafeTensors.write([(name: "x", shape: [1], values: [1]), (name: "x", shape: [1], values: [1])], to: url))
        XCTAssertThrowsError(try SafeTensors.write([(name: "__metadata__", shape: [1], values: [1])], to: url))
        let missingDirectory = directory.appendingPathComponent("no/such/dir/w.safetensors")
        XCTAssertThrowsError(try SafeTensors.write([(name: "x", shape: [1], values: [1])], to: missingDirectory)) { error in
            guard case .cannotWrite(let path, _)? = error as? SafeTensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missingDirectory.path)
        }
        // the failed writes left the previous file intact and no temporary files behind
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).tensor(named: "x").values, [2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["w.safetensors"])
    }

    // MARK: Malformed files

    func testMissingFile() {
        expectError(directory.appendingPathComponent("absent.safetensors")) {
            if case .cannotOpen = $0 { return true } else { return false }
        }
    }

    func testShorterThanLengthPrefix() throws {
        let url = directory.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: url)
        expectError(url) { if case .truncated(_, 8, 3) = $0 { return true } else { return false } }
    }

    func testHeaderLengthBeyondFileAndHuge() throws {
        expectError(try rawFile("{}", data: [], lengthOverride: 4096)) {
            if case .truncated(_, 4104, 10) = $0 { return true } else { return false }
        }
        // A huge length must be refused before any allocation.
        expectError(try rawFile("{}", data: [], lengthOverride: UInt64.max)) {
            if case .headerTooLarge = $0 { return true } else { return false }
        }
        expectError(try rawFile("{}", data: [], lengthOverride: 100_000_001)) {
            if case .headerTooLarge = $0 { return true } else { return false }
        }
    }

    func testInvalidJSON() throws {
        for header in [#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]"#,   // unterminated
                       #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}} trailing"#,
                       "{\"a\u{1}\": 1}", #"{"a": tru}"#, String(repeating: "[", count: 200),
                       #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [00, 4]}}"#] {
            expectError(try rawFile(header, data: [0, 0, 0, 0])) {
                if case .invalidHeader = $0 { return true } else { return false }
            }
        }
        expectError(try rawFile("[1, 2]", data: [])) { if case .invalidHeader = $0 { return true } else { return false } }
        expectError(try rawFile(#"{"__metadata__": {"k": 1}}"#, data: [])) {
            if case .invalidHeader = $0 { return true } else { return false }
        }
        // duplicate keys are ambiguous: refused
        expectError(try rawFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) {
            if case .invalidHeader(_, let reason) = $0 { return reason.contains("duplicate") } else { return false }
        }
        // invalid UTF-8 in a key
        let url = directory.appendingPathComponent("utf8.safetensors")
        let header: [UInt8] = Array(#"{""#.utf8) + [0xC3, 0x28] + Array(#"": 1}"#.utf8)
        try Data((0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header).write(to: url)
        expectError(url) { if case .invalidHeader = $0 { return true } else { return false } }
    }

    func testBadEntries() throws {
        let cases: [String] = [
            #"{"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#,
            #"{"a": {"dtype": "F32", "shape": [99999999999, 99999999999, 99999999999], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99999999999999999999999]}}"#,
            #"{"a": {"dtype": "F32", "data_offsets": [0, 4]}}"#,
            #"{"a": 5}"#,
        ]
        for header in cases {
            expectError(try rawFile(header, data: [0, 0, 0, 0])) {
                if case .invalidTensorEntry(_, "a", _) = $0 { return true } else { return false }
            }
        }
    }

    func testDTypeTimesShapeMustEqualByteLength() throws {
        expectError(try rawFile(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) {
            if case .sizeMismatch(_, "a", 8, 4) = $0 { return true } else { return false }
        }
        expectError(try rawFile(#"{"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) {
            if case .sizeMismatch(_, "a", 6, 4) = $0 { return true } else { return false }
        }
    }

    func testOverlapHoleAndTrailingBytes() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        expectError(try rawFile(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: eight)) {
            if case .overlappingTensors(_, "a", "b") = $0 { return true } else { return false }
        }
        expectError(try rawFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F16", "shape": [1], "data_offsets": [6, 8]}}"#, data: eight)) {
            if case .uncoveredBytes(_, 4..<6) = $0 { return true } else { return false }
        }
        expectError(try rawFile(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: eight)) {
            if case .uncoveredBytes(_, 4..<8) = $0 { return true } else { return false }
        }
    }

    func testTruncatedData() throws {
        // A valid file cut short: the last tensor's data runs past the end of the file.
        let url = directory.appendingPathComponent("full.safetensors")
        try SafeTensors.write([(name: "a", shape: [4], values: [1, 2, 3, 4]), (name: "b", shape: [8], values: Array(repeating: 1, count: 8))], to: url)
        let bytes = try Data(contentsOf: url)
        let cut = directory.appendingPathComponent("cut.safetensors")
        try bytes.prefix(bytes.count - 5).write(to: cut)
        expectError(cut) { if case .truncated(_, bytes.count, bytes.count - 5) = $0 { return true } else { return false } }
    }

    func testNotASafetensorsFile() throws {
        let url = directory.appendingPathComponent("text.safetensors")
        try Data("hello, this is not a safetensors file at all".utf8).write(to: url)
        expectError(url) {
            switch $0 { case .headerTooLarge, .truncated, .invalidHeader: return true; default: return false }
        }
    }
}

final class NpyTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("NpyTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testReadsNumpyWrittenFiles() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/python", withExtension: "npy"))
        let (shape, values) = try Npy.read(contentsOf: url)
        XCTAssertEqual(shape, [3, 4])
        XCTAssertEqual(values, (0..<12).map { (Float($0) - 5.5) / 4 })
        let url1 = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/python-1d", withExtension: "npy"))
        let one = try Npy.read(contentsOf: url1)
        XCTAssertEqual(one.shape, [3])
        XCTAssertEqual(one.values, [1, -2, 3.5])
    }

    func testRoundTripAndHeaderLayout() throws {
        let url = directory.appendingPathComponent("a.npy")
        let values: [Float] = (0..<(80 * 7)).map { Float($0) * -0.01 }
        try Npy.write(values, shape: [80, 7], to: url)
        let back = try Npy.read(contentsOf: url)
        XCTAssertEqual(back.shape, [80, 7])
        XCTAssertEqual(back.values, values)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)  // data 64-byte aligned, as numpy writes it
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (80, 7), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))

        try Npy.write([1, 2, 3], shape: [3], to: url)
        XCTAssertEqual(try Npy.read(contentsOf: url).shape, [3])
        XCTAssertThrowsError(try Npy.write([1, 2, 3], shape: [2, 2], to: url)) { error in
            XCTAssertEqual(error as? NpyError, .invalidShape(shape: [2, 2], count: 3))
        }
    }

    func testMalformedFiles() throws {
        let good = directory.appendingPathComponent("good.npy")
        try Npy.write([1, 2, 3, 4], shape: [2, 2], to: good)
        let bytes = try Data(contentsOf: good)
        func variant(_ name: String, _ data: Data) throws -> URL {
            let url = directory.appendingPathComponent(name)
            try data.write(to: url)
            return url
        }
        func header(_ dict: String) -> Data {
            var d = dict
            while (10 + d.utf8.count + 1) % 64 != 0 { d += " " }
            d += "\n"
            return Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(d.utf8.count), 0]) + Data(d.utf8)
        }
        let cases: [(URL, (NpyError) -> Bool)] = [
            (try variant("magic.npy", Data("NOTNUMPY".utf8) + bytes.dropFirst(8)), { if case .notNpy = $0 { return true }; return false }),
            (try variant("cut.npy", bytes.prefix(bytes.count - 3)), { if case .truncated = $0 { return true }; return false }),
            (try variant("f8.npy", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") + Data(count: 16)),
             { if case .unsupported = $0 { return true }; return false }),
            (try variant("fortran.npy", header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") + Data(count: 16)),
             { if case .unsupported = $0 { return true }; return false }),
            (try variant("shape.npy", header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }") + Data(count: 16)),
             { if case .notNpy = $0 { return true }; return false }),
            (directory.appendingPathComponent("absent.npy"), { if case .cannotOpen = $0 { return true }; return false }),
        ]
        for (url, check) in cases {
            XCTAssertThrowsError(try Npy.read(contentsOf: url), url.lastPathComponent) { error in
                guard let e = error as? NpyError else { return XCTFail("\(error)") }
                XCTAssertTrue(check(e), "\(url.lastPathComponent): \(e)")
                XCTAssertTrue(e.description.contains(url.path), "\(e)")
            }
        }
    }
}
