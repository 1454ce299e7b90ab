import Foundation

/// A read-only reader for the zip archives `torch.save` writes (PyTorch ≥ 1.6): every entry is
/// *stored* (compression method 0), so reading one is a bounds-checked slice of the memory-mapped
/// file. ZIP64 records are understood (checkpoints past 4 GiB use them). Deflated entries are
/// refused with a message: torch never writes them, and a general zip library would be a
/// dependency for a path no checkpoint takes (docs/piper.md).
///
/// Every entry read is checked against the CRC-32 its central-directory record holds, so a damaged
/// or truncated archive is reported, never half-read.
public struct StoredZipArchive: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let method: UInt16
        public let compressedSize: Int
        public let size: Int
        public let crc32: UInt32
        let localHeaderOffset: Int
    }

    public let path: String
    public let entries: [Entry]
    private let data: Data

    /// Opens and indexes `url` (nothing but the central directory is read here).
    public init(url: URL) throws(ZipError) {
        path = url.path
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .cannotOpen(path: url.path, reason: error.localizedDescription)
        }
        entries = try Self.centralDirectory(data, path: url.path)
    }

    /// Whether the first bytes are a zip local-file header (`PK\3\4`).
    public static func looksLikeZip(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return head == Data([0x50, 0x4B, 0x03, 0x04])
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The bytes of `entry`, CRC-checked.
    public func contents(of entry: Entry) throws(ZipError) -> Data {
        guard entry.method == 0 else {
            throw .unsupported(path: path, reason: "entry \(entry.name) is compressed (method \(entry.method)); "
                               + "only stored entries are read (torch.save never compresses)")
        }
        let local = entry.localHeaderOffset
        guard local >= 0, local + 30 <= data.count, Self.u32(data, local) == 0x0403_4B50 else {
            throw .corrupt(path: path, reason: "entry \(entry.name): no local header at offset \(local)")
        }
        let nameLength = Int(Self.u16(data, local + 26)), extraLength = Int(Self.u16(data, local + 28))
        let start = local + 30 + nameLength + extraLength
        guard start + entry.size <= data.count else {
            throw .corrupt(path: path, reason: "entry \(entry.name) runs past the end of the file (truncated archive)")
        }
        let bytes = data.subdata(in: start..<(start + entry.size))
        let crc = CRC32.checksum(bytes)
        guard crc == entry.crc32 else {
            throw .corrupt(path: path, reason: "entry \(entry.name) fails its CRC-32 check (damaged archive)")
        }
        return bytes
    }

    // MARK: parsing

    static func u16(_ d: Data, _ at: Int) -> UInt16 {
        d.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    }
    static func u32(_ d: Data, _ at: Int) -> UInt32 {
        d.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }
    static func u64(_ d: Data, _ at: Int) -> UInt64 {
        d.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }

    static func centralDirectory(_ d: Data, path: String) throws(ZipError) -> [Entry] {
        // The end-of-central-directory record: 22 bytes plus a comment of at most 65535 bytes.
        guard d.count >= 22 else { throw .notZip(path: path, reason: "the file has \(d.count) bytes") }
        var eocd = -1
        var at = d.count - 22
        let lowest = max(0, d.count - 22 - 65535)
        while at >= lowest {
            if u32(d, at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else {
            throw .notZip(path: path, reason: "no end-of-central-directory record (truncated, or not a zip archive)")
        }
        var count = Int(u16(d, eocd + 10))
        var dirSize = Int(u32(d, eocd + 12))
        var dirOffset = Int(u32(d, eocd + 16))
        if count == 0xFFFF || dirSize == 0xFFFF_FFFF || dirOffset == 0xFFFF_FFFF {
            // ZIP64: a locator right before the record points at the ZIP64 end record.
            let locator = eocd - 20
            guard locator >= 0, u32(d, locator) == 0x0706_4B50 else {
                throw .corrupt(path: path, reason: "ZIP64 sizes without a ZIP64 locator")
            }
            let record = Int(clamping: u64(d, locator + 8))
            guard record >= 0, record + 56 <= d.count, u32(d, record) == 0x0606_4B50 else {
                throw .corrupt(path: path, reason: "the ZIP64 end record is missing or out of range")
            }
            count = Int(clamping: u64(d, record + 32))
            dirSize = Int(clamping: u64(d, record + 40))
            dirOffset = Int(clamping: u64(d, record + 48))
        }
        guard dirOffset >= 0, dirSize >= 0, dirOffset + dirSize <= d.count else {
            throw .corrupt(path: path, reason: "the central directory (offset \(dirOffset), \(dirSize) bytes) lies outside the file (truncated archive)")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var p = dirOffset
        for index in 0..<count {
            guard p + 46 <= dirOffset + dirSize, u32(d, p) == 0x0201_4B50 else {
                throw .corrupt(path: path, reason: "central directory record \(index) is damaged")
            }
            let method = u16(d, p + 10)
            let crc = u32(d, p + 16)
            var compressed = UInt64(u32(d, p + 20)), size = UInt64(u32(d, p + 24))
            let nameLength = Int(u16(d, p + 28)), extraLength = Int(u16(d, p + 30)), commentLength = Int(u16(d, p + 32))
            var offset = UInt64(u32(d, p + 42))
            let end = p + 46 + nameLength + extraLength + commentLength
            guard end <= dirOffset + dirSize else { throw .corrupt(path: path, reason: "central directory record \(index) overruns the directory") }
            let name = String(decoding: d.subdata(in: (p + 46)..<(p + 46 + nameLength)), as: UTF8.self)
            // ZIP64 extra field (id 1): the 0xFFFFFFFF fields, in order size, compressed size, offset.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(d, e), length = Int(u16(d, e + 2))
                var q = e + 4
                if id == 1 {
                    if size == 0xFFFF_FFFF, q + 8 <= e + 4 + length { size = u64(d, q); q += 8 }
                    if compressed == 0xFFFF_FFFF, q + 8 <= e + 4 + length { compressed = u64(d, q); q += 8 }
                    if offset == 0xFFFF_FFFF, q + 8 <= e + 4 + length { offset = u64(d, q); q += 8 }
                }
                e += 4 + length
            }
            guard size <= UInt64(d.count), compressed <= UInt64(d.count), offset < UInt64(d.count) else {
                throw .corrupt(path: path, reason: "entry \(name) claims sizes or an offset beyond the file (truncated archive)")
            }
            entries.append(Entry(name: name, method: method, compressedSize: Int(compressed), size: Int(size),
                                 crc32: crc, localHeaderOffset: Int(offset)))
            p = end
        }
        return entries
    }
}

public enum ZipError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notZip(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .notZip(path, reason): return "\(path): not a zip archive: \(reason)"
        case let .corrupt(path, reason): return "\(path): damaged zip archive: \(reason)"
        case let .unsupported(path, reason): return "\(path): \(reason)"
        }
    }
}

/// CRC-32 (IEEE 802.3, the zip checksum), table-driven, eight bytes per step.
public enum CRC32 {
    /// Eight 256-entry tables, one after the other (slicing-by-8).
    static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    public static func checksum(_ data: Data) -> UInt32 {
        return data.withUnsafeBytes { raw -> UInt32 in
            let bytes = raw.bindMemory(to: UInt8.self)
            var crc: UInt32 = 0xFFFF_FFFF
            var i = 0
            let n = bytes.count
            table.withUnsafeBufferPointer { t in
                while i + 8 <= n {
                    let lo = crc ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                    let hi = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                    crc = t[7 &* 256 &+ Int(lo & 0xFF)] ^ t[6 &* 256 &+ Int((lo >> 8) & 0xFF)]
                        ^ t[5 &* 256 &+ Int((lo >> 16) & 0xFF)] ^ t[4 &* 256 &+ Int(lo >> 24)]
                        ^ t[3 &* 256 &+ Int(hi & 0xFF)] ^ t[2 &* 256 &+ Int((hi >> 8) & 0xFF)]
                        ^ t[1 &* 256 &+ Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                    i += 8
                }
                while i < n {
                    crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
                    i += 1
                }
            }
            return ~crc
        }
    }
}
