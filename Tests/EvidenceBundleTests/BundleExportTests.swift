import Crypto
import Foundation
import GRDB
import Store
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate export` bundles checked by tools that are not ours: `sh verify.sh` (coreutils and
/// OpenSSL), `bagit.py --validate`, `sha256sum -c` and `openssl pkeyutl`, run as child processes
/// on real bags made from items synced to a real `fieldgate-server` on loopback.
final class BundleExportTests: XCTestCase {
    var server: KillableServer!
    /// The RFC 3161 authority the server asks for a token over each receipt.
    var authority: TestTimestampAuthority!
    var home: URL!
    var work: URL!
    /// Recordings receipted by the server, then recordings collected after the sync.
    var receiptedCount = 0
    var unsentCount = 0

    override func setUpWithError() throws {
        work = try temporaryFolder(self)
        home = work.appendingPathComponent("gateway")
        authority = try TestTimestampAuthority(folder: work.appendingPathComponent("tsa"))
        server = KillableServer(data: work.appendingPathComponent("server"))
        server.serveArguments = ["--tsa-url", authority.url, "--tsa-ca-file", authority.caCertificate.path, "--tsa-retry-interval", "0.2"]
        try server.start(port: 0)
        let token = try server.addGateway("team-1")
        XCTAssertEqual(try fieldgate(["enroll", "--server", server.url, "--token", token]).status, 0)
        receiptedCount = try collect(serial: "A123456", start: "20261125083000")
        try syncUntilTimeStamped()
        unsentCount = try collect(serial: "B654321", start: "20261125140000")
    }

    override func tearDown() {
        server?.kill()
        server = nil
        authority?.stop()
    }

    /// Syncs until every kept receipt has its time-stamp (the server asks its authority in the
    /// background, so the first sync may find the token pending); bounded.
    func syncUntilTimeStamped(file: StaticString = #filePath, line: UInt = #line) throws {
        for _ in 0..<50 {
            let sync = try fieldgate(["sync"])
            XCTAssertEqual(sync.status, 0, sync.stderr + sync.stdout, file: file, line: line)
            let receipts = try fieldgate(["receipts", "--json"])
            let listed = try JSONSerialization.jsonObject(with: Data(receipts.stdout.utf8)) as? [[String: Any]] ?? []
            if !listed.isEmpty && listed.allSatisfy({ $0["timestampedAt"] is String }) { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("the receipts were not time-stamped", file: file, line: line)
    }

    // MARK: Helpers

    func fieldgate(_ arguments: [String], timeout: TimeInterval = 120) throws -> CommandResult {
        try runProgram(builtBinary("fieldgate").path, arguments + ["--home", home.path], environment: ["LC_ALL": "C"], timeout: timeout)
    }

    func run(_ program: String, _ arguments: [String], in folder: URL? = nil) throws -> CommandResult {
        try runProgram(program, arguments, environment: ["LC_ALL": "C", "LANG": "C"], workingDirectory: folder, timeout: 120)
    }

    func collect(serial: String, start: String) throws -> Int {
        let volume = work.appendingPathComponent("volume-\(serial)")
        let files = try SampleRecordings.writeVolume(at: volume, cameraSerial: serial, officerNumber: "100001", start: start,
                                                     videos: 2, oddFiles: false)
        let result = try fieldgate(["collect", "--from", volume.path, "--camera", serial])
        XCTAssertEqual(result.status, 0, result.stderr)
        return files.count
    }

    func export(_ selection: [String], to destination: URL) throws -> URL {
        let result = try fieldgate(["export"] + selection + ["--to", destination.path, "--organisation", "某市城市管理综合行政执法局"])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        return destination
    }

    func verify(_ bag: URL) throws -> CommandResult {
        try run("/bin/sh", [bag.appendingPathComponent("verify.sh").path])
    }

    func items(_ bag: URL) throws -> [[String: Any]] {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: bag.appendingPathComponent("data/items.json"))) as? [String: Any]
        return try XCTUnwrap(document?["items"] as? [[String: Any]])
    }

    func files(in folder: URL, under path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(path).path).sorted().map { "\(path)/\($0)" }
    }

    /// A copy of the bag to tamper with.
    func copy(_ bag: URL, _ name: String) throws -> URL {
        let target = work.appendingPathComponent("tampered-\(name)")
        try FileManager.default.copyItem(at: bag, to: target)
        return target
    }

    func flipByte(_ file: URL, at fraction: Double = 0.5) throws {
        var bytes = try Data(contentsOf: file)
        bytes[Int(Double(bytes.count - 1) * fraction)] ^= 0x01
        try bytes.write(to: file)
    }

    func assertCaught(_ bag: URL, naming expected: [String], bagitFails: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try verify(bag)
        XCTAssertEqual(result.status, 1, result.stdout, file: file, line: line)
        XCTAssertTrue(result.stdout.contains("BUNDLE NOT VERIFIED"), result.stdout, file: file, line: line)
        for text in expected {
            XCTAssertTrue(result.stdout.contains(text), "verify.sh does not name \(text):\n\(result.stdout)", file: file, line: line)
        }
        if bagitFails {
            XCTAssertNotEqual(try run("/usr/bin/env", ["bagit.py", "--validate", bag.path]).status, 0, file: file, line: line)
        }
    }

    // MARK: Tests

    func testABundleVerifiesWithVerifyShBagitSha256sumAndOpenSSLAndSaysWhatIsReceipted() throws {
        let bag = try export(["--officer", "100001"], to: work.appendingPathComponent("证据包-100001"))
        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        // A blob two items share (the same sound on both cameras) is one file, receipted once.
        let blobs = Set(try items(bag).compactMap { $0["sha256"] as? String }).count
        XCTAssertTrue(verified.stdout.contains("BUNDLE VERIFIED: \(blobs) item file(s): \(receiptedCount) receipted by the server, 0 signed by the gateway only, \(blobs - receiptedCount) not yet sent"), verified.stdout)
        XCTAssertTrue(verified.stdout.contains("answers data/manifests/"), verified.stdout)

        let bagit = try run("/usr/bin/env", ["bagit.py", "--validate", bag.path])
        XCTAssertEqual(bagit.status, 0, bagit.stderr)
        XCTAssertEqual(try run("/usr/bin/sha256sum", ["-c", "manifest-sha256.txt"], in: bag).status, 0)
        XCTAssertEqual(try run("/usr/bin/sha256sum", ["-c", "tagmanifest-sha256.txt"], in: bag).status, 0)
        let signed = [("data/keys/gateway.pem", "tagmanifest-sha256.txt")]
            + (try files(in: bag, under: "data/manifests")).filter { $0.hasSuffix(".json") }.map { ("data/keys/gateway.pem", $0) }
            + (try files(in: bag, under: "data/receipts")).filter { $0.hasSuffix(".json") }.map { ("data/keys/server.pem", $0) }
        XCTAssertEqual(signed.count, 3, "the bag's signature, one manifest and one receipt")
        for (key, payload) in signed {
            let signature = try Data(contentsOf: bag.appendingPathComponent(payload + ".sig"))
            XCTAssertEqual(signature.count, 64, "\(payload).sig is a raw Ed25519 signature")
            let check = try run("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", payload, "-sigfile", payload + ".sig"], in: bag)
            XCTAssertEqual(check.status, 0, "\(payload): \(check.stdout)\(check.stderr)")
        }

        // Each item says how far its proof goes, with its record and custody.
        let listed = try items(bag)
        XCTAssertEqual(listed.count, receiptedCount + unsentCount)
        XCTAssertEqual(listed.filter { $0["standing"] as? String == "receipted" }.count, receiptedCount)
        XCTAssertEqual(listed.filter { $0["standing"] as? String == "exported-only" }.count, unsentCount)
        for item in listed {
            let metadata = try XCTUnwrap(item["metadata"] as? [String: String])
            XCTAssertEqual(metadata["officer"], "100001")
            XCTAssertFalse((item["custody"] as? [Any] ?? []).isEmpty)
            let file = try XCTUnwrap(item["file"] as? String)
            XCTAssertTrue(file.hasPrefix("data/items/\(try XCTUnwrap(item["sha256"] as? String))."), file)
        }
        let html = try String(contentsOf: bag.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("某市城市管理综合行政执法局") && html.contains("not yet sent to the server"))
        XCTAssertTrue(try String(contentsOf: bag.appendingPathComponent("bag-info.txt"), encoding: .utf8).contains("Fieldgate-Not-Yet-Sent: \(unsentCount)"))

        // The export is in each item's custody, and the chain still holds.
        let store = try EvidenceStore(home: home)
        for recording in try store.recordings() {
            XCTAssertEqual(try store.custodyEvents(recordingId: recording.id).last?.kind, .exported, recording.sourceName)
        }
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)
    }

    /// The receipt's time-stamp is in the bag and checks with `openssl ts` alone; verify.sh says when.
    func testATimeStampedReceiptChecksWithOpenSSLTsAgainstTheAuthoritysCA() throws {
        let bag = try export(["--camera", "A123456"], to: work.appendingPathComponent("stamped"))
        let receipt = try XCTUnwrap(try files(in: bag, under: "data/receipts").first { $0.hasSuffix(".json") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: bag.appendingPathComponent(receipt + ".tsr").path))
        XCTAssertEqual(try Data(contentsOf: bag.appendingPathComponent("data/keys/tsa-ca.pem")), try Data(contentsOf: authority.caCertificate))
        let checked = try run("/usr/bin/openssl", ["ts", "-verify", "-data", receipt, "-in", receipt + ".tsr", "-CAfile", "data/keys/tsa-ca.pem"], in: bag)
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        XCTAssertTrue(checked.stdout.contains("Verification: OK"), checked.stdout)
        // The same token with the authority's own CA file, as a court would hold it.
        let independent = try run("/usr/bin/openssl", ["ts", "-verify", "-data", receipt, "-in", receipt + ".tsr",
                                                       "-CAfile", authority.caCertificate.path], in: bag)
        XCTAssertEqual(independent.status, 0, independent.stdout + independent.stderr)

        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertTrue(verified.stdout.contains("ok:   \(receipt) is time-stamped (RFC 3161) at "), verified.stdout)
        XCTAssertTrue(verified.stdout.contains(", time-stamped at "), verified.stdout)
        let fingerprint = try run("/bin/sh", ["-c", "openssl x509 -in '\(authority.caCertificate.path)' -outform DER | sha256sum | cut -c1-64"])
        let expected = fingerprint.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(expected.count, 64)
        XCTAssertTrue(verified.stdout.contains("key   data/keys/tsa-ca.pem: SHA-256 fingerprint \(expected)"), verified.stdout)
        XCTAssertTrue(try String(contentsOf: bag.appendingPathComponent("VERIFY.md"), encoding: .utf8).contains(expected))
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: bag.appendingPathComponent("data/items.json"))) as? [String: Any]
        let batches = try XCTUnwrap(document?["batches"] as? [[String: Any]])
        XCTAssertEqual(batches.first?["timestamp"] as? String, receipt + ".tsr")
        XCTAssertNotNil(batches.first?["timestampedAt"] as? String)
        XCTAssertEqual(try run("/usr/bin/env", ["bagit.py", "--validate", bag.path]).status, 0)
    }

    /// An authority that is down delays the token, never the receipt: the batch is receipted,
    /// its token pending, and a bundle made meanwhile says the receipt has no time-stamp yet.
    func testWhileTheAuthorityIsDownReceiptsArriveAndTheirTokenFollowsLater() throws {
        authority.stop()
        let count = try collect(serial: "C111111", start: "20261126090000")
        let sync = try fieldgate(["sync"])
        XCTAssertEqual(sync.status, 0, sync.stderr + sync.stdout)
        XCTAssertTrue(sync.stdout.contains("pending at the server's authority"), sync.stdout)
        let bag = try export(["--camera", "C111111"], to: work.appendingPathComponent("pending"))
        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertTrue(verified.stdout.contains("has no RFC 3161 time-stamp"), verified.stdout)
        XCTAssertTrue(verified.stdout.contains("BUNDLE VERIFIED: \(count) item file(s): \(count) receipted by the server"), verified.stdout)

        authority = try TestTimestampAuthority(folder: work.appendingPathComponent("tsa"))
        // The server still asks the address it was given, so it restarts with the new one.
        server.kill()
        server.serveArguments = ["--tsa-url", authority.url, "--tsa-ca-file", authority.caCertificate.path, "--tsa-retry-interval", "0.2"]
        try server.start()
        try syncUntilTimeStamped()
        let later = try export(["--camera", "C111111"], to: work.appendingPathComponent("stamped-later"))
        let checked = try verify(later)
        XCTAssertEqual(checked.status, 0, checked.stdout)
        XCTAssertFalse(checked.stdout.contains("has no RFC 3161 time-stamp"), checked.stdout)
    }

    /// `receipts` checks the kept token again: one that no longer stamps its receipt is named.
    func testAKeptTimeStampThatNoLongerStampsItsReceiptIsNamedByReceipts() throws {
        let listed = try fieldgate(["receipts"])
        XCTAssertEqual(listed.status, 0, listed.stdout)
        XCTAssertTrue(listed.stdout.contains("TIME-STAMPED (RFC 3161)"), listed.stdout)
        let store = try EvidenceStore(home: home)
        try store.database.write { db in
            // The token's last bytes are its signature; its middle holds the stamped hash.
            let reply = try XCTUnwrap(try Data.fetchOne(db, sql: "SELECT timestampReply FROM syncBatch WHERE timestampReply IS NOT NULL"))
            let other = Data(SHA256.hash(data: Data("another receipt".utf8)))
            let stamped = try XCTUnwrap(reply.range(of: Data(SHA256.hash(data: try XCTUnwrap(
                try Data.fetchOne(db, sql: "SELECT receiptPayload FROM syncBatch WHERE timestampReply IS NOT NULL"))))))
            var forged = reply
            forged.replaceSubrange(stamped, with: other)
            try db.execute(sql: "UPDATE syncBatch SET timestampReply = ? WHERE timestampReply IS NOT NULL", arguments: [forged])
        }
        let checked = try fieldgate(["receipts"])
        XCTAssertEqual(checked.status, 1, checked.stdout)
        XCTAssertTrue(checked.stdout.contains("the kept time-stamp does not stamp this receipt"), checked.stdout)
    }

    func testATarBundleExtractsToTheSameCheckableBag() throws {
        let archive = try export(["--camera", "A123456"], to: work.appendingPathComponent("camera-A123456.tar"))
        let extracted = work.appendingPathComponent("extracted")
        try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
        let untar = try run("/bin/tar", ["-xf", archive.path, "-C", extracted.path])
        XCTAssertEqual(untar.status, 0, untar.stderr)
        let bag = extracted.appendingPathComponent("camera-A123456")
        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertTrue(verified.stdout.contains("\(receiptedCount) receipted by the server, 0 signed by the gateway only, 0 not yet sent"), verified.stdout)
        XCTAssertEqual(try run("/usr/bin/env", ["bagit.py", "--validate", bag.path]).status, 0)
    }

    func testEachKindOfTamperingIsCaughtAndNamed() throws {
        let bag = try export(["--officer", "100001"], to: work.appendingPathComponent("bag"))
        let blob = try XCTUnwrap(try files(in: bag, under: "data/items").first)
        let receipt = try XCTUnwrap(try files(in: bag, under: "data/receipts").first { $0.hasSuffix(".json") })
        let manifest = try XCTUnwrap(try files(in: bag, under: "data/manifests").first { $0.hasSuffix(".json") })

        let changedBlob = try copy(bag, "blob")
        try flipByte(changedBlob.appendingPathComponent(blob))
        try assertCaught(changedBlob, naming: ["FAIL: \(blob) has been changed"])

        let changedItems = try copy(bag, "items")
        try flipByte(changedItems.appendingPathComponent("data/items.json"), at: 0.3)
        try assertCaught(changedItems, naming: ["FAIL: data/items.json has been changed"])

        let changedReceipt = try copy(bag, "receipt")
        try flipByte(changedReceipt.appendingPathComponent(receipt), at: 0.9)
        try assertCaught(changedReceipt, naming: ["FAIL: \(receipt) has been changed", "FAIL: \(receipt): its signature does not verify"])

        // One letter of a custody event inside the manifest the gateway signed.
        let changedCustody = try copy(bag, "custody")
        let manifestURL = changedCustody.appendingPathComponent(manifest)
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        XCTAssertTrue(text.contains(#""kind":"collected""#))
        try Data(text.replacingOccurrences(of: #""kind":"collected""#, with: #""kind":"collectes""#).utf8).write(to: manifestURL)
        try assertCaught(changedCustody, naming: ["FAIL: \(manifest) has been changed", "FAIL: \(manifest): its signature does not verify",
                                                  "FAIL: \(receipt) answers a manifest that is not in this bundle"])

        // The receipt's RFC 3161 token: listed, and no longer over the receipt.
        let changedToken = try copy(bag, "token")
        try flipByte(changedToken.appendingPathComponent(receipt + ".tsr"), at: 0.4)
        try assertCaught(changedToken, naming: ["FAIL: \(receipt).tsr has been changed",
                                                "FAIL: \(receipt).tsr: its RFC 3161 time-stamp does not verify over \(receipt)"])

        // Another CA put in place of the authority's: the token no longer chains to it.
        let otherCA = try copy(bag, "tsa-ca")
        let stranger = try TestTimestampAuthority(folder: work.appendingPathComponent("stranger-tsa"))
        stranger.stop()
        try FileManager.default.removeItem(at: otherCA.appendingPathComponent("data/keys/tsa-ca.pem"))
        try FileManager.default.copyItem(at: stranger.caCertificate, to: otherCA.appendingPathComponent("data/keys/tsa-ca.pem"))
        try assertCaught(otherCA, naming: ["FAIL: data/keys/tsa-ca.pem has been changed",
                                           "FAIL: \(receipt).tsr: its RFC 3161 time-stamp does not verify"])

        let removed = try copy(bag, "removed")
        try FileManager.default.removeItem(at: removed.appendingPathComponent(blob))
        try assertCaught(removed, naming: ["FAIL: \(blob) is missing"])

        let added = try copy(bag, "added")
        try Data("planted".utf8).write(to: added.appendingPathComponent("data/items/planted.mp4"))
        try assertCaught(added, naming: ["FAIL: data/items/planted.mp4 is not listed in manifest-sha256.txt"])
    }

    /// A forger who swaps the gateway's key and re-signs and re-lists everything still cannot
    /// re-sign the manifests the server receipted.
    func testASwappedKeyIsCaughtEvenWhenEveryListAndTheBagSignatureAreRedone() throws {
        let bag = try export(["--officer", "100001"], to: work.appendingPathComponent("bag"))
        let plain = try copy(bag, "key")
        let forger = Curve25519.Signing.PrivateKey()
        try Data("-----BEGIN PUBLIC KEY-----\n\((Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + forger.publicKey.rawRepresentation).base64EncodedString())\n-----END PUBLIC KEY-----\n".utf8)
            .write(to: plain.appendingPathComponent("data/keys/gateway.pem"))
        try assertCaught(plain, naming: ["FAIL: data/keys/gateway.pem has been changed",
                                         "FAIL: tagmanifest-sha256.txt: its signature does not verify with the key in data/keys/gateway.pem"])

        // Now redo the lists and the bag's signature with the forger's key.
        let relist = try run("/bin/sh", ["-c", """
            grep -v '  data/keys/gateway.pem$' manifest-sha256.txt > m && sha256sum data/keys/gateway.pem >> m && mv m manifest-sha256.txt &&
            grep -v '  manifest-sha256.txt$' tagmanifest-sha256.txt > t && sha256sum manifest-sha256.txt >> t && mv t tagmanifest-sha256.txt
            """], in: plain)
        XCTAssertEqual(relist.status, 0, relist.stderr)
        let tagManifest = try Data(contentsOf: plain.appendingPathComponent("tagmanifest-sha256.txt"))
        try forger.signature(for: tagManifest).write(to: plain.appendingPathComponent("tagmanifest-sha256.txt.sig"))
        let manifest = try XCTUnwrap(try files(in: plain, under: "data/manifests").first { $0.hasSuffix(".json") })
        try assertCaught(plain, naming: ["ok:   tagmanifest-sha256.txt is signed", "FAIL: \(manifest): its signature does not verify with the key in data/keys/gateway.pem"],
                         bagitFails: false)
    }

    func testChineseCaseNumbersAndNamesWorkUnderTheCLocale() throws {
        let store = try EvidenceStore(home: home)
        let caseNumber = "浙杭城执罚〔2026〕第0123号"
        try store.save(cases: [EnforcementCase(number: caseNumber, title: "占道经营", procedure: .general)])
        _ = try store.recordPrinted(PrintedDocument(documentNumber: "通知书-001", caseNumber: caseNumber, template: "parking-notice",
                                                    printerName: "便携打印机", copies: 1, verificationId: "VF-0001",
                                                    contentSha256: String(repeating: "0", count: 64), data: #"{"party":"张三"}"#),
                                    bytes: Array("\u{1b}@通知书\n".utf8))
        _ = try store.recordFingerprint(FingerprintCapture(caseNumber: caseNumber, documentNumber: "通知书-001", person: "张三", role: .party,
                                                           reader: "virtual_image: 虚拟指纹仪", format: "pgm", width: 2, height: 2),
                                        image: Array("P5\n2 2\n255\n\u{0}\u{1}\u{2}\u{3}".utf8))
        let bag = try export(["--case", caseNumber], to: work.appendingPathComponent("案件 \(caseNumber)"))
        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        XCTAssertTrue(verified.stdout.contains("BUNDLE VERIFIED: 2 item file(s): 0 receipted by the server, 0 signed by the gateway only, 2 not yet sent"), verified.stdout)
        XCTAssertEqual(try run("/usr/bin/env", ["bagit.py", "--validate", bag.path]).status, 0)
        let listed = try items(bag)
        XCTAssertEqual(Set(listed.compactMap { ($0["metadata"] as? [String: String])?["case"] }), [caseNumber])
        XCTAssertEqual(Set(listed.compactMap { $0["file"] as? String }.map { URL(fileURLWithPath: $0).pathExtension }), ["escpos", "pgm"])
        let info = try String(contentsOf: bag.appendingPathComponent("bag-info.txt"), encoding: .utf8)
        XCTAssertTrue(info.contains("Fieldgate-Selection: case \(caseNumber)"), info)
        XCTAssertTrue(try String(contentsOf: bag.appendingPathComponent("index.html"), encoding: .utf8).contains("张三"))
    }

    func testBadSelectionsAndDestinationsStopBeforeAnythingIsWritten() throws {
        let unknown = try fieldgate(["export", "--item", "999999", "--to", work.appendingPathComponent("x").path])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no such item(s) in the store: 999999"), unknown.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("x").path))

        let nobody = try fieldgate(["export", "--officer", "999999", "--to", work.appendingPathComponent("y").path])
        XCTAssertEqual(nobody.status, 1)
        XCTAssertTrue(nobody.stderr.contains("nothing selected by officer 999999"), nobody.stderr)

        let two = try fieldgate(["export", "--officer", "100001", "--camera", "A123456", "--to", work.appendingPathComponent("z").path])
        XCTAssertNotEqual(two.status, 0)
        XCTAssertTrue(two.stderr.contains("exactly one of"), two.stderr)

        let occupied = work.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: occupied.appendingPathComponent("notes.txt"))
        let refused = try fieldgate(["export", "--camera", "A123456", "--to", occupied.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("exists and is not empty"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied.path), ["notes.txt"])
    }

    func testADamagedStoredCopyStopsTheExportAndLeavesNoBundle() throws {
        let store = try EvidenceStore(home: home)
        let victim = try XCTUnwrap(try store.recordings().first { $0.cameraSerial == "B654321" })
        let path = store.blobs.path(of: victim.sha256)
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path.path)
        try flipByte(path)
        let destination = work.appendingPathComponent("damaged.tar")
        let result = try fieldgate(["export", "--camera", "B654321", "--to", destination.path])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stderr.contains(victim.sha256) && result.stderr.contains("audit verify"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination.path))
        XCTAssertNotEqual(try store.custodyEvents(recordingId: victim.id).last?.kind, .exported)
    }
}
