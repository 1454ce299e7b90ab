/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord framing uses.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// Incremental CRC-32C over chunks (slicing-by-8: checkpoint files are hundreds of MB).
    public struct Running {
        private var crc: UInt32 = 0xFFFF_FFFF
        public init() {}
        public var value: UInt32 { crc ^ 0xFFFF_FFFF }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            var c = crc
            var i = 0
            let n = bytes.count
            CRC32C.slices.withUnsafeBufferPointer { t in
                while i &+ 8 <= n {
                    let lo = c ^ (UInt32(bytes[i]) | UInt32(bytes[i &+ 1]) << 8 | UInt32(bytes[i &+ 2]) << 16 | UInt32(bytes[i &+ 3]) << 24)
                    let hi = UInt32(bytes[i &+ 4]) | UInt32(bytes[i &+ 5]) << 8 | UInt32(bytes[i &+ 6]) << 16 | UInt32(bytes[i &+ 7]) << 24
                    c = t[7 &* 256 &+ Int(lo & 0xFF)] ^ t[6 &* 256 &+ Int((lo >> 8) & 0xFF)]
                      ^ t[5 &* 256 &+ Int((lo >> 16) & 0xFF)] ^ t[4 &* 256 &+ Int(lo >> 24)]
                      ^ t[3 &* 256 &+ Int(hi & 0xFF)] ^ t[2 &* 256 &+ Int((hi >> 8) & 0xFF)]
                      ^ t[1 &* 256 &+ Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                    i &+= 8
                }
                while i < n { c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8); i &+= 1 }
            }
            crc = c
        }
    }

    /// Eight 256-entry tables: slices[k·256 + b] is the CRC of byte b followed by k zero bytes.
    static let slices: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 { t[n] = table[n] }
        for k in 1..<8 { for n in 0..<256 { let prev = t[(k - 1) * 256 + n]; t[k * 256 + n] = (prev >> 8) ^ t[Int(prev & 0xFF)] } }
        return t
    }()

    /// The LevelDB/TFRecord mask: rotate right by 15 and add a constant, so that a CRC stored
    /// next to the data it covers does not checksum to a fixed value.
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let c = checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}
