import Foundation
import PrintoutText
import TextCodecs

/// How the console shows paperwork: a printout as the text its ESC/POS bytes print, with the
/// QR code checked against the verification id the gateway recorded; a fingerprint, kept as
/// PGM, as a PNG a browser shows.
enum PaperworkView {
    /// Larger blobs are not decoded for a page (no real printout or fingerprint comes near).
    static let largestPrintout = 1 << 20
    static let largestFingerprint = 16 << 20

    struct Printout: Equatable {
        var text: String
        /// The verification id, and whether the printed QR code holds it.
        var verificationId: String?
        var qrMatches: Bool
    }

    /// The printout's text at the width of its widest line (a 58 mm roll prints 32 columns).
    static func printout(_ bytes: [UInt8], verificationId: String?) throws(PrintoutDecodingError) -> Printout {
        let decoded = try DecodedPrintout(bytes: bytes)
        let widest = decoded.lines.map { $0.text.displayWidth * ($0.doubleWidth ? 2 : 1) }.max() ?? 0
        let text = decoded.text(columns: max(32, widest))
        return Printout(text: text, verificationId: verificationId,
                        qrMatches: verificationId.map { id in !decoded.qrCodes.isEmpty && decoded.qrCodes.allSatisfy { $0 == id } } ?? false)
    }
}

/// A binary PGM (P5, 8-bit) image, as fingerprint readers' captures are kept.
struct GrayscaleImage: Equatable {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case notPGM
        case badHeader(String)
        case wrongSize(expected: Int, found: Int)

        var description: String {
            switch self {
            case .notPGM: "not a binary PGM image (P5)"
            case .badHeader(let reason): "the PGM header is malformed: \(reason)"
            case .wrongSize(let expected, let found): "the PGM holds \(found) pixel bytes, its header promises \(expected)"
            }
        }
    }

    /// The largest side a fingerprint image may have.
    static let largestSide = 8192

    /// Reads `P5 <width> <height> 255` then the pixels; comments (`#`) in the header are allowed.
    init(pgm bytes: [UInt8]) throws(ParseError) {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") else { throw .notPGM }
        var index = 2
        var fields: [Int] = []
        while fields.count < 3 {
            while index < bytes.count, bytes[index] == UInt8(ascii: "#") || [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
                if bytes[index] == UInt8(ascii: "#") {
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                } else {
                    index += 1
                }
            }
            var value = 0, digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
                guard digits <= 6 else { throw .badHeader("a number is too long") }
            }
            guard digits > 0 else { throw .badHeader("expected width, height and maximum value") }
            fields.append(value)
        }
        guard index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) else { throw .badHeader("no whitespace before the pixels") }
        index += 1
        let (width, height, maximum) = (fields[0], fields[1], fields[2])
        guard (1...Self.largestSide).contains(width), (1...Self.largestSide).contains(height) else {
            throw .badHeader("\(width)×\(height) is not a fingerprint's size")
        }
        guard maximum == 255 else { throw .badHeader("maximum value \(maximum); only 8-bit images (255) are kept") }
        let expected = width * height, found = bytes.count - index
        guard found == expected else { throw .wrongSize(expected: expected, found: found) }
        self.width = width
        self.height = height
        pixels = Array(bytes[index...])
    }

    /// The image as an 8-bit greyscale PNG. The zlib stream uses stored (uncompressed) blocks:
    /// the image is small, lossless either way, and the encoder stays a few lines with no library.
    var png: [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw += pixels[(row * width)..<((row + 1) * width)]
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65_535, raw.count - offset)
            let last: UInt8 = offset + count == raw.count ? 1 : 0
            zlib += [last, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + count)]
            offset += count
        } while offset < raw.count
        zlib += Self.bigEndian(Self.adler32(raw))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += Self.chunk("IHDR", Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height)) + [8, 0, 0, 0, 0])
        png += Self.chunk("IDAT", zlib)
        png += Self.chunk("IEND", [])
        return png
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for chunk in stride(from: 0, to: bytes.count, by: 5552) {
            for byte in bytes[chunk..<min(chunk + 5552, bytes.count)] {
                a += UInt32(byte)
                b += a
            }
            a %= 65_521
            b %= 65_521
        }
        return b << 16 | a
    }
}
