import ArgumentParser
import Common
import Console
import Devices
import Foundation
import Paperwork
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
    var paper: PaperWidth?

    @Option(help: ArgumentHelp("Seconds to wait for the printer to take more bytes before giving up.", valueName: "seconds"))
    var timeout = 5

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...5).contains(copies) else { throw ValidationError("--copies must be between 1 and 5") }
        guard (1...120).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 120 seconds") }
    }

    func run() throws {
        let template = try TemplateLibrary(catalogFolders: catalog.allFolders).template(named: self.template)
        let job = PrintJob(template: template, data: try PrintJob.dataFile(data, template: template), dataPath: data,
                           copies: copies, paper: paper, timeoutMilliseconds: timeout * 1000)
        let evidence = try store.openStore()
        let resolver = PrinterResolver(store: evidence, catalog: catalog.load(reportErrors: false))
        let printed = try job.run(store: evidence, printer: { try resolver.resolve(printer) },
                                  preview: preview.map { URL(fileURLWithPath: $0) })
        let record = printed.record
        if output.json {
            print(try jsonString(PrintedRow(record, paper: printed.paper.rawValue)))
        } else {
            print("Printed \(template.title) \(record.documentNumber) (case \(record.caseNumber)) on \(printed.printer), \(copies) cop\(copies == 1 ? "y" : "ies"), \(record.size) bytes, \(printed.paper.rawValue) mm paper.")
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
        printedAt = Timestamp.string(record.printedAt)
        paperWidthMillimetres = paper
    }
}

extension PaperWidth: ExpressibleByArgument {}
