import Foundation
import Print
import PrintoutText
import Store

/// One document printed on the spot and kept as evidence: the template filled and checked,
/// the case known, the layout for the paper, ESC/POS sent, then the exact bytes stored with a
/// `printed` custody event. A printer that is absent, refuses or times out is an error, and
/// nothing is recorded as printed.
public struct PrintJob: Sendable {
    public var template: DocumentTemplate
    /// The document's data (a JSON object) and where it came from, for messages.
    public var data: Data
    public var dataPath: String
    public var copies: Int
    /// Overrides the printer's paper.
    public var paper: PaperWidth?
    public var timeoutMilliseconds: Int

    public init(template: DocumentTemplate, data: Data, dataPath: String, copies: Int = 1, paper: PaperWidth? = nil,
                timeoutMilliseconds: Int = 5000) {
        self.template = template
        self.data = data
        self.dataPath = dataPath
        self.copies = copies
        self.paper = paper
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Reads the data file for `template`.
    public static func dataFile(_ path: String, template: DocumentTemplate) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PaperworkError.unreadableData(path: path, template: template.name)
        }
        return data
    }

    /// What was printed, on which paper.
    public struct Printed: Sendable {
        public var record: PrintedDocument
        public var paper: PaperWidth
        public var printer: String
    }

    /// Checks the document and the case, then prints on the printer `resolve` names and records it.
    /// `preview`, if given, gets one copy as plain text before the printer is asked.
    public func run(store: EvidenceStore, printer: () throws -> ResolvedPrinter, preview: URL? = nil) throws -> Printed {
        let document = try Document(template: template, data: data, source: dataPath)
        guard try store.enforcementCase(number: document.caseNumber) != nil else {
            throw PaperworkError.unknownCase(caseNumber: document.caseNumber, dataPath: dataPath)
        }
        let target = try printer()
        let paperWidth = paper ?? target.paper
        let lines = DocumentLayout.lines(of: document, paper: paperWidth)
        let copy = try ESCPOS.encode(lines: lines, qrCode: document.verificationId,
                                     caption: DocumentLayout.wrap(document.verificationId, columns: paperWidth.columns))
        let bytes = Array([[UInt8]](repeating: copy, count: copies).joined())
        if let preview {
            let text = try DecodedPrintout(bytes: copy).text(columns: paperWidth.columns)
            do {
                try Data(text.utf8).write(to: preview)
            } catch {
                throw PaperworkError.unwritablePreview(path: preview.path, reason: error.localizedDescription)
            }
        }
        try target.transport.deliver(bytes, timeoutMilliseconds: timeoutMilliseconds)
        let record = try store.recordPrinted(PrintedDocument(
            documentNumber: document.documentNumber, caseNumber: document.caseNumber, template: template.name,
            printerName: target.name, copies: copies, verificationId: document.verificationId,
            contentSha256: document.contentSha256, data: document.json), bytes: bytes)
        return Printed(record: record, paper: paperWidth, printer: target.name)
    }
}
