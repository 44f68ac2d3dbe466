import Evidence
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class EvidenceStoreTests: XCTestCase {
    private func makeStore() throws -> EvidenceStore {
        try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
    }

    private func stage(_ store: EvidenceStore, _ bytes: [UInt8]) throws -> BlobStore.Staged {
        let file = try temporaryFolder(self).appendingPathComponent("source")
        try Data(bytes).write(to: file)
        let descriptor = open(file.path, O_RDONLY)
        defer { close(descriptor) }
        return try store.blobs.stage(descriptor: descriptor, name: "source")
    }

    private func recording(_ sha256: String, size: Int64, path: String = "DCIM/a.MP4") -> Recording {
        Recording(cameraSerial: "A123456", sourcePath: Data(path.utf8), sourceName: path, size: size, sourceModified: nil,
                  sha256: sha256, mediaType: .video, collectedAt: Date())
    }

    func testBlobsAreNamedByTheirSHA256AndStoredOnce() throws {
        let store = try makeStore()
        let staged = try stage(store, Array("abc".utf8))
        XCTAssertEqual(staged.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertFalse(staged.changedWhileCopying)
        let folder = try store.blobs.place(staged)
        XCTAssertEqual(folder.path, store.home.appendingPathComponent("objects/sha256/ba").path)
        XCTAssertEqual(try Data(contentsOf: store.blobs.path(of: staged.sha256)), Data("abc".utf8))
        _ = try store.blobs.place(try stage(store, Array("abc".utf8)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path), [], "the duplicate is dropped")
    }

    func testOrphanTemporariesAreRemovedWhenTheStoreOpens() throws {
        let home = try temporaryFolder(self).appendingPathComponent("home")
        let store = try EvidenceStore(home: home)
        _ = try stage(store, [1, 2, 3])  // staged, never placed: as if killed
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path).count, 1)
        _ = try EvidenceStore(home: home)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path), [])
    }

    func testCommitWritesEveryColumnAsARecordInsertWould() throws {
        let store = try makeStore()
        let staged = try stage(store, Array("video".utf8))
        try store.blobs.syncFolders([try store.blobs.place(staged)])
        let at = Date(timeIntervalSince1970: 1_764_000_000.125)
        var full = Recording(
            cameraSerial: "A123456", sourcePath: Data([0x44, 0x43, 0xFF, 0x2F, 0x61]), sourceName: "DC\\xFF/a", size: staged.size,
            sourceModified: Date(timeIntervalSince1970: 1_763_000_000.5), sha256: staged.sha256, mediaType: .video,
            container: "mp4", durationSeconds: 12.5, mediaCreatedAt: Date(timeIntervalSince1970: 1_762_000_000.25),
            capturedAtLocal: "2026-11-25 09:30:12", cameraStartedAt: "20261125093012",
            correctedStartedAt: Date(timeIntervalSince1970: 1_762_000_003), clockDriftSeconds: -3.25, sequence: 7,
            important: true, officerNumber: "010203", flags: [.lateDocking, .unknownOfficer], problems: "[\"cut short\"]",
            collectedAt: Date(timeIntervalSince1970: 1_763_500_000.75))
        XCTAssertEqual(try store.commit([full], at: at).map(\.isNew), [true])
        // The same recording through GRDB's own insert, at another path, for comparison.
        full.sourcePath = Data("other".utf8)
        full.verifiedAt = at
        try store.database.write { db in try full.insert(db) }
        let rows = try store.database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM recording ORDER BY id") }
        XCTAssertEqual(rows.count, 2)
        for column in rows[0].columnNames where column != "id" && column != "sourcePath" {
            XCTAssertEqual(rows[0][column] as DatabaseValue, rows[1][column] as DatabaseValue, "column \(column)")
        }
        XCTAssertEqual(try store.recordings().first?.flags, [.lateDocking, .unknownOfficer])
    }

    func testCommittingTwiceAddsNothingAndEventsChain() throws {
        let store = try makeStore()
        let staged = try stage(store, Array("video".utf8))
        try store.blobs.syncFolders([try store.blobs.place(staged)])
        let first = try store.commit([recording(staged.sha256, size: staged.size)])
        XCTAssertEqual(first.map(\.isNew), [true])
        let second = try store.commit([recording(staged.sha256, size: staged.size)])
        XCTAssertEqual(second.map(\.isNew), [false])
        let events = try store.custodyEvents()
        XCTAssertEqual(events.map(\.kind), [.collected, .verified])
        XCTAssertEqual(events[1].previousHash, events[0].hash)
        XCTAssertEqual(events[0].previousHash, CustodyEvent.genesisHash)
        let report = try store.verify()
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual(report.blobsChecked, 1)
    }

    func testAuditNamesATamperedBlobAndABrokenLink() throws {
        let store = try makeStore()
        let staged = try stage(store, Array("evidence".utf8))
        try store.blobs.syncFolders([try store.blobs.place(staged)])
        _ = try store.commit([recording(staged.sha256, size: staged.size)])
        try store.appendEvent(.clockDrift, camera: "A123456", details: ["driftSeconds": "12"])

        let blob = store.blobs.path(of: staged.sha256)
        chmod(blob.path, 0o644)
        try Data("EVIDENCE".utf8).write(to: blob)
        var report = try store.verify()
        XCTAssertEqual(report.problems.map(\.kind), ["changed-blob"])
        XCTAssertTrue(report.problems[0].message.contains("DCIM/a.MP4"), report.problems[0].message)

        // Rewrite an event's details behind the triggers' back, as an attacker with the file would.
        try store.database.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER custodyEventNoUpdate")
            try db.execute(sql: "UPDATE custodyEvent SET details = '{\"driftSeconds\":\"0\"}' WHERE seq = 3")
        }
        report = try store.verify()
        XCTAssertTrue(report.problems.contains { $0.kind == "broken-link" && $0.message.contains("event 3") }, "\(report.problems)")
    }

    func testCustodyEventsCannotBeChangedOrDeleted() throws {
        let store = try makeStore()
        try store.appendEvent(.registered, camera: "A123456")
        let before = try store.custodyEvents()
        XCTAssertEqual(before.count, 1)
        for sql in ["DELETE FROM custodyEvent", "UPDATE custodyEvent SET kind = 'x'"] {
            XCTAssertThrowsError(try store.database.write { db in try db.execute(sql: sql) }, sql) { error in
                XCTAssertEqual((error as? DatabaseError)?.message, "custody events are append-only", "\(error)")
            }
        }
        XCTAssertEqual(try store.custodyEvents(), before, "the event is still there, unchanged")
    }

    func testAFullDiskIsAClearErrorAndLeavesNoTemporaryFile() throws {
        let disk = try SmallDisk(bytes: 512 * 1024, test: self)
        let store = try EvidenceStore(home: disk.folder.appendingPathComponent("home"))
        let source = try temporaryFolder(self).appendingPathComponent("big")
        try Data(repeating: 7, count: 2 << 20).write(to: source)
        let descriptor = open(source.path, O_RDONLY)
        defer { close(descriptor) }
        XCTAssertThrowsError(try store.blobs.stage(descriptor: descriptor, name: "big")) { error in
            guard case StoreError.diskFull = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("nothing was lost"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path), [])
    }

    func testADatabaseThatCannotGrowOnAFullDiskIsADiskFullToo() throws {
        let disk = try SmallDisk(bytes: 1 << 20, test: self)
        let store = try EvidenceStore(home: disk.folder.appendingPathComponent("home"))
        let staged = try stage(store, Array("evidence".utf8))
        try store.blobs.syncFolders([try store.blobs.place(staged)])
        // Everything left on the disk taken, so SQLite cannot append to its WAL.
        let filler = open(disk.folder.appendingPathComponent("filler").path, O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 1, count: 4096)
        while block.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
        close(filler)
        let rows = (0..<64).map { recording(staged.sha256, size: staged.size, path: "DCIM/\($0).MP4") }
        XCTAssertThrowsError(try store.commit(rows)) { error in
            guard case StoreError.diskFull = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try store.recordings().count, 0, "nothing half-committed")
    }

    func testStatusAndLedgerFilters() throws {
        let store = try makeStore()
        try store.save(officers: [Officer(number: "010203", name: "张伟", certificateNumber: "1", certificateStatus: .valid)])
        var rows: [Recording] = []
        for (index, text) in ["one", "two", "three"].enumerated() {
            let staged = try stage(store, Array(text.utf8))
            try store.blobs.syncFolders([try store.blobs.place(staged)])
            var row = recording(staged.sha256, size: staged.size, path: "DCIM/\(index).MP4")
            row.officerNumber = index == 2 ? "020304" : "010203"
            row.important = index == 0
            row.flags = index == 2 ? [.unknownOfficer] : []
            row.correctedStartedAt = Date(timeIntervalSince1970: 1_730_000_000 + Double(index) * 86_400)
            rows.append(row)
        }
        _ = try store.commit(rows)
        let status = try store.status()
        XCTAssertEqual(status.recordings, 3)
        XCTAssertEqual(status.flagged, 1)
        XCTAssertEqual(status.byState["pending"], 3)
        XCTAssertEqual(status.byOfficer.map(\.key), ["010203", "020304"])
        XCTAssertEqual(try store.recordings(matching: RecordingFilter(officer: "010203")).count, 2)
        XCTAssertEqual(try store.recordings(matching: RecordingFilter(importantOnly: true)).map(\.sourceName), ["DCIM/0.MP4"])
        XCTAssertEqual(try store.recordings(matching: RecordingFilter(flaggedOnly: true)).map(\.sourceName), ["DCIM/2.MP4"])
        let since = Date(timeIntervalSince1970: 1_730_000_000 + 86_400)
        XCTAssertEqual(try store.recordings(matching: RecordingFilter(since: since)).map(\.sourceName), ["DCIM/1.MP4", "DCIM/2.MP4"])
    }
}
