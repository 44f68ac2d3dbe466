import Foundation

/// A printout as `Tests/escpos_decode.py` reads it from the ESC/POS bytes: a decoder written from
/// the command reference apart from the Print module, so the module's encoder and decoder
/// cannot share a mistake and pass together.
public struct IndependentPrintout: Decodable, Sendable {
    public struct Line: Decodable, Sendable, Equatable {
        public var text: String
        public var bold: Bool
        /// Magnification, 1 for normal size.
        public var height: Int
        public var width: Int
        /// "left", "center" or "right".
        public var align: String
    }

    public struct QRCode: Decodable, Sendable, Equatable {
        public var model: Int?
        public var moduleSize: Int?
        /// "L", "M", "Q" or "H".
        public var errorCorrection: String?
        public var data: String

        public init(model: Int?, moduleSize: Int?, errorCorrection: String?, data: String) {
            self.model = model
            self.moduleSize = moduleSize
            self.errorCorrection = errorCorrection
            self.data = data
        }
    }

    public struct Cut: Decodable, Sendable, Equatable {
        public var partial: Bool
        public var feed: Int

        public init(partial: Bool, feed: Int) {
            self.partial = partial
            self.feed = feed
        }
    }

    /// Whether the bytes start with `ESC @`.
    public var initialisedFirst: Bool
    public var lines: [Line]
    public var qrCodes: [QRCode]
    public var cuts: [Cut]
    public var chineseModeAtEnd: Bool

    /// Decodes `bytes`; bytes the reference decoder cannot read are an error naming the offset.
    public init(bytes: [UInt8]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("escpos-\(UUID().uuidString).bin")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = repositoryRoot.appendingPathComponent("Tests/escpos_decode.py").path
        let result = try runProgram("/usr/bin/env", ["python3", script, file.path])
        guard result.status == 0 else { throw UndecodableESCPOS(description: result.stderr) }
        self = try JSONDecoder().decode(IndependentPrintout.self, from: Data(result.stdout.utf8))
    }

    /// The text of every printed line, in order.
    public var texts: [String] { lines.map(\.text) }
}

public struct UndecodableESCPOS: Error, CustomStringConvertible {
    public let description: String
}
