import Common
import Crypto
import Foundation
import GRDB
import Store
import Sync
import SyncProtocol
import TestSupport
import USBEmulation
import XCTest

/// Collect, then sync to a real `fieldgate-server` over loopback HTTP, each side its own process.
final class SyncEndToEndTests: XCTestCase {
    var server: KillableServer!
    var home: URL!
    var work: URL!

    override func setUpWithError() throws {
        work = try temporaryFolder(self)
        home = work.appendingPathComponent("gateway")
        server = KillableServer(data: work.appendingPathComponent("server"))
        try server.start(port: 0)
    }

    override func tearDown() {
        // The test may have replaced the server: stop whichever runs now.
        server?.kill()
        server = nil
    }

    // MARK: Helpers

    func fieldgate(_ arguments: [String], timeout: TimeInterval = 120) throws -> CommandResult {
        try runProgram(builtBinary("fieldgate").path, arguments + ["--home", home.path], timeout: timeout)
    }

    /// Enrols the gateway under `name`.
    @discardableResult
    func enroll(_ name: String = "team-1", serverURL: String? = nil) throws -> CommandResult {
        let token = try server.addGateway(name)
        // Hex only: a token starting with "-" would be taken for an option on the command line.
        XCTAssertTrue(token.utf8.count == 64 && token.allSatisfy(\.isHexDigit), token)
        let result = try fieldgate(["enroll", "--server", serverURL ?? server.url, "--token", token])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    /// Collects a generated camera volume (or `extra` files of random bytes) through `collect --from`.
    func collectSample(serial: String = "A123456", videos: Int = 2, extra: [Int] = []) throws -> Int {
        let volume = work.appendingPathComponent("volume-\(serial)")
        var files = try SampleRecordings.writeVolume(at: volume, cameraSerial: serial, officerNumber: "100001",
                                                     start: "20261125083000", videos: videos, oddFiles: false)
        for (index, size) in extra.enumerated() {
            let name = "DCIM/\(serial)_100001_2026112509\(String(format: "%02d", index))00_\(String(format: "%04d", 50 + index)).MP4"
            var bytes = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 997) { bytes[i] = UInt8.random(in: 0...255) }
            try Data(bytes).write(to: volume.appendingPathComponent(name))
            files.append(name)
        }
        let result = try fieldgate(["collect", "--from", volume.path, "--camera", serial, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return files.count
    }

    func syncStatus() throws -> SyncStatus {
        let result = try fieldgate(["status", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(text) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text)) }
            return date
        }
        let status = try decoder.decode(StoreStatus.self, from: Data(result.stdout.utf8))
        return try XCTUnwrap(status.sync)
    }

    func summary(_ result: CommandResult) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout + result.stderr)
    }

    // MARK: Tests

    func testCollectThenSyncReceiptsEverythingAndASecondSyncSendsNothing() throws {
        try enroll()
        let count = try collectSample()
        let first = try fieldgate(["sync", "--json"])
        XCTAssertEqual(first.status, 0, first.stderr + first.stdout)
        let summary = try summary(first)
        XCTAssertEqual(summary["receipted"] as? Int, count)
        XCTAssertEqual(summary["uploaded"] as? Int, count)
        let status = try syncStatus()
        XCTAssertEqual(status.receipted, count)
        XCTAssertEqual(status.retainedOnline, 1)
        let received = try server.metric("fieldgate_upload_bytes_received_total")
        XCTAssertGreaterThan(received, 0)

        let second = try fieldgate(["sync", "--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try self.summary(second)["sentBytes"] as? Int, 0)
        XCTAssertEqual(try self.summary(second)["batches"] as? Int, 0)
        XCTAssertEqual(try server.metric("fieldgate_upload_bytes_received_total"), received)

        // Every item's custody now ends uploaded → receipted, and the chain still verifies.
        let store = try EvidenceStore(home: home)
        for recording in try store.recordings() {
            let kinds = try store.custodyEvents(recordingId: recording.id).map(\.kind)
            XCTAssertEqual(Array(kinds.suffix(2)), [.uploaded, .receipted], recording.sourceName)
        }
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)

        // The receipt is kept and still verifies against the pinned server key.
        let receipts = try fieldgate(["receipts", "--json"])
        XCTAssertEqual(receipts.status, 0, receipts.stderr)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(receipts.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.count, 1)
        XCTAssertEqual(list.first?["verified"] as? Bool, true)
        XCTAssertEqual(list.first?["items"] as? Int, count)
        XCTAssertEqual(list.first?["version"] as? Int, 2)
        // The receipt names the manifest exactly as the gateway kept and sent it.
        let batch = try XCTUnwrap(try store.receipts().first)
        let receipt = try WireCoding.decoder.decode(Receipt.self, from: try XCTUnwrap(batch.receiptPayload))
        let manifestPayload = try XCTUnwrap(batch.manifestPayload)
        XCTAssertEqual(receipt.manifestSha256, SHA256.hash(data: manifestPayload).hexString)
        let manifest = try WireCoding.decoder.decode(BatchManifest.self, from: manifestPayload)
        XCTAssertEqual(receipt.items.map(\.lastCustodyHash), manifest.items.map { $0.custody.last?.hash })
        let gatewayKey = try Curve25519.Signing.PrivateKey(rawRepresentation: try XCTUnwrap(store.enrolment()).gatewayPrivateKey)
        XCTAssertTrue(gatewayKey.publicKey.isValidSignature(try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(batch.manifestSignature))), for: manifestPayload))
    }

    /// Every item names its officer's unit from the roster, and every manifest what the gateway
    /// still holds besides that batch, under the unit of the gateway's config: the centre's reports count both.
    func testEachItemCarriesItsUnitAndEachManifestWhatTheGatewayStillHolds() throws {
        try enroll()
        let roster = work.appendingPathComponent("officers.csv")
        try "number,name,certificate_number,certificate_status,certificate_expires,unit\n100001,王五,ZF-1,valid,,一中队\n"
            .write(to: roster, atomically: true, encoding: .utf8)
        XCTAssertEqual(try fieldgate(["officers", "import", roster.path]).status, 0)
        let config = home.appendingPathComponent("config.toml")
        try "unit = \"城管执法二中队\"\n".write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(config.path, 0o600), 0)
        let count = try collectSample(extra: [3_000])
        let sync = try fieldgate(["sync", "--batch-size", "1", "--json"])
        XCTAssertEqual(sync.status, 0, sync.stderr + sync.stdout)
        XCTAssertEqual(try summary(sync)["receipted"] as? Int, count)

        let manifests = try EvidenceStore(home: home).receipts().map { batch in
            try WireCoding.decoder.decode(BatchManifest.self, from: try XCTUnwrap(batch.manifestPayload))
        }
        XCTAssertEqual(manifests.count, count)
        XCTAssertEqual(manifests.compactMap { $0.waiting?.items }.sorted(), Array(0..<count), "each batch counts the others still waiting")
        XCTAssertEqual(Set(manifests.compactMap { $0.waiting?.unit }), ["城管执法二中队"])
        XCTAssertEqual(Set(manifests.flatMap { $0.items.map { $0.metadata["unit"] } }), ["一中队"], "the officer's unit wins")
        let first = try XCTUnwrap(manifests.first { $0.waiting?.items == count - 1 }?.waiting)
        XCTAssertEqual(first.byMonth, ["2026-11": count - 1])

        let server = try DatabaseQueue(path: work.appendingPathComponent("server/server.sqlite").path)
        let (tally, backlog) = try server.read { db in
            (try Row.fetchAll(db, sql: "SELECT unit, kind, items FROM reportTally").map { [$0["unit"] as String, $0["kind"], String($0["items"] as Int)] },
             try Row.fetchOne(db, sql: "SELECT unit, items FROM gatewayBacklog"))
        }
        XCTAssertEqual(tally, [["一中队", "recording", String(count)]])
        XCTAssertEqual(backlog?["unit"], "城管执法二中队")
        XCTAssertEqual(backlog?["items"], 0, "the last batch's report: nothing else waits")
    }

    /// A batch an older build opened on the server without keeping its manifest (the server
    /// holds other bytes than a manifest signed now) is still receipted: its items are compared.
    func testABatchOpenedBeforeManifestsWereKeptIsStillReceipted() throws {
        try enroll()
        let count = try collectSample()
        let store = try EvidenceStore(home: home)
        let enrolment = try XCTUnwrap(try store.enrolment())
        let batch = try XCTUnwrap(try store.prepareBatch(limit: 100))
        let entries = try store.entries(inBatch: try XCTUnwrap(batch.id))
        // What the older build sent: the same items, their custody as it stood then (shorter).
        let items = entries.map { ManifestBuilder.item(for: $0) }.map { item in
            var item = item
            item.custody = Array(item.custody.dropLast())
            return item
        }
        let manifest = BatchManifest(batchKey: batch.batchKey, gatewayId: enrolment.gatewayId, createdAt: "2026-11-25T09:00:00.000Z", items: items)
        let envelope = try SignedEnvelope.seal(manifest, with: try Curve25519.Signing.PrivateKey(rawRepresentation: enrolment.gatewayPrivateKey))
        let body = work.appendingPathComponent("old-manifest.json")
        try WireCoding.encoder.encode(envelope).write(to: body)
        let posted = try runProgram("/usr/bin/curl", ["-sS", "--max-time", "30", "-H", "Authorization: Bearer \(enrolment.credential)",
                                                      "-H", "Content-Type: application/json", "--data-binary", "@\(body.path)",
                                                      "\(server.url)/v1/batches"], timeout: 60)
        let created = try WireCoding.decoder.decode(BatchCreated.self, from: Data(posted.stdout.utf8))
        try store.markOpened(batchId: try XCTUnwrap(batch.id), serverBatchId: created.batchId)

        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        XCTAssertEqual(try summary(result)["receipted"] as? Int, count)
        XCTAssertNil(try store.batch(id: try XCTUnwrap(batch.id))?.manifestPayload, "no manifest is kept that the server never saw")
        XCTAssertEqual(try fieldgate(["receipts"]).status, 0)
    }

    func testTheSameBlobFromAnotherGatewayIsNotSentAgain() throws {
        try enroll("team-1")
        _ = try collectSample()
        XCTAssertEqual(try fieldgate(["sync"]).status, 0)
        let received = try server.metric("fieldgate_upload_bytes_received_total")
        // A second gateway holding the same recordings (a copy handed in) sends none of their bytes.
        home = work.appendingPathComponent("gateway-2")
        try enroll("team-2")
        let count = try collectSample()
        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try summary(result)["alreadyHeld"] as? Int, count)
        XCTAssertEqual(try server.metric("fieldgate_upload_bytes_received_total"), received)
        XCTAssertEqual(try syncStatus().receipted, count)
    }

    func testParallelUploadsOfLargeAndSmallBlobsArriveIntactAndOnce() throws {
        try enroll()
        // Two blobs of several chunks, two that fit one request (creation-with-upload), the samples.
        let count = try collectSample(videos: 2, extra: [5 << 20, (3 << 20) + 17, 200_000, 1])
        let result = try fieldgate(["sync", "--json", "--parallel", "3", "--chunk-size", "1M"])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        let summary = try summary(result)
        XCTAssertEqual(summary["receipted"] as? Int, count)
        XCTAssertEqual(summary["uploaded"] as? Int, count)
        let store = try EvidenceStore(home: home)
        let recordings = try store.recordings()
        for recording in recordings {
            let held = server.data.appendingPathComponent("blobs/sha256/\(recording.sha256.prefix(2))/\(recording.sha256)")
            XCTAssertEqual(try Data(contentsOf: held), try Data(contentsOf: store.blobs.path(of: recording.sha256)), recording.sourceName)
        }
        // Every byte crossed once: no chunk was sent twice, no upload written by two requests.
        let total = recordings.reduce(0) { $0 + Double($1.size) }
        XCTAssertEqual(try server.metric("fieldgate_upload_bytes_received_total"), total)
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)
    }

    func testParallelOutOfRangeIsRefusedBeforeAnythingIsSent() throws {
        try enroll()
        _ = try collectSample(videos: 1)
        let result = try fieldgate(["sync", "--parallel", "0"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--parallel"), result.stderr)
        XCTAssertEqual(try server.metric("fieldgate_upload_bytes_received_total"), 0)
        XCTAssertEqual(try syncStatus().receipted, 0)
    }

    func testAKilledSyncResumesWithoutResendingWhatArrived() throws {
        try enroll()
        let size = 24 << 20
        let count = try collectSample(videos: 1, extra: [size])
        // Slowly, in 1 MiB chunks, so the kill lands mid-upload.
        let process = Process()
        process.executableURL = builtBinary("fieldgate")
        process.arguments = ["sync", "--limit-rate", "4M", "--chunk-size", "1M", "--home", home.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let store = try EvidenceStore(home: home)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, (try store.database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(offset) FROM syncUpload") } ?? 0) < 4 << 20 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(process.isRunning, "the sync finished before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the kill, not the end of the sync, stopped it")
        // The store shows the upload in flight: its URL and an offset short of its length.
        let inFlight = try store.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM syncUpload WHERE offset >= ? AND offset < length", arguments: [4 << 20])
        }
        XCTAssertEqual(inFlight, 1, "one upload part-way, as the store keeps it")
        XCTAssertEqual(try syncStatus().receipted, 0)
        let before = try server.metric("fieldgate_upload_bytes_received_total")
        XCTAssertGreaterThan(before, Double(4 << 20))
        XCTAssertLessThan(before, Double(size))

        let result = try fieldgate(["sync", "--json", "--chunk-size", "1M"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try syncStatus().receipted, count)
        // Everything arrived once, but for at most the chunk in flight when the process died.
        let total = try store.recordings().reduce(0) { $0 + Double($1.size) }
        XCTAssertLessThanOrEqual(try server.metric("fieldgate_upload_bytes_received_total"), total + Double(1 << 20))
    }

    func testAServerKilledAndRestartedMidBatchIsResumed() throws {
        try enroll()
        let count = try collectSample(videos: 1, extra: [16 << 20])
        let process = Process()
        process.executableURL = builtBinary("fieldgate")
        process.arguments = ["sync", "--json", "--limit-rate", "4M", "--chunk-size", "1M", "--home", home.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let store = try EvidenceStore(home: home)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, (try store.database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(offset) FROM syncUpload") } ?? 0) < 2 << 20 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let port = server.port
        server.kill()
        // The server died under a sync still running, with part of the blob acknowledged.
        XCTAssertTrue(process.isRunning, "the sync finished before the server was killed")
        let acknowledged = try store.database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(offset) FROM syncUpload") } ?? 0
        XCTAssertGreaterThanOrEqual(acknowledged, 2 << 20)
        Thread.sleep(forTimeInterval: 1)
        try server.start(port: port)
        let output = Data(readUntil(out.fileHandleForReading, timeout: 120) { _ in false }.utf8)
        XCTAssertTrue(waitForExit(process, timeout: 30), "the sync did not end")
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: output, as: UTF8.self))
        XCTAssertEqual(try syncStatus().receipted, count)
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)
        // The restarted server (its counters start at 0) got what was left from the acknowledged offset on,
        // plus at most the chunk in flight when it died; not the blob again from its start.
        let total = try store.recordings().reduce(0) { $0 + Double($1.size) }
        let afterRestart = try server.metric("fieldgate_upload_bytes_received_total")
        XCTAssertLessThanOrEqual(afterRestart, total - Double(acknowledged) + Double(1 << 20))
        XCTAssertGreaterThan(afterRestart, 0)
    }

    func testACorruptedChunkIsRefusedWith460AndSentAgain() throws {
        let proxy = try CorruptingProxy(target: server.port)
        defer { proxy.stop() }
        try enroll(serverURL: proxy.url)
        let count = try collectSample(videos: 1, extra: [3 << 20])
        let result = try fieldgate(["sync", "--json", "--chunk-size", "1M"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertGreaterThanOrEqual(try server.metric("fieldgate_upload_chunks_rejected_total"), 1)
        XCTAssertEqual(try syncStatus().receipted, count)
        XCTAssertTrue(proxy.corrupted, "the proxy never flipped a byte")
    }

    func testABlobTamperedInTheGatewaysStoreIsRefusedAndNamed() throws {
        try enroll()
        let count = try collectSample()
        let store = try EvidenceStore(home: home)
        let victim = try XCTUnwrap(try store.recordings().first { $0.mediaType == .photo })
        let path = store.blobs.path(of: victim.sha256).path
        chmod(path, 0o644)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))

        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 2, result.stderr + result.stdout)
        let status = try syncStatus()
        XCTAssertEqual(status.refused, 1)
        XCTAssertEqual(status.receipted, count - 1)
        let waiting = try XCTUnwrap(status.waiting.first)
        XCTAssertEqual(waiting.sha256, victim.sha256)
        XCTAssertTrue(waiting.reason.contains("refused"), waiting.reason)
        let human = try fieldgate(["status"])
        XCTAssertTrue(human.stdout.contains(victim.sourceName), human.stdout)
        let audit = try fieldgate(["audit", "verify"])
        XCTAssertEqual(audit.status, 1)
        XCTAssertTrue((audit.stdout + audit.stderr).contains(victim.sha256), audit.stdout + audit.stderr)
        let kinds = try store.custodyEvents(recordingId: victim.id).map(\.kind)
        XCTAssertEqual(kinds.last, .uploadRefused)
    }

    func testARevokedGatewayIsRefusedAndNothingIsReceipted() throws {
        try enroll("team-9")
        _ = try collectSample()
        let revoke = try server.runServerCommand(["gateways", "revoke", "team-9", "--data", server.data.path])
        XCTAssertEqual(revoke.status, 0, revoke.stderr)
        let result = try fieldgate(["sync"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("the server refused this gateway: gateway team-9 has been revoked"), result.stderr)
        XCTAssertEqual(try syncStatus().receipted, 0)
    }

    func testAReceiptSignedByAnotherKeyIsRejected() throws {
        try enroll()
        _ = try collectSample()
        // Another server answering at the same address: same data, a new signing key.
        let port = server.port
        server.stop()
        try FileManager.default.removeItem(at: server.data.appendingPathComponent("server-key"))
        try server.start(port: port)
        let result = try fieldgate(["sync"])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stderr.contains("the server's answer cannot be trusted: the receipt for batch")
                      && result.stderr.contains("nothing was marked as receipted"), result.stderr)
        XCTAssertEqual(try syncStatus().receipted, 0)
        XCTAssertEqual(try EvidenceStore(home: home).custodyEvents().filter { $0.kind == .receipted }.count, 0)
    }

    func testAnUnreachableServerLeavesEverythingWaitingWithAReason() throws {
        try enroll()
        let count = try collectSample()
        server.stop()
        let result = try fieldgate(["sync", "--retries", "2"])
        XCTAssertEqual(result.status, 2, result.stderr)
        let status = try syncStatus()
        XCTAssertEqual(status.receipted, 0)
        XCTAssertEqual(status.pending + status.uploading, count)
        XCTAssertTrue(status.waiting.contains { $0.reason.contains("could not be reached") }, "\(status.waiting)")
    }

    func testEnrollingWithAWrongTokenIsAClearError() throws {
        _ = try server.addGateway("team-1")
        let result = try fieldgate(["enroll", "--server", server.url, "--token", "not-a-token"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("the server refused this gateway"), result.stderr)
        XCTAssertNil(try EvidenceStore(home: home).enrolment(), "a refused token enrols nothing")
        let sync = try fieldgate(["sync"])
        XCTAssertEqual(sync.status, 1)
        XCTAssertTrue(sync.stderr.contains("not enrolled"), sync.stderr)
    }

    func testSyncOverHTTPSWithTheBureausOwnCertificateAuthority() throws {
        server.stop()
        let certificate = work.appendingPathComponent("server.pem").path, key = work.appendingPathComponent("server.key").path
        let openssl = try runProgram("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate])
        XCTAssertEqual(openssl.status, 0, openssl.stderr)
        server = KillableServer(data: work.appendingPathComponent("tls-server"), tls: (certificate, key))
        try server.start(port: 0)
        // The server speaks TLS with that certificate: trusted with the CA, refused without it.
        let health = try runProgram("/usr/bin/curl", ["-sS", "--fail", "--cacert", certificate, server.url + "/healthz"])
        XCTAssertEqual(health.stdout, #"{"status":"ok"}"#, health.stderr)
        let untrustedCurl = try runProgram("/usr/bin/curl", ["-sS", "--fail", server.url + "/healthz"])
        XCTAssertEqual(untrustedCurl.status, 60, "curl: peer certificate cannot be authenticated; \(untrustedCurl.stderr)")

        // Without the bureau's CA the certificate is not trusted, and nothing is enrolled.
        let token = try server.addGateway("team-tls")
        let untrusted = try fieldgate(["enroll", "--server", server.url, "--token", token])
        XCTAssertEqual(untrusted.status, 1)
        XCTAssertTrue(untrusted.stderr.contains("--ca-cert"), untrusted.stderr)
        XCTAssertNil(try EvidenceStore(home: home).enrolment())

        let enrolled = try fieldgate(["enroll", "--server", server.url, "--token", token, "--ca-cert", certificate])
        XCTAssertEqual(enrolled.status, 0, enrolled.stderr)
        let count = try collectSample()
        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try syncStatus().receipted, count)
        XCTAssertEqual(try EvidenceStore(home: home).enrolment()?.serverURL, server.url)
        XCTAssertTrue(server.url.hasPrefix("https://127.0.0.1:"), server.url)
    }

    func testPrintoutsAndFingerprintsGoUpWithTheRecordings() throws {
        try enroll()
        let recordings = try collectSample()
        // Printed with `fieldgate print` on a pty printer and captured with `fingerprint capture` on
        // libfprint's virtual reader, as an officer would on the spot.
        let socket = work.appendingPathComponent("fp.sock").path
        func officer(_ arguments: [String]) throws -> CommandResult {
            let result = try runProgram(builtBinary("fieldgate").path, arguments + ["--home", home.path], environment: ["FP_VIRTUAL_IMAGE": socket])
            XCTAssertEqual(result.status, 0, result.stderr)
            return result
        }
        _ = try officer(["cases", "import", repositoryRoot.appendingPathComponent("seeds/cases.csv").path])
        let pty = try PseudoTerminal()
        pty.startReading()
        _ = try officer(["printers", "add", "bt1", "--path", pty.path])
        let printed = try summary(try officer(["print", "--template", "parking-notice", "--printer", "bt1", "--json", "--data",
                                               repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json").path]))
        let printoutSha = try XCTUnwrap(printed["sha256"] as? String)
        let image = VirtualFingerprint.image(seed: 11)
        let pressed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = VirtualFingerprint.press(.finger(image), socketPath: socket)
            pressed.signal()
        }
        let captured = try summary(try officer(["fingerprint", "capture", "--case", "杭城管简〔2024〕0002号", "--document",
                                                "杭城管停〔2024〕000123号", "--person", "王某某", "--json"]))
        XCTAssertEqual(pressed.wait(timeout: .now() + 60), .success, "the finger was never pressed")
        let fingerprintSha = try XCTUnwrap(captured["sha256"] as? String)
        let store = try EvidenceStore(home: home)

        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let status = try syncStatus()
        XCTAssertEqual(status.receipted, recordings + 2)
        XCTAssertEqual(status.receiptedByKind["printout"], 1)
        XCTAssertEqual(status.receiptedByKind["fingerprint"], 1)
        XCTAssertEqual(status.retainedOnline, 1)

        // The server holds the printout with its case, document and custody.
        let credential = try XCTUnwrap(try store.enrolment()?.credential)
        let fetched = try runProgram("/usr/bin/curl",
                                    ["-sS", "--fail", "-H", "Authorization: Bearer \(credential)", server.url + "/v1/evidence/" + printoutSha])
        XCTAssertEqual(fetched.status, 0, fetched.stderr)
        let evidence = try JSONDecoder().decode(EvidenceRecordView.self, from: Data(fetched.stdout.utf8))
        XCTAssertEqual(evidence.entries.first?.kind, "printout")
        XCTAssertEqual(evidence.entries.first?.metadata["case"], "杭城管简〔2024〕0002号")
        XCTAssertEqual(evidence.entries.first?.custody.map(\.kind), ["printed"], "the custody as the manifest carried it")
        let kinds = try store.custodyEvents().filter { $0.sha256 == fingerprintSha }.map(\.kind)
        XCTAssertEqual(kinds, [.fingerprintCaptured, .uploaded, .receipted])
        // The server holds exactly the bytes the printer got and the image the finger pressed.
        let held = { (sha: String) in try Data(contentsOf: self.server.data.appendingPathComponent("blobs/sha256/\(sha.prefix(2))/\(sha)")) }
        let printoutBytes = [UInt8](try held(printoutSha))
        XCTAssertEqual(printoutBytes, pty.waitForBytes(printoutBytes.count))
        XCTAssertEqual([UInt8](try held(fingerprintSha)), VirtualFingerprint.pgm(image))
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)
    }
}

/// The parts of `GET /v1/evidence/{sha256}` the tests read.
struct EvidenceRecordView: Decodable {
    struct Entry: Decodable {
        struct Event: Decodable { var kind: String }
        var kind: String
        var metadata: [String: String]
        var custody: [Event]
    }
    var entries: [Entry]
}
