import Foundation
import GRDB
import Store
import TestSupport
import XCTest

/// An item whose stored copy is intact is never marked refused, whatever the server was sent.
extension SyncEndToEndTests {
    /// A sync killed after its first chunk, leaving the upload part-way; its URL, offset, hash and
    /// the gateway's credential.
    func leavePartWayUpload(size: Int, serial: String) throws -> (url: URL, offset: Int64, sha256: String, credential: String) {
        try collectRandomFiles([size], serial: serial)
        let store = try EvidenceStore(home: home)
        let first = try startSync(["--chunk-size", "1M", "--limit-rate", "1M", "--parallel", "1"])
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, (try store.database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(offset) FROM syncUpload") } ?? 0) < 1 << 20 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let upload = try XCTUnwrap(try store.database.read { db in try Row.fetchOne(db, sql: "SELECT url, offset, sha256 FROM syncUpload") })
        return (try XCTUnwrap(URL(string: upload["url"] as String)), upload["offset"], upload["sha256"],
                try XCTUnwrap(try store.enrolment()).credential)
    }

    /// The case: a chunk cut off mid-way without `Upload-Checksum` is kept (tus), and its
    /// bytes were wrong, so the whole blob fails its hash at the end (422). The gateway's own copy
    /// verifies, so it starts the upload afresh: receipted, never refused, no `upload-refused` event.
    func testAWholeBlobMismatchRestartsTheUploadAndNeverRefusesAnIntactItem() throws {
        try enroll()
        let size = 3 << 20
        let (url, offset, sha256, credential) = try leavePartWayUpload(size: size, serial: "F000001")
        let garbage = Data(repeating: 0x5A, count: 200_000)
        let head = "PATCH \(url.path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(credential)\r\nTus-Resumable: 1.0.0\r\n"
            + "Upload-Offset: \(offset)\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: \(1 << 20)\r\n\r\n"
        let cutOff = openConnection(port: server.port, sending: Data(head.utf8) + garbage)
        Thread.sleep(forTimeInterval: 0.3)
        close(cutOff)
        // The server kept the unchecked bytes: HEAD reports them.
        let deadline = Date().addingTimeInterval(10)
        var reported = ""
        repeat {
            reported = try runProgram("/usr/bin/curl", ["-sS", "-I", "-H", "Authorization: Bearer \(credential)", "-H", "Tus-Resumable: 1.0.0",
                                                        url.absoluteString]).stdout
            if reported.lowercased().contains("upload-offset: \(offset + Int64(garbage.count))") { break }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        XCTAssertTrue(reported.lowercased().contains("upload-offset: \(offset + Int64(garbage.count))"), reported)

        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let status = try syncStatus()
        XCTAssertEqual(status.refused, 0)
        let store = try EvidenceStore(home: home)
        XCTAssertFalse(try store.custodyEvents().contains { $0.kind == .uploadRefused }, "no permanent refusal")
        // Sent again from the start after the mismatch: more than what was left.
        XCTAssertGreaterThan(try summary(result)["sentBytes"] as? Int ?? 0, size - Int(offset) - garbage.count)
        XCTAssertEqual(try store.recordings().first?.sha256, sha256)
        try assertEverythingReceiptedOnceAndStored()
    }
}
