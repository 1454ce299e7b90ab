import Foundation
import Audio

/// Writes TensorBoard event files (TFRecord framing of `tensorboard.Event` protobufs): scalars,
/// audio clips and images, readable by TensorBoard without TensorFlow.
///
/// Every process writes its own file (`events.out.tfevents.<time>.<host>.<pid>.<n>`); TensorBoard
/// merges all files of a folder. On resume, `start(atStep:)` writes a SessionLog START event, which
/// tells TensorBoard to drop events from earlier files at or after that step — so the curves of an
/// interrupted and resumed run join into one line without the steps that were recomputed.
public final class EventFileWriter {
    public let url: URL
    private let handle: FileHandle

    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        var url: URL
        var counter = 0
        repeat {
            url = directory.appendingPathComponent(
                "events.out.tfevents.\(Int(now)).\(host).\(ProcessInfo.processInfo.processIdentifier).\(counter)")
            counter += 1
        } while FileManager.default.fileExists(atPath: url.path)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw TrainingError.io("cannot create TensorBoard event file \(url.path)")
        }
        self.url = url
        self.handle = try FileHandle(forWritingTo: url)
        var event = ProtoWriter()
        event.double(1, now)
        event.string(3, "brain.Event:2")
        try writeRecord(event.bytes)
    }

    deinit { try? handle.close() }

    /// Marks a (re)start at `step`: TensorBoard purges previously logged events with step ≥ `step`.
    public func start(atStep step: Int) throws {
        var event = ProtoWriter()
        event.double(1, Date().timeIntervalSince1970)
        event.int64(2, Int64(step))
        event.message(6) { $0.int64(1, 1) }   // SessionLog { status: START }
        try writeRecord(event.bytes)
    }

    public func scalar(_ tag: String, _ value: Float, step: Int) throws {
        try summary(step: step) { v in
            v.string(1, tag)
            v.float(2, value)
        }
    }

    /// A mono clip, stored as a 16-bit PCM WAV inside the event.
    public func audio(_ tag: String, samples: [Float], sampleRate: Int, step: Int) throws {
        guard let wav = PCM16.wavBytes(samples: samples, sampleRate: sampleRate) else {
            throw TrainingError.invalidArgument("audio summary \(tag): \(samples.count) samples at \(sampleRate) Hz do not fit a WAV file")
        }
        try summary(step: step) { v in
            v.string(1, tag)
            v.message(6) { a in
                a.float(1, Float(sampleRate))
                a.int64(2, 1)
                a.int64(3, Int64(samples.count))
                a.data(4, wav)
                a.string(5, "audio/wav")
            }
        }
    }

    /// A PNG image (e.g. a mel spectrogram rendered by `SpectrogramImage`).
    public func image(_ tag: String, png: [UInt8], width: Int, height: Int, channels: Int, step: Int) throws {
        try summary(step: step) { v in
            v.string(1, tag)
            v.message(4) { img in
                img.int64(1, Int64(height))
                img.int64(2, Int64(width))
                img.int64(3, Int64(channels))
                img.data(4, png)
            }
        }
    }

    public func flush() throws { try handle.synchronize() }

    private func summary(step: Int, _ value: (inout ProtoWriter) -> Void) throws {
        var event = ProtoWriter()
        event.double(1, Date().timeIntervalSince1970)
        event.int64(2, Int64(step))
        event.message(5) { s in s.message(1, value) }
        try writeRecord(event.bytes)
    }

    private func writeRecord(_ data: [UInt8]) throws {
        var record: [UInt8] = []
        record.reserveCapacity(data.count + 16)
        let length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: length) { Array($0) }
        record.append(contentsOf: lengthBytes)
        withUnsafeBytes(of: CRC32C.masked(lengthBytes).littleEndian) { record.append(contentsOf: $0) }
        record.append(contentsOf: data)
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { record.append(contentsOf: $0) }
        do { try handle.write(contentsOf: record) } catch {
            throw TrainingError.io("cannot write TensorBoard event file \(url.path): \(error.localizedDescription)")
        }
    }
}

/// One decoded event, as far as SwiftVITS writes them.
public struct LoggedEvent: Equatable, Sendable {
    public enum Payload: Equatable, Sendable {
        case fileVersion(String)
        case sessionStart
        case scalar(tag: String, value: Float)
        case audio(tag: String, sampleRate: Float, frames: Int64, wav: [UInt8])
        case image(tag: String, width: Int64, height: Int64, png: [UInt8])
        case other
    }
    public var wallTime: Double
    public var step: Int64
    public var payloads: [Payload]
}

/// Reads event files back, verifying every record's framing and CRCs (used by tests and `vits`).
public enum EventFileReader {
    public static func read(_ url: URL) throws -> [LoggedEvent] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var events: [LoggedEvent] = []
        var i = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        while i < bytes.count {
            guard i + 12 <= bytes.count else { throw TrainingError.corrupt("\(url.path): truncated record header at byte \(i)") }
            let lengthBytes = Array(bytes[i..<i + 8])
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(lengthBytes[$1]) << (8 * UInt64($1)) }
            guard u32(i + 8) == CRC32C.masked(lengthBytes) else { throw TrainingError.corrupt("\(url.path): bad length CRC at byte \(i)") }
            guard length <= UInt64(bytes.count - i - 16) else { throw TrainingError.corrupt("\(url.path): truncated record at byte \(i)") }
            let start = i + 12, end = start + Int(length)
            let data = Array(bytes[start..<end])
            guard u32(end) == CRC32C.masked(data) else { throw TrainingError.corrupt("\(url.path): bad data CRC at byte \(start)") }
            events.append(try decodeEvent(data))
            i = end + 4
        }
        return events
    }

    static func decodeEvent(_ data: [UInt8]) throws -> LoggedEvent {
        var event = LoggedEvent(wallTime: 0, step: 0, payloads: [])
        for (field, value) in try ProtoReader.fields(data) {
            switch (field, value) {
            case (1, .fixed64(let bits)): event.wallTime = Double(bitPattern: bits)
            case (2, .varint(let v)): event.step = Int64(bitPattern: v)
            case (3, .bytes(let b)): event.payloads.append(.fileVersion(String(decoding: b, as: UTF8.self)))
            case (6, .bytes): event.payloads.append(.sessionStart)
            case (5, .bytes(let summary)):
                for (sf, sv) in try ProtoReader.fields(summary) {
                    guard sf == 1, case .bytes(let valueBytes) = sv else { continue }
                    event.payloads.append(try decodeValue(valueBytes))
                }
            default: break
            }
        }
        return event
    }

    static func decodeValue(_ bytes: [UInt8]) throws -> LoggedEvent.Payload {
        var tag = ""
        var payload: LoggedEvent.Payload = .other
        for (f, v) in try ProtoReader.fields(bytes) {
            switch (f, v) {
            case (1, .bytes(let b)): tag = String(decoding: b, as: UTF8.self)
            case (2, .fixed32(let bits)): payload = .scalar(tag: "", value: Float(bitPattern: bits))
            case (6, .bytes(let audio)):
                var rate: Float = 0, frames: Int64 = 0, wav: [UInt8] = []
                for (af, av) in try ProtoReader.fields(audio) {
                    switch (af, av) {
                    case (1, .fixed32(let bits)): rate = Float(bitPattern: bits)
                    case (3, .varint(let n)): frames = Int64(n)
                    case (4, .bytes(let b)): wav = b
                    default: break
                    }
                }
                payload = .audio(tag: "", sampleRate: rate, frames: frames, wav: wav)
            case (4, .bytes(let image)):
                var w: Int64 = 0, h: Int64 = 0, png: [UInt8] = []
                for (imf, imv) in try ProtoReader.fields(image) {
                    switch (imf, imv) {
                    case (1, .varint(let n)): h = Int64(n)
                    case (2, .varint(let n)): w = Int64(n)
                    case (4, .bytes(let b)): png = b
                    default: break
                    }
                }
                payload = .image(tag: "", width: w, height: h, png: png)
            default: break
            }
        }
        switch payload {
        case .scalar(_, let value): return .scalar(tag: tag, value: value)
        case .audio(_, let r, let f, let w): return .audio(tag: tag, sampleRate: r, frames: f, wav: w)
        case .image(_, let w, let h, let p): return .image(tag: tag, width: w, height: h, png: p)
        default: return .other
        }
    }
}
