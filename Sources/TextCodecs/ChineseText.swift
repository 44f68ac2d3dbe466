#if canImport(Glibc)
import Glibc
#endif

/// Chinese byte encodings that devices use: GBK in GA/T 947 records, GB18030 on printers.
/// Converted through the C library's iconv, which carries the national tables.
public enum ChineseEncoding: String, Sendable {
    case gbk = "GBK"
    case gb18030 = "GB18030"
}

public struct TextCodingError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension ChineseEncoding {
    /// Encodes `text`; fails on a character the encoding cannot represent.
    public func encode(_ text: String) throws(TextCodingError) -> [UInt8] {
        try convert(Array(text.utf8), from: "UTF-8", to: rawValue)
    }

    /// Decodes `bytes`; fails on a byte sequence that is not valid in this encoding.
    public func decode(_ bytes: [UInt8]) throws(TextCodingError) -> String {
        String(decoding: try convert(bytes, from: rawValue, to: "UTF-8"), as: UTF8.self)
    }
}

private func convert(_ input: [UInt8], from source: String, to target: String) throws(TextCodingError) -> [UInt8] {
    let converter = iconv_open(target, source)
    guard converter != iconv_t(bitPattern: -1) else {
        throw TextCodingError(message: "this system's iconv cannot convert \(source) to \(target)")
    }
    defer { iconv_close(converter) }
    var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
    var source = input.map { CChar(bitPattern: $0) }
    let produced: Int? = source.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBytes { outBuffer in
            var inPointer = inBuffer.baseAddress
            var inLeft = inBuffer.count
            var outPointer = outBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
            var outLeft = outBuffer.count
            let result = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
            return result == -1 || inLeft != 0 ? nil : outBuffer.count - outLeft
        }
    }
    guard let produced else {
        throw TextCodingError(message: "text is not valid \(source), or has characters \(target) cannot hold")
    }
    return Array(output.prefix(produced))
}
