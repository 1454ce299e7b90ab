import XCTest
import Foundation
import Formats
import Cores

/// `JSONWriter`, `JSONValueEncoder` and `JSONFile`: everything written reads back through
/// `JSONParser` to the same value (bit for bit for numbers), strings are escaped per RFC 8259, and
/// reading errors name file, line and key.
final class JSONWriterTests: XCTestCase {
    let pretty = JSONWriter(style: .pretty)
    let compact = JSONWriter(style: .compact)

    func parsed(_ data: Data) throws -> JSONValue { JSONValue(try JSONParser.parse(data)) }

    func testEveryValueKindRoundTrips() throws {
        let value: JSONValue = .object([
            (key: "null", value: .null),
            (key: "true", value: .bool(true)),
            (key: "false", value: .bool(false)),
            (key: "int", value: .int(-42)),
            (key: "uint", value: .uint(UInt64.max)),
            (key: "double", value: .double(0.1)),
            (key: "string", value: .string("héllo \"wörld\" \\ / 汉字 🎙")),
            (key: "empty list", value: .array([])),
            (key: "empty object", value: .object([])),
            (key: "list", value: .array([.int(1), .string("two"), .null, .array([.bool(false)])])),
            (key: "object", value: .object([(key: "z", value: .int(1)), (key: "a", value: .double(-2.5))])),
        ])
        for writer in [pretty, compact, JSONWriter(style: .compact, sortedKeys: true)] {
            let back = try parsed(try writer.data(value))
            if writer.sortedKeys {
                guard case .object(let members) = back else { return XCTFail("not an object") }
                XCTAssertEqual(members.map(\.key), ["double", "empty list", "empty object", "false", "int", "list",
                                                    "null", "object", "string", "true", "uint"])
                XCTAssertEqual(back["object"], .object([(key: "a", value: .double(-2.5)), (key: "z", value: .int(1))]))
            } else {
                XCTAssertEqual(back, value)
            }
        }
    }

    func testPrettyLayoutIsTwoSpaceIndentedAndCompactIsOneLine() throws {
        let value: JSONValue = .object([(key: "b", value: .array([.int(1), .int(2)])), (key: "a", value: .object([])),
                                        (key: "s", value: .string("line\nbreak"))])
        XCTAssertEqual(try pretty.string(value), "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": {},\n  \"s\": \"line\\nbreak\"\n}")
        let line = try compact.data(value)
        XCTAssertFalse(line.contains(0x0A))
        XCTAssertEqual(String(decoding: line, as: UTF8.self), "{\"b\":[1,2],\"a\":{},\"s\":\"line\\nbreak\"}")
    }

    func testEveryControlCharacterIsEscaped() throws {
        var scalars = (0..<0x20).map { Unicode.Scalar(UInt8($0)) }
        scalars += ["\"", "\\", "/", "é", "\u{7F}", "\u{2028}", "😀"]
        let s = String(String.UnicodeScalarView(scalars))
        let data = try compact.data(.string(s))
        // No raw control byte survives; the text between the quotes is the RFC 8259 form.
        XCTAssertFalse(data.contains { $0 < 0x20 })
        let text = String(decoding: data, as: UTF8.self)
        let short: [UInt32: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        var expected = "\""
        for c in 0..<UInt32(0x20) { expected += short[c] ?? String(format: "\\u%04x", c) }
        expected += "\\\"\\\\/é\u{7F}\u{2028}😀\""
        XCTAssertEqual(text, expected)
        XCTAssertEqual(try parsed(data), .string(s))
        XCTAssertEqual(JSONWriter.quoted("a\"b"), "\"a\\\"b\"")
    }

    func testIntegersAreExactOverTheWholeRange() throws {
        let ints: [Int64] = [0, 1, -1, 1 << 53, (1 << 53) + 1, -(1 << 53) - 1, Int64.max, Int64.min, Int64.max - 1]
        for i in ints {
            let data = try compact.data(.int(i))
            XCTAssertEqual(String(decoding: data, as: UTF8.self), String(i))
            XCTAssertEqual(try parsed(data), .int(i))
        }
        for u in [UInt64(Int64.max) + 1, UInt64.max, UInt64.max - 1] {
            let data = try compact.data(.uint(u))
            XCTAssertEqual(String(decoding: data, as: UTF8.self), String(u))
            XCTAssertEqual(try parsed(data), .uint(u))
        }
    }

    func testDoublesRoundTripBitExactly() throws {
        var bits = SplitMix64(seed: 2026)
        var values: [Double] = [0, -0.0, 0.1, 1.0 / 3, 1e-5, 1e16, 1e300, -1e-300, .leastNonzeroMagnitude,
                                .leastNormalMagnitude, .leastNormalMagnitude.nextDown, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, 9_007_199_254_740_993, .pi]
        while values.count < 5000 {
            let d = Double(bitPattern: bits.next())
            if d.isFinite { values.append(d) }
        }
        // Subnormals: random mantissas with a zero exponent.
        for _ in 0..<500 { values.append(Double(bitPattern: bits.next() & 0x800F_FFFF_FFFF_FFFF)) }
        let data = try compact.data(.array(values.map(JSONValue.double)))
        guard case .array(let nodes) = try JSONParser.parse(data).value else { return XCTFail("not a list") }
        XCTAssertEqual(nodes.count, values.count)
        for (node, v) in zip(nodes, values) {
            guard case .number(let back, _) = node.value else { return XCTFail("not a number") }
            XCTAssertEqual(back.bitPattern, v.bitPattern, "\(v)")
        }
        XCTAssertEqual(String(decoding: try compact.data(.double(-0.0)), as: UTF8.self), "-0.0")
    }

    func testFloatsRoundTripBitExactlyThroughCodable() throws {
        struct Box: Codable, Equatable { var values: [Float] }
        var bits = SplitMix64(seed: 7)
        var values: [Float] = [0.667, 0.8, 1, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        while values.count < 2000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: bits.next()))
            if f.isFinite { values.append(f) }
        }
        let data = try JSONFile.encode(Box(values: values))
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("0.667"))  // Float's own shortest form
        let back = try JSONFile.decode(Box.self, from: data, file: "box.json")
        XCTAssertEqual(back.values.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testNonFiniteNumbersAreRefusedWithTheKeyOrWrittenAsNullWhenAsked() throws {
        let value: JSONValue = .object([(key: "losses", value: .array([.double(1), .double(.nan)]))])
        XCTAssertThrowsError(try compact.data(value)) { error in
            XCTAssertEqual((error as? JSONWriteError)?.keyPath, "losses[1]")
            XCTAssertTrue("\(error)".contains("JSON has no NaN"), "\(error)")
        }
        XCTAssertThrowsError(try compact.data(.float(-.infinity)))
        let nulls = JSONWriter(style: .compact, nonFinite: .null)
        XCTAssertEqual(try nulls.string(value), "{\"losses\":[1.0,null]}")
    }

    func testZeroFractionDroppingIsOptIn() throws {
        var writer = JSONWriter(style: .compact)
        let value: JSONValue = [1.0, -0.0, 1.5, 1e16, .float(2), 3]
        XCTAssertEqual(try writer.string(value), "[1.0,-0.0,1.5,1e+16,2.0,3]")
        writer.dropsZeroFraction = true
        XCTAssertEqual(try writer.string(value), "[1,-0,1.5,1e+16,2,3]")
    }

    func testDeepNestingRoundTrips() throws {
        var value: JSONValue = .string("bottom")
        for depth in 0..<(JSONParser.maxDepth - 1) {
            value = depth % 2 == 0 ? .array([value, .int(Int64(depth))]) : .object([(key: "d\(depth)", value: value)])
        }
        XCTAssertEqual(try parsed(try pretty.data(value)), value)
        XCTAssertEqual(try parsed(try compact.data(value)), value)
    }

    struct Record: Codable, Equatable {
        enum Kind: String, Codable { case train, validation }
        var id: String
        var speakerID: Int
        var rng: [UInt64]
        var rate: Double
        var note: String?
        var kind: Kind
        var nested: [String: [Int]]
        enum CodingKeys: String, CodingKey { case id, speakerID = "speaker_id", rng, rate, note, kind, nested }
    }

    func testCodableRoundTripAndKeyNames() throws {
        let r = Record(id: "a/b", speakerID: 3, rng: [UInt64.max, 1 << 63, 0], rate: 1e-5, note: nil, kind: .validation,
                       nested: ["x": [1, 2], "a": []])
        let data = try JSONFile.encode(r)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("}\n"))
        XCTAssertTrue(text.contains("\"speaker_id\": 3") && text.contains("\"a/b\"") && text.contains("18446744073709551615"), text)
        XCTAssertFalse(text.contains("\"note\""))  // nil optionals are left out, as Foundation's encoder does
        XCTAssertEqual(try JSONFile.decode(Record.self, from: data, file: "r.json"), r)
        // Foundation reads what we write.
        XCTAssertEqual(try JSONDecoder().decode(Record.self, from: data), r)
    }

    func testDecodingErrorsNameFileLineAndKey() throws {
        let good = #"{"id":"a","speaker_id":1,"rng":[1],"rate":0.5,"kind":"train","nested":{}}"#
        let badType = #"{"id":"a","speaker_id":"one","rng":[1],"rate":0.5,"kind":"train","nested":{}}"#
        let badWord = #"{"id":"a","speaker_id":1,"rng":[1,-2],"rate":0.5,"kind":"train","nested":{}}"#
        let badKind = #"{"id":"a","speaker_id":1,"rng":[1],"rate":0.5,"kind":"test","nested":{}}"#
        let missing = #"{"id":"a","rng":[1],"rate":0.5,"kind":"train","nested":{}}"#
        func error(_ lines: [String]) -> JSONReadError? {
            do { _ = try JSONFile.decodeLines(Record.self, from: Data(lines.joined(separator: "\n").utf8), file: "m.jsonl") } catch {
                return error
            }
            return nil
        }
        XCTAssertNil(error([good, "", good]))
        XCTAssertEqual(error([good, good, badType])?.description, "m.jsonl:3: speaker_id: expected an integer, found a string")
        XCTAssertEqual(error([good, badWord])?.description, "m.jsonl:2: rng[1]: -2 is out of range for UInt64")
        XCTAssertEqual(error([badKind])?.line, 1)
        XCTAssertEqual(error([badKind])?.keyPath, "kind")
        XCTAssertEqual(error([good, missing])?.description, "m.jsonl:2: speaker_id: missing required key")
        XCTAssertEqual(error([good, "{\"id\":"])?.description, "m.jsonl:2: column 7: not valid JSON: unexpected end of the document, expected a value")
        // A pretty document: the line of the offending value.
        let doc = "{\n  \"id\": \"a\",\n  \"speaker_id\": 1.5\n}"
        XCTAssertThrowsError(try JSONFile.decode(Record.self, from: Data(doc.utf8), file: "r.json")) { e in
            XCTAssertEqual("\(e)", "r.json:3: speaker_id: expected an integer, found 1.5")
        }
    }

    func testKeyedSectionErrorsCarryFileAndLine() throws {
        let section = try JSONFile.object(Data("{\n  \"step\": \"x\",\n  \"files\": {}\n}".utf8), file: "state.json")
        _ = section.int("step")
        _ = section.section("files")
        _ = section.section("trainer")
        XCTAssertThrowsError(try JSONFile.check(section.log, file: "state.json")) { e in
            XCTAssertEqual("\(e)", "state.json:2: step: expected an integer, found a string (and: line 1: trainer: missing required key)")
        }
        XCTAssertThrowsError(try JSONFile.object(Data("[1]".utf8), file: "state.json")) { e in
            XCTAssertEqual("\(e)", "state.json:1: expected a JSON object, found a list")
        }
    }
}
