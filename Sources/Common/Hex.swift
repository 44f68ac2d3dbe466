/// The one hex form the project prints and stores: lower case, two digits a byte, four a USB
/// id. Digests, credentials, ids and escaped bytes all go through here.
public enum Hex {
    static let digits = Array("0123456789abcdef")
    @usableFromInline static let digitBytes: [UInt8] = Array("0123456789abcdef".utf8)

    /// Two lower-case digits, e.g. `0a`.
    public static func byte(_ value: UInt8) -> String {
        String([digits[Int(value >> 4)], digits[Int(value & 0x0F)]])
    }

    /// Four lower-case digits, e.g. `04b8`, as USB ids are written.
    public static func word(_ value: UInt16) -> String {
        byte(UInt8(value >> 8)) + byte(UInt8(value & 0xFF))
    }
}

extension Sequence where Element == UInt8 {
    /// The bytes in hex (a SHA-256 digest: 64 characters). Inlinable, so a digest's bytes are
    /// read through its own type rather than generically one by one.
    @inlinable
    public var hexString: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            bytes.append(Hex.digitBytes[Int(byte >> 4)])
            bytes.append(Hex.digitBytes[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
