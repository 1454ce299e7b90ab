import Foundation

/// Minimal PNG encoder (8-bit RGB, zlib "stored" blocks: no compression library needed; images are
/// small spectrogram thumbnails).
public enum PNGEncoder {
    public static func rgb(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(pixels.count == width * height * 3, "PNG pixel buffer must be width·height·3 bytes")
        var raw: [UInt8] = []
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: pixels[(y * width * 3)..<((y + 1) * width * 3)])
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ body: [UInt8]) {
            png += be32(UInt32(body.count))
            let typed = Array(type.utf8) + body
            png += typed
            png += be32(CRC32.checksum(typed))
        }
        chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0])
        // zlib stream of stored deflate blocks (≤ 65535 bytes each) + Adler-32.
        var z: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, raw.count - offset)
            let final: UInt8 = offset + n == raw.count ? 1 : 0
            z.append(final)
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += raw[offset..<offset + n]
            offset += n
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        z += be32(b << 16 | a)
        chunk("IDAT", z)
        chunk("IEND", [])
        return png
    }
}

/// CRC-32 (IEEE, PNG chunks).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Renders a [rows, cols] matrix (e.g. a log-mel, low frequencies at the bottom) as an RGB heat map.
public enum SpectrogramImage {
    public static func png(values: [Float], rows: Int, cols: Int) -> (png: [UInt8], width: Int, height: Int) {
        let finite = values.filter { $0.isFinite }
        let lo = finite.min() ?? 0, hi = finite.max() ?? 1
        let span = max(hi - lo, 1e-6)
        var pixels = [UInt8](repeating: 0, count: rows * cols * 3)
        for r in 0..<rows {
            for c in 0..<cols {
                let v = values[r * cols + c]
                let t = v.isFinite ? (v - lo) / span : 0
                // dark blue → teal → yellow, a perceptually ordered ramp
                let red = UInt8(max(0, min(255, 255 * (1.6 * t - 0.4))))
                let green = UInt8(max(0, min(255, 255 * t)))
                let blue = UInt8(max(0, min(255, 255 * (0.6 - 0.6 * t) + 60 * (1 - t))))
                let y = rows - 1 - r
                let o = (y * cols + c) * 3
                pixels[o] = red; pixels[o + 1] = green; pixels[o + 2] = blue
            }
        }
        return (PNGEncoder.rgb(width: cols, height: rows, pixels: pixels), cols, rows)
    }
}
