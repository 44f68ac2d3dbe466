import Foundation
import TestSupport
import XCTest

/// `fieldgate-server import-bundle`: a gateway's bundle carried by hand into the server, verified
/// whole first, taken in once and receipted; a tampered, foreign or hostile one refused with
/// nothing stored. The setup (one camera synced, one collected and never sent) is
/// `BundleExportTests'`.
extension BundleExportTests {
    func storedBlobs() -> Set<String> {
        let root = server.data.appendingPathComponent("blobs/sha256")
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        return Set(files.compactMap { $0.split(separator: "/").last.map(String.init) }.filter { $0.count == 64 })
    }

    func importBundle(_ bundle: URL) throws -> CommandResult {
        try fieldgateServer(["import-bundle", bundle.path, "--json"])
    }

    func imports() throws -> [[String: Any]] {
        let listed = try fieldgateServer(["imports", "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        return try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
    }

    func testABundleCarriedByHandIsVerifiedTakenInOnceAndReceipted() throws {
        let archive = try export(["--officer", "100001"], to: work.appendingPathComponent("carried.tar"))
        let bagItems = try items(try extractedCopy(of: archive))
        let unsent = bagItems.filter { $0["standing"] as? String == "exported-only" }
        let receiptedHashes = Set(bagItems.filter { $0["standing"] as? String == "receipted" }.compactMap { $0["sha256"] as? String })
        let newHashes = Set(unsent.compactMap { $0["sha256"] as? String }).subtracting(receiptedHashes)
        let before = storedBlobs()

        let taken = try importBundle(archive)
        XCTAssertEqual(taken.status, 0, taken.stderr + taken.stdout)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(taken.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["imported"] as? Int, unsentCount)
        XCTAssertEqual(summary["alreadyReceipted"] as? Int, receiptedCount, "what the gateway synced is not taken again")
        XCTAssertEqual(summary["newBlobs"] as? Int, newHashes.count, "a blob the server held is stored once")
        XCTAssertEqual(summary["gatewayName"] as? String, "team-1")
        XCTAssertEqual(storedBlobs(), before.union(newHashes))
        // Every stored blob is the bytes it is named by.
        for hash in newHashes {
            let path = server.data.appendingPathComponent("blobs/sha256/\(hash.prefix(2))/\(hash)").path
            let digest = try run("/usr/bin/sha256sum", [path])
            XCTAssertTrue(digest.stdout.hasPrefix(hash), digest.stdout)
        }

        // The server now holds and receipts them: its own bundle of that camera verifies, and says how they came.
        let serverBag = try serverExport(["--camera", "B654321"], to: work.appendingPathComponent("after-import"))
        let verified = try verify(serverBag)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertTrue(try items(serverBag).allSatisfy { $0["standing"] as? String == "receipted" })
        XCTAssertEqual(try items(serverBag).count, unsentCount)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: serverBag.appendingPathComponent("data/items.json"))) as? [String: Any])
        let batches = try XCTUnwrap(document["batches"] as? [[String: Any]])
        XCTAssertTrue(batches.allSatisfy { ($0["batchKey"] as? String)?.hasPrefix("hand-carried-") == true }, "\(batches)")

        // Again: nothing new; the second import is recorded too.
        let again = try importBundle(archive)
        XCTAssertEqual(again.status, 0, again.stderr)
        let second = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(second["imported"] as? Int, 0)
        XCTAssertEqual(second["alreadyReceipted"] as? Int, receiptedCount + unsentCount)
        XCTAssertEqual(storedBlobs(), before.union(newHashes))
        let recorded = try imports()
        XCTAssertEqual(recorded.count, 2)
        XCTAssertEqual(recorded.first?["imported"] as? Int, unsentCount)
        XCTAssertNotNil(recorded.first?["batchId"] as? String)

        // The gateway, back online, syncs them without sending their bytes again.
        let sync = try fieldgate(["sync", "--json"])
        XCTAssertEqual(sync.status, 0, sync.stderr + sync.stdout)
        let synced = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(sync.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(synced["sentBytes"] as? Int, 0, sync.stdout)
        XCTAssertEqual(synced["receipted"] as? Int, unsentCount, sync.stdout)
    }

    func extractedCopy(of archive: URL) throws -> URL {
        let folder = work.appendingPathComponent("x-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertEqual(try run("/bin/tar", ["-xf", archive.path, "-C", folder.path]).status, 0)
        return folder.appendingPathComponent(archive.deletingPathExtension().lastPathComponent)
    }

    func testATamperedForeignOrHostileBundleIsRefusedAndNothingIsStored() throws {
        let bag = try export(["--camera", "B654321"], to: work.appendingPathComponent("offline"))
        let before = storedBlobs()
        func refused(_ bundle: URL, naming expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try importBundle(bundle)
            XCTAssertEqual(result.status, 1, result.stdout, file: file, line: line)
            XCTAssertTrue(result.stderr.contains(expected), "\(expected) not in: \(result.stderr)", file: file, line: line)
            XCTAssertEqual(storedBlobs(), before, "a refused bundle stored a blob", file: file, line: line)
        }
        let blob = try XCTUnwrap(try files(in: bag, under: "data/items").first)
        let changedBlob = try copy(bag, "import-blob")
        try flipByte(changedBlob.appendingPathComponent(blob))
        try refused(changedBlob, naming: "\(blob) has been changed")

        let changedRecord = try copy(bag, "import-items")
        try flipByte(changedRecord.appendingPathComponent("data/items.json"), at: 0.3)
        try refused(changedRecord, naming: "data/items.json has been changed")

        let added = try copy(bag, "import-added")
        try Data("planted".utf8).write(to: added.appendingPathComponent("data/items/planted.txt"))
        try refused(added, naming: "data/items/planted.txt is not listed")

        let linked = try copy(bag, "import-link")
        try FileManager.default.removeItem(at: linked.appendingPathComponent(blob))
        try FileManager.default.createSymbolicLink(atPath: linked.appendingPathComponent(blob).path, withDestinationPath: "/etc/passwd")
        try refused(linked, naming: "\(blob) is not a regular file")

        // A manifest line that climbs out of the bag (read before anything is hashed).
        let climbing = try copy(bag, "import-climb")
        let tagManifest = climbing.appendingPathComponent("tagmanifest-sha256.txt")
        try (String(contentsOf: tagManifest, encoding: .utf8) + "\(String(repeating: "0", count: 64))  data/../../etc/passwd\n").write(to: tagManifest, atomically: true, encoding: .utf8)
        try refused(climbing, naming: "outside itself")

        // Hostile archives: a member leaving the top folder, a link; nothing lands outside.
        let outside = work.appendingPathComponent("escaped.txt")
        for (name, script) in [
            ("climb", "import tarfile, io\nt = tarfile.open(ARCHIVE, 'w')\ni = tarfile.TarInfo('bag/../../escaped.txt'); d = b'x'; i.size = 1\nt.addfile(i, io.BytesIO(d)); t.close()"),
            ("absolute", "import tarfile, io\nt = tarfile.open(ARCHIVE, 'w')\ni = tarfile.TarInfo('/tmp/escaped.txt'); i.size = 1\nt.addfile(i, io.BytesIO(b'x')); t.close()"),
            ("symlink", "import tarfile\nt = tarfile.open(ARCHIVE, 'w')\ni = tarfile.TarInfo('bag/bagit.txt'); i.type = tarfile.SYMTYPE; i.linkname = '/etc/passwd'\nt.addfile(i); t.close()"),
        ] {
            let archive = work.appendingPathComponent("hostile-\(name).tar")
            let made = try run("/usr/bin/python3", ["-c", "ARCHIVE = '\(archive.path)'\n" + script])
            XCTAssertEqual(made.status, 0, made.stderr)
            let result = try importBundle(archive)
            XCTAssertEqual(result.status, 1, "\(name): \(result.stdout)")
            XCTAssertTrue(result.stderr.contains("refused") || result.stderr.contains("not a regular file"), "\(name): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: outside.path), "\(name) wrote outside")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: server.data.appendingPathComponent("uploads").path)
            .filter { $0.hasPrefix("import-") }
        XCTAssertEqual(leftovers, [], "a refused import leaves no staging behind")

        // A server's bundle, and a bundle whose gateway this server does not know.
        let serverBag = try serverExport(["--camera", "A123456"], to: work.appendingPathComponent("server-made"))
        try refused(serverBag, naming: "exported by a server")
        let otherServer = KillableServer(data: work.appendingPathComponent("other-server"))
        _ = try otherServer.addGateway("team-1")
        let foreign = try runProgram(builtBinary("fieldgate-server").path, ["import-bundle", bag.path, "--data", otherServer.data.path],
                                     environment: ["LC_ALL": "C"], timeout: 120)
        XCTAssertEqual(foreign.status, 1, foreign.stdout)
        XCTAssertTrue(foreign.stderr.contains("signed by a key no gateway of this server has"), foreign.stderr)

        // After the gateway is revoked its bundles are no longer taken.
        XCTAssertEqual(try fieldgateServer(["gateways", "revoke", "team-1"]).status, 0)
        try refused(bag, naming: "which is revoked")
        XCTAssertTrue(try imports().isEmpty, "no refused bundle is recorded as imported")
    }
}
