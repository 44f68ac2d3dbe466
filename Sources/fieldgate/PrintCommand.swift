import ArgumentParser
import Console
import Devices
import Foundation
import Print
import Store
import USB

/// A command-line error that names what is wrong and what to do next; exits 1.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct PrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Print a notice or decision on an ESC/POS printer and keep the printout as evidence.",
        discussion: """
            Fills a template (devices/documents/<template>.json) with the data file, checks it \
            (every missing or bad field is named at once, and nothing is printed), lays it out \
            for the printer's paper (58 mm: 32 columns, 80 mm: 48; Chinese characters count two), \
            and sends it as ESC/POS: GB18030 text, a QR code with the verification id, a cut. \
            The exact bytes sent are stored as a blob with a `printed` custody event bound to \
            the case, which must be in the store (`fieldgate cases import`). A printer that is \
            absent, refuses or times out is an error, and nothing is recorded as printed.

            Templates: on-the-spot-penalty (当场行政处罚决定书), parking-notice (违法停车告知单), \
            minor-violation-commitment (轻微违法告知承诺书), order-to-rectify (责令改正通知书). \
            Sample data: seeds/documents/<template>.json.
            """)

    @Option(help: ArgumentHelp("The document template, e.g. parking-notice.", valueName: "name"))
    var template: String

    @Option(help: ArgumentHelp("The document's data: a JSON object with the template's fields.", valueName: "file.json"))
    var data: String

    @Option(help: ArgumentHelp("A registered printer (`fieldgate printers list`), or the serial number of a USB printer attached now.", valueName: "name"))
    var printer: String

    @Option(help: "How many copies to print (1 to 5).")
    var copies = 1

    @Option(help: ArgumentHelp("Also write the printout as plain text to this file.", valueName: "file.txt"))
    var preview: String?

    @Option(help: ArgumentHelp("Paper width in mm (58 or 80), overriding the printer's.", valueName: "mm"))
    var paper: Int?

    @Option(help: ArgumentHelp("Seconds to wait for the printer to take more bytes before giving up.", valueName: "seconds"))
    var timeout = 5

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...5).contains(copies) else { throw ValidationError("--copies must be between 1 and 5") }
        if let paper, PaperWidth(rawValue: paper) == nil { throw ValidationError("--paper must be 58 or 80") }
        guard (1...120).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 120 seconds") }
    }

    func run() throws {
        let library = TemplateLibrary(catalogFolders: catalog.allFolders)
        let template = try library.template(named: self.template)
        guard let input = FileManager.default.contents(atPath: data) else {
            throw CommandError("\(data): cannot be read; give the document's data as a JSON file (see seeds/documents/\(template.name).json)")
        }
        let document = try Document(template: template, data: input, source: data)
        let evidence = try store.openStore()
        guard try evidence.enforcementCase(number: document.caseNumber) != nil else {
            throw CommandError("case \(document.caseNumber) (caseNumber in \(data)) is not in the store: import it first (`fieldgate cases import FILE.csv`); nothing was printed")
        }
        let target = try PrinterTarget.resolve(printer, store: evidence, catalog: catalog.load(reportErrors: false))
        let paperWidth = paper.flatMap(PaperWidth.init) ?? target.paper
        let lines = DocumentLayout.lines(of: document, paper: paperWidth)
        let copy = try ESCPOS.encode(lines: lines, qrCode: document.verificationId,
                                     caption: DocumentLayout.wrap(document.verificationId, columns: paperWidth.columns))
        let bytes = Array([[UInt8]](repeating: copy, count: copies).joined())
        if let preview {
            let text = try DecodedPrintout(bytes: copy).text(columns: paperWidth.columns)
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: preview))
            } catch {
                throw CommandError("\(preview): cannot write the preview: \(error.localizedDescription)")
            }
        }
        try target.send(bytes, timeoutMilliseconds: timeout * 1000)
        let record = try evidence.recordPrinted(PrintedDocument(
            documentNumber: document.documentNumber, caseNumber: document.caseNumber, template: template.name,
            printerName: target.name, copies: copies, verificationId: document.verificationId,
            contentSha256: document.contentSha256, data: document.json), bytes: bytes)
        if output.json {
            print(try jsonString(PrintedRow(record, paper: paperWidth.rawValue)))
        } else {
            print("Printed \(template.title) \(record.documentNumber) (case \(record.caseNumber)) on \(target.name), \(copies) cop\(copies == 1 ? "y" : "ies"), \(record.size) bytes, \(paperWidth.rawValue) mm paper.")
            print("Verification id (QR code): \(record.verificationId)")
            print("Kept as evidence: blob \(record.sha256), custody event `printed`.")
        }
    }
}

/// What `print --json` prints.
struct PrintedRow: Encodable {
    var document: String, caseNumber: String, template: String, printer: String, copies: Int, bytes: Int64
    var sha256: String, verificationId: String, contentSha256: String, printedAt: String, paperWidthMillimetres: Int

    init(_ record: PrintedDocument, paper: Int) {
        document = record.documentNumber
        caseNumber = record.caseNumber
        template = record.template
        printer = record.printerName
        copies = record.copies
        bytes = record.size
        sha256 = record.sha256
        verificationId = record.verificationId
        contentSha256 = record.contentSha256
        printedAt = record.printedAt.formatted(.iso8601)
        paperWidthMillimetres = paper
    }
}

/// A printer to send a job to: a registered one, or a USB printer attached now, named by its serial.
struct PrinterTarget {
    enum Carriage { case serial(SerialPrinter), usb(USBPrinter) }
    var name: String
    var carriage: Carriage
    var paper: PaperWidth

    func send(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(PrintError) {
        switch carriage {
        case .serial(let printer): try printer.send(bytes, timeoutMilliseconds: Int32(timeoutMilliseconds))
        case .usb(let printer): try printer.send(bytes, timeoutMilliseconds: UInt32(timeoutMilliseconds))
        }
    }

    static func resolve(_ name: String, store: EvidenceStore, catalog: DeviceCatalog) throws -> PrinterTarget {
        if let registered = try store.printer(named: name) {
            let paper = PaperWidth(rawValue: registered.paperWidthMillimetres) ?? .mm58
            switch registered.transport {
            case .serial:
                return PrinterTarget(name: name, carriage: .serial(SerialPrinter(name: name, path: registered.path ?? "")), paper: paper)
            case .usb:
                let serial = registered.usbSerial ?? ""
                guard let found = try USBPrinter.attached(context: try USBContext()).first(where: { $0.serial == serial }) else {
                    throw PrintError.absent(name, "no USB printer with serial \(serial) is attached (see `fieldgate scan`)")
                }
                return PrinterTarget(name: name, carriage: .usb(USBPrinter(name: name, device: found.device)), paper: paper)
            }
        }
        let attached = try USBPrinter.attached(context: try USBContext())
        if let found = attached.first(where: { $0.serial == name }) {
            var paper = PaperWidth.mm58
            if let descriptor = found.device.descriptor,
               let match = catalog.match(vendorId: descriptor.vendorId, productId: descriptor.productId,
                                         interfaceClasses: found.device.interfaceClasses),
               let width = match.profile?.paperWidthMillimetres.flatMap(PaperWidth.init) {
                paper = width
            }
            return PrinterTarget(name: name, carriage: .usb(USBPrinter(name: name, device: found.device)), paper: paper)
        }
        let usb = attached.compactMap(\.serial)
        throw CommandError("no printer named \(name): register it (`fieldgate printers add \(name) --path /dev/rfcomm0` for a Bluetooth printer, `--usb SERIAL` for a USB one)"
            + (usb.isEmpty ? "; no USB printer is attached now" : ", or name a USB printer attached now by its serial: \(usb.joined(separator: ", "))"))
    }
}
