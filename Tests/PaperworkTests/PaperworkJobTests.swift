import Fingerprint
import Foundation
import Paperwork
import Print
import Store
import TestSupport
import XCTest

/// The print job and the fingerprint job below the CLI, with printers and readers that the
/// test controls: what is sent, what is recorded, and that nothing is recorded on failure.
final class PaperworkJobTests: XCTestCase {
    /// A printer that keeps what it is sent, or refuses.
    final class TestPrinter: PrinterTransport, @unchecked Sendable {
        let name = "test-printer"
        let refusal: PrintError?
        private let lock = NSLock()
        private var kept: [[UInt8]] = []
        init(refusal: PrintError? = nil) { self.refusal = refusal }
        func deliver(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(PrintError) {
            if let refusal { throw refusal }
            lock.withLock { kept.append(bytes) }
        }
        var jobs: [[UInt8]] { lock.withLock { kept } }
    }

    /// A reader that returns one image or fails, and counts how often it was asked.
    final class TestScanner: FingerprintScanner, @unchecked Sendable {
        let result: Result<FingerprintImage, FingerprintError>
        private let lock = NSLock()
        private var count = 0
        init(_ result: Result<FingerprintImage, FingerprintError>) { self.result = result }
        func capture(timeoutSeconds: Int) throws(FingerprintError) -> FingerprintImage {
            lock.withLock { count += 1 }
            return try result.get()
        }
        var asked: Int { lock.withLock { count } }
    }

    private let caseNumber = "杭城管简〔2024〕0002号"
    private let documentNumber = "杭城管停〔2024〕000123号"

    private func store(withCase: Bool = true) throws -> EvidenceStore {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        if withCase { try store.save(cases: [EnforcementCase(number: caseNumber, title: "违法停车", procedure: .simple)]) }
        return store
    }

    private func parkingNotice(copies: Int = 1, paper: PaperWidth? = nil) throws -> PrintJob {
        let library = TemplateLibrary(catalogFolders: [repositoryRoot.appendingPathComponent("devices").path])
        let template = try library.template(named: "parking-notice")
        let path = repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json").path
        return PrintJob(template: template, data: try PrintJob.dataFile(path, template: template), dataPath: path,
                        copies: copies, paper: paper)
    }

    func testAPrintedDocumentIsTheExactBytesSentAndIsRecorded() throws {
        let store = try store()
        let printer = TestPrinter()
        let preview = try temporaryFolder(self).appendingPathComponent("preview.txt")
        let printed = try parkingNotice(copies: 2, paper: .mm80)
            .run(store: store, printer: { ResolvedPrinter(transport: printer, paper: .mm58) }, preview: preview)
        XCTAssertEqual(printer.jobs.count, 1)
        XCTAssertEqual(printed.paper, .mm80, "the job's paper overrides the printer's")
        XCTAssertEqual(store.blobs.contents(of: printed.record.sha256), printer.jobs.first, "the blob is exactly what was sent")
        XCTAssertEqual(printed.record.copies, 2)
        XCTAssertEqual(printed.record.caseNumber, caseNumber)
        let one = try XCTUnwrap(printer.jobs.first)
        XCTAssertEqual(one.count % 2, 0)
        XCTAssertEqual(Array(one[0..<one.count / 2]), Array(one[one.count / 2..<one.count]), "two identical copies")
        let text = try String(contentsOf: preview, encoding: .utf8)
        XCTAssertTrue(text.contains(documentNumber), text)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count <= 48 })
        XCTAssertEqual(try store.custodyEvents().map(\.kind), [.printed])
    }

    func testAnUnknownCaseIsNamedBeforeThePrinterIsAsked() throws {
        let store = try store(withCase: false)
        var asked = false
        XCTAssertThrowsError(try parkingNotice().run(store: store, printer: {
            asked = true
            return ResolvedPrinter(transport: TestPrinter(), paper: .mm58)
        })) { error in
            XCTAssertEqual(error as? PaperworkError, .unknownCase(caseNumber: caseNumber, dataPath: repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json").path))
        }
        XCTAssertFalse(asked, "no printer was looked for")
        XCTAssertEqual(try store.printedDocuments(), [])
    }

    func testAPrinterThatRefusesLeavesNothingRecorded() throws {
        let store = try store()
        let refusal = PrintError.refused("test-printer", "it reports that it is out of paper")
        XCTAssertThrowsError(try parkingNotice().run(store: store, printer: { ResolvedPrinter(transport: TestPrinter(refusal: refusal), paper: .mm58) })) { error in
            XCTAssertEqual(error as? PrintError, refusal)
        }
        XCTAssertEqual(try store.printedDocuments(), [])
        XCTAssertEqual(try store.custodyEvents(), [])
    }

    func testAFingerprintNeedsThePrintedDocumentAndIsKeptByteForByte() throws {
        let store = try store()
        let image = FingerprintImage(width: 2, height: 2, pixels: [0, 255, 128, 7],
                                     reader: FingerprintReaderInfo(driver: "test", name: "Test reader", deviceId: "t0"))
        let job = FingerprintJob(caseNumber: caseNumber, documentNumber: documentNumber, person: "王某某", role: .witness)
        let scanner = TestScanner(.success(image))
        XCTAssertThrowsError(try job.run(store: store, scanner: scanner, timeoutSeconds: 5)) { error in
            XCTAssertEqual(error as? PaperworkError, .documentNotPrinted(document: documentNumber, caseNumber: caseNumber))
        }
        XCTAssertEqual(scanner.asked, 0, "no finger is asked for a document that was never printed")

        _ = try parkingNotice().run(store: store, printer: { ResolvedPrinter(transport: TestPrinter(), paper: .mm58) })
        var told = false
        let capture = try job.run(store: store, scanner: scanner, timeoutSeconds: 5) { told = true }
        XCTAssertTrue(told)
        XCTAssertEqual(capture.role, .witness)
        XCTAssertEqual(store.blobs.contents(of: capture.sha256), image.pgm)

        let failing = TestScanner(.failure(.timedOut("Test reader", 5)))
        XCTAssertThrowsError(try job.run(store: store, scanner: failing, timeoutSeconds: 5)) { error in
            XCTAssertEqual(error as? FingerprintError, .timedOut("Test reader", 5))
        }
        XCTAssertEqual(try store.fingerprintCaptures().count, 1, "a failed capture stores nothing")
    }
}
