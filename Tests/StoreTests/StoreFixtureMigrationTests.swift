import Evidence
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

/// The store fixture made by fieldgate 0.1.0 (migrations v1–v3), migrated by this build: the
/// foreign keys added by v4 hold for every row it kept, and refuse a dangling one from now on.
final class StoreFixtureMigrationTests: XCTestCase {
    private func migratedFixture() throws -> (EvidenceStore, before: [String: Int64]) {
        let home = try temporaryFolder(self).appendingPathComponent("home")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/StoreTests/Fixtures/store-0.1.0"), to: home)
        let before = try DatabaseQueue(path: home.appendingPathComponent("fieldgate.sqlite").path).read { db in
            try Self.counts(db)
        }
        return (try EvidenceStore(home: home), before)
    }

    /// Rows per table, and the AUTOINCREMENT marks, which a table rebuild must keep.
    private static func counts(_ db: Database) throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for table in ["recording", "custodyEvent", "printedDocument", "fingerprintCapture", "syncItem", "syncBatch", "syncBatchItem"] {
            counts[table] = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)")
        }
        for row in try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence") {
            counts["sequence " + (row["name"] as String)] = row["seq"]
        }
        return counts
    }

    func testTheMigratedStoreKeepsEveryRowAndItsForeignKeysHold() throws {
        let (store, before) = try migratedFixture()
        try store.database.read { db in
            XCTAssertEqual(try Self.counts(db), before)
            XCTAssertEqual(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"), [], "no row names a missing one")
            func parents(_ table: String) throws -> [String: String] {
                Dictionary(uniqueKeysWithValues: try db.foreignKeys(on: table).map { ($0.originColumns.joined(), $0.destinationTable) })
            }
            XCTAssertEqual(try parents("custodyEvent"), ["recordingId": "recording"])
            XCTAssertEqual(try parents("printedDocument"), ["caseNumber": "enforcementCase"])
            XCTAssertEqual(try parents("fingerprintCapture"), ["caseNumber": "enforcementCase"])
            XCTAssertEqual(try parents("syncItem"), ["batchId": "syncBatch"])
            XCTAssertEqual(try parents("syncBatchItem"), ["batchId": "syncBatch", "itemId": "syncItem"])
        }
        XCTAssertTrue(try store.verify().isIntact, "the custody chain and every blob survive the rebuild")
        XCTAssertEqual(try store.syncStatus().receipted, 16)
    }

    func testAfterTheMigrationADanglingRowIsRefusedAndTheTriggersStillWork() throws {
        let (store, _) = try migratedFixture()
        let eventsBefore = try store.custodyEvents().count
        XCTAssertThrowsError(try store.appendEvent(.flagged, recordingId: 999_999)) { error in
            guard case StoreError.danglingReference = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.recordPrinted(PrintedDocument(
            documentNumber: "D9", caseNumber: "no-such-case", template: "parking-notice", printerName: "bt", copies: 1,
            verificationId: "D9#0", contentSha256: String(repeating: "0", count: 64), data: "{}"), bytes: [0x1B, 0x40])) { error in
            guard case StoreError.danglingReference = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try store.custodyEvents().count, eventsBefore, "nothing was written")

        // The recreated triggers: new evidence is queued, and custody stays append-only.
        let staged = try store.blobs.stage(bytes: Array("after v4".utf8))
        try store.blobs.syncFolders([try store.blobs.place(staged)])
        let recording = Recording(cameraSerial: "A123456", sourcePath: Data("DCIM/NEW.MP4".utf8), sourceName: "DCIM/NEW.MP4",
                                  size: staged.size, sourceModified: nil, sha256: staged.sha256, mediaType: .video, collectedAt: Date())
        _ = try store.commit([recording])
        XCTAssertEqual(try store.syncStatus().pending, 1)
        XCTAssertThrowsError(try store.database.write { db in try db.execute(sql: "DELETE FROM custodyEvent") })
        XCTAssertTrue(try store.verify().isIntact)
    }
}
