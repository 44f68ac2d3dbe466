import TextCodecs

/// Why an ESC/POS stream could not be read back: where, and what was there.
public struct PrintoutDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "ESC/POS stream at byte \(offset): \(reason)" }
}

/// A printout read back from its ESC/POS bytes: what the paper shows. Used for previews (the
/// demo, `print --preview`) and by the tests, which compare it with the input.
public struct DecodedPrintout: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var text: String
        public var bold: Bool
        public var doubleHeight: Bool
        public var doubleWidth: Bool
        public var centered: Bool
    }

    public var lines: [Line] = []
    /// The data of every QR code printed, in order.
    public var qrCodes: [String] = []
    public var cuts = 0
    /// Where each QR code and cut came, as an index into `lines`.
    public var marks: [(line: Int, mark: String)] = []

    public static func == (lhs: DecodedPrintout, rhs: DecodedPrintout) -> Bool {
        lhs.lines == rhs.lines && lhs.qrCodes == rhs.qrCodes && lhs.cuts == rhs.cuts
    }

    /// Reads `bytes`; a command this encoder does not use, or text that is not GB18030, is an error.
    public init(bytes: [UInt8]) throws(PrintoutDecodingError) {
        var reader = PrintoutReader(bytes: bytes)
        try reader.readAll()
        lines = reader.lines
        qrCodes = reader.qrCodes
        cuts = reader.cuts
        marks = reader.marks
    }

    /// The printout as plain text `columns` wide: centred lines centred, QR codes and cuts marked.
    public func text(columns: Int) -> String {
        var output: [String] = []
        var marksByLine: [Int: [String]] = [:]
        for mark in marks { marksByLine[mark.line, default: []].append(mark.mark) }
        for (number, line) in lines.enumerated() {
            for mark in marksByLine[number] ?? [] { output.append(mark) }
            let width = line.text.displayWidth * (line.doubleWidth ? 2 : 1)
            let pad = line.centered ? max(0, (columns - width) / 2) : 0
            output.append(String(repeating: " ", count: pad) + line.text)
        }
        for mark in marksByLine[lines.count] ?? [] { output.append(mark) }
        return output.joined(separator: "\n") + "\n"
    }
}

/// Walks an ESC/POS job byte by byte for ``DecodedPrintout``: the current text style, the text
/// of the line being printed, the stored QR data, and what has come out so far.
private struct PrintoutReader {
    static let esc: UInt8 = 0x1B, fs: UInt8 = 0x1C, gs: UInt8 = 0x1D, lf: UInt8 = 0x0A
    let bytes: [UInt8]
    var index = 0
    var chinese = false, bold = false, doubleHeight = false, doubleWidth = false, centered = false
    var pending: [UInt8] = []
    var storedQR: [UInt8]?
    var lines: [DecodedPrintout.Line] = []
    var qrCodes: [String] = []
    var cuts = 0
    var marks: [(line: Int, mark: String)] = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func readAll() throws(PrintoutDecodingError) {
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case PrintoutReader.lf:
                try flushLine()
                index += 1
            case PrintoutReader.esc: try readESC()
            case PrintoutReader.fs: try readFS()
            case PrintoutReader.gs: try readGS()
            default:
                if byte < 0x20 && byte != 0x09 { throw PrintoutDecodingError(offset: index, reason: "unexpected control byte 0x\(String(byte, radix: 16))") }
                pending.append(byte)
                index += 1
            }
        }
        if !pending.isEmpty { try flushLine() }
    }

    private func need(_ count: Int) throws(PrintoutDecodingError) {
        guard index + count <= bytes.count else { throw PrintoutDecodingError(offset: index, reason: "command cut short") }
    }

    private mutating func flushLine() throws(PrintoutDecodingError) {
        let text: String
        do {
            text = chinese ? try ChineseEncoding.gb18030.decode(pending) : String(decoding: pending, as: UTF8.self)
        } catch {
            throw PrintoutDecodingError(offset: index, reason: "text is not GB18030")
        }
        lines.append(DecodedPrintout.Line(text: text, bold: bold, doubleHeight: doubleHeight, doubleWidth: doubleWidth, centered: centered))
        pending = []
    }

    /// ESC @ (reset), ESC a (align), ESC E (bold), ESC d (feed lines).
    private mutating func readESC() throws(PrintoutDecodingError) {
        try need(2)
        switch bytes[index + 1] {
        case 0x40: chinese = false; bold = false; doubleHeight = false; doubleWidth = false; centered = false; index += 2
        case 0x61: try need(3); centered = bytes[index + 2] == 1 || bytes[index + 2] == 0x31; index += 3
        case 0x45: try need(3); bold = bytes[index + 2] & 1 == 1; index += 3
        case 0x64:
            try need(3)
            if !pending.isEmpty { try flushLine() }
            for _ in 0..<bytes[index + 2] { try flushLine() }
            index += 3
        default: throw PrintoutDecodingError(offset: index, reason: "unexpected ESC 0x\(String(bytes[index + 1], radix: 16))")
        }
    }

    /// FS & and FS .: Chinese (GB18030) text on and off.
    private mutating func readFS() throws(PrintoutDecodingError) {
        try need(2)
        switch bytes[index + 1] {
        case 0x26: chinese = true
        case 0x2E: chinese = false
        default: throw PrintoutDecodingError(offset: index, reason: "unexpected FS 0x\(String(bytes[index + 1], radix: 16))")
        }
        index += 2
    }

    /// GS ! (character size), GS ( k (QR code), GS V (cut).
    private mutating func readGS() throws(PrintoutDecodingError) {
        try need(2)
        switch bytes[index + 1] {
        case 0x21:
            try need(3)
            doubleHeight = bytes[index + 2] & 0x0F != 0
            doubleWidth = bytes[index + 2] & 0xF0 != 0
            index += 3
        case 0x28: try readQRFunction()
        case 0x56:
            try need(3)
            let mode = bytes[index + 2]
            if !pending.isEmpty { try flushLine() }
            cuts += 1
            marks.append((lines.count, "- - - - - - - - cut - - - - - - - -"))
            index += (mode == 65 || mode == 66) ? 4 : 3
        default: throw PrintoutDecodingError(offset: index, reason: "unexpected GS 0x\(String(bytes[index + 1], radix: 16))")
        }
    }

    /// GS ( k for the QR symbol: store its data (function 80), print it (function 81).
    private mutating func readQRFunction() throws(PrintoutDecodingError) {
        try need(5)
        guard bytes[index + 2] == 0x6B else { throw PrintoutDecodingError(offset: index, reason: "unexpected GS ( function") }
        let length = Int(bytes[index + 3]) | Int(bytes[index + 4]) << 8
        try need(5 + length)
        let body = Array(bytes[(index + 5)..<(index + 5 + length)])
        guard body.count >= 2, body[0] == 0x31 else { throw PrintoutDecodingError(offset: index, reason: "GS ( k that is not a QR code") }
        if body[1] == 0x50, body.count >= 3 { storedQR = Array(body[3...]) }
        if body[1] == 0x51 {
            guard let stored = storedQR else { throw PrintoutDecodingError(offset: index, reason: "QR code printed before any data was stored") }
            if !pending.isEmpty { try flushLine() }
            qrCodes.append(String(decoding: stored, as: UTF8.self))
            marks.append((lines.count, "[QR] " + String(decoding: stored, as: UTF8.self)))
        }
        index += 5 + length
    }
}
