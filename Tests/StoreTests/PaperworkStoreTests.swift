import Evidence
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

/// Printouts and fingerprints in the store: blobs first, rows and custody events after, audited.
final class PaperworkStoreTests: XCTestCase {
    func testPrintoutsAndFingerprintsAreBlobsWithCustodyEventsAndAreAudited() throws {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        try store.save(cases: [EnforcementCase(number: "C1", title: "违停", procedure: .simple)])
        let job: [UInt8] = [0x1B, 0x40, 0x41, 0x0A, 0x1D, 0x56, 66, 0]
        let printed = try store.recordPrinted(PrintedDocument(
            documentNumber: "D1", caseNumber: "C1", template: "parking-notice", printerName: "bt", copies: 1,
            verificationId: "D1#0123456789abcdef", contentSha256: String(repeating: "0", count: 64), data: "{}"), bytes: job)
        XCTAssertEqual(store.blobs.contents(of: printed.sha256), job)
        XCTAssertEqual(printed.size, Int64(job.count))
        let image = Array("P5\n2 2\n255\n".utf8) + [0, 255, 128, 7]
        let capture = try store.recordFingerprint(FingerprintCapture(
            caseNumber: "C1", documentNumber: "D1", person: "王某某", role: .party, reader: "virtual_image", format: "pgm",
            width: 2, height: 2), image: image)
        XCTAssertEqual(store.blobs.contents(of: capture.sha256), image)

        let events = try store.custodyEvents()
        XCTAssertEqual(events.map(\.kind), [.printed, .fingerprintCaptured])
        XCTAssertEqual(events.map(\.sha256), [printed.sha256, capture.sha256])
        XCTAssertTrue(events[0].details.contains("\"case\":\"C1\"") && events[0].details.contains("\"document\":\"D1\""))
        XCTAssertTrue(events[1].details.contains("\"document\":\"D1\"") && events[1].details.contains("王某某"))

        var report = try store.verify()
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual([report.printedDocuments, report.fingerprints, report.blobsChecked], [1, 1, 2])

        let blob = store.blobs.path(of: capture.sha256)
        try Data(image.dropLast() + [8]).write(to: blob)
        report = try store.verify()
        XCTAssertEqual(report.problems.map(\.kind), ["changed-blob"])
        XCTAssertTrue(report.problems[0].message.contains("王某某"), report.problems[0].message)
    }

    func testPrintersAreRegisteredOnceByName() throws {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        try store.add(Printer(name: "bt", transport: .serial, path: "/dev/rfcomm0", paperWidthMillimetres: 58))
        XCTAssertThrowsError(try store.add(Printer(name: "bt", transport: .usb, usbSerial: "X", paperWidthMillimetres: 80))) { error in
            XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_CONSTRAINT, "\(error)")
        }
        XCTAssertEqual(try store.printers().map(\.path), ["/dev/rfcomm0"])
        XCTAssertTrue(try store.removePrinter(named: "bt"))
        XCTAssertFalse(try store.removePrinter(named: "bt"))
    }

    func testTheMigrationIsNamedAndAddsItsTables() throws {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        let (migrations, tables) = try store.database.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
        }
        XCTAssertTrue(migrations.contains("v2: printers, printed documents, fingerprints"), "\(migrations)")
        XCTAssertTrue(Set(tables).isSuperset(of: ["printer", "printedDocument", "fingerprintCapture"]))
    }
}
