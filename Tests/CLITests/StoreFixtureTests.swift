import Foundation
import TestSupport
import XCTest

/// A store written by an earlier release must open, migrate, keep every item and verify. The
/// fixture (Tests/StoreTests/Fixtures/store-0.1.0) is a demo shift made by fieldgate 0.1.0
/// (migrations v1–v3): 14 recordings, a printout and a fingerprint, all receipted by a server.
final class StoreFixtureTests: XCTestCase {
    private func copyOfFixture() throws -> URL {
        let home = try temporaryFolder(self).appendingPathComponent("home")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/StoreTests/Fixtures/store-0.1.0"), to: home)
        return home
    }

    func testAStoreFromRelease010OpensMigratesAndVerifies() throws {
        let home = try copyOfFixture()
        let environment = ["FIELDGATE_HOME": home.path]
        let audit = try runFieldgate(["audit", "verify"], environment: environment)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)

        let status = try runFieldgate(["status", "--json"], environment: environment)
        XCTAssertEqual(status.status, 0, status.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["recordings"] as? Int, 14)
        let sync = try XCTUnwrap(report["sync"] as? [String: Any])
        XCTAssertEqual(sync["collectedByKind"] as? [String: Int], ["recording": 14, "printout": 1, "fingerprint": 1])
        XCTAssertEqual(sync["receipted"] as? Int, 16)
        XCTAssertEqual(sync["pending"] as? Int, 0)

        let list = try runFieldgate(["list", "--json"], environment: environment)
        XCTAssertEqual(list.status, 0, list.stderr)
        let recordings = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(recordings.count, 14)
        XCTAssertEqual(Set(recordings.compactMap { $0["camera"] as? String }), ["A123456", "B654321"])

        let receipts = try runFieldgate(["receipts"], environment: environment)
        XCTAssertEqual(receipts.status, 0, receipts.stderr)
        XCTAssertTrue(receipts.stdout.contains("16") && receipts.stdout.contains("verified"), receipts.stdout)

        // Opened once, it is a store of this build; it opens again unchanged.
        let again = try runFieldgate(["audit", "verify"], environment: environment)
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
    }

    func testAChangedByteInTheOldStoreIsStillCaught() throws {
        let home = try copyOfFixture()
        let objects = home.appendingPathComponent("objects/sha256")
        let folder = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: objects.path).sorted().first)
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: objects.appendingPathComponent(folder).path).sorted().first)
        let blob = objects.appendingPathComponent(folder).appendingPathComponent(name)
        chmod(blob.path, 0o644)
        var bytes = try Data(contentsOf: blob)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: blob)
        let audit = try runFieldgate(["audit", "verify"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(audit.status, 1)
        XCTAssertTrue((audit.stdout + audit.stderr).contains(name), audit.stdout + audit.stderr)
    }
}
