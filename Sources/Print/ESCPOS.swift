import TextCodecs

/// ESC/POS, the command language of receipt printers: the bytes of one printout.
///
/// Chinese text is GB18030 with the printer's Chinese character mode on (`FS &`); titles use
/// emphasis (`ESC E`) and double height (`GS !`); the verification id is a QR code (`GS ( k`,
/// model 2); the job ends with a feed and a partial cut (`GS V 66`).
public enum ESCPOS {
    static let esc: UInt8 = 0x1B, fs: UInt8 = 0x1C, gs: UInt8 = 0x1D, lf: UInt8 = 0x0A

    /// The bytes of one copy of a printout.
    /// - Parameter caption: lines printed under the QR code (already wrapped to the paper).
    public static func encode(lines: [PrintLine], qrCode: String, caption: [String] = []) throws(PrintError) -> [UInt8] {
        var bytes: [UInt8] = [esc, 0x40]  // ESC @: initialise
        bytes += [fs, 0x26]  // FS &: Chinese character mode
        for line in lines {
            bytes += [esc, 0x61, line.alignment.rawValue]  // ESC a n: alignment
            bytes += [esc, 0x45, line.bold ? 1 : 0]  // ESC E n: emphasis
            bytes += [gs, 0x21, line.doubleHeight ? 0x01 : 0x00]  // GS ! n: character size
            bytes += try gb18030(line.text)
            bytes.append(lf)
        }
        bytes += [esc, 0x45, 0, gs, 0x21, 0]
        bytes += [esc, 0x61, 1]
        bytes += qr(Array(qrCode.utf8))
        for line in caption {
            bytes += try gb18030(line)
            bytes.append(lf)
        }
        bytes += [esc, 0x61, 0]
        bytes += [fs, 0x2E]  // FS .: Chinese character mode off
        bytes += [esc, 0x64, 4]  // ESC d 4: feed four lines
        bytes += [gs, 0x56, 66, 0]  // GS V 66 0: feed to the cutter and cut partially
        return bytes
    }

    static func gb18030(_ text: String) throws(PrintError) -> [UInt8] {
        do {
            return try ChineseEncoding.gb18030.encode(text)
        } catch {
            throw PrintError.encoding(text, error.description)
        }
    }

    /// `GS ( k` for a model 2 QR code, module size 6, error correction M, holding `data`.
    static func qr(_ data: [UInt8]) -> [UInt8] {
        func function(_ body: [UInt8]) -> [UInt8] {
            [gs, 0x28, 0x6B, UInt8(body.count & 0xff), UInt8(body.count >> 8)] + body
        }
        return function([0x31, 0x41, 0x32, 0x00])  // fn 65: model 2
            + function([0x31, 0x43, 0x06])  // fn 67: module size
            + function([0x31, 0x45, 0x31])  // fn 69: error correction M
            + function([0x31, 0x50, 0x30] + data)  // fn 80: store the data
            + function([0x31, 0x51, 0x30])  // fn 81: print it
    }
}
