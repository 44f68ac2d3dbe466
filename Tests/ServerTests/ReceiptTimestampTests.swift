import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Receipts time-stamped by a real RFC 3161 authority on loopback (`openssl ts -reply`), each
/// token checked with `openssl ts -verify`, not with our code.
final class ReceiptTimestampTests: ServerTestCase {
    var authority: TestTimestampAuthority?

    override func tearDown() async throws {
        authority?.stop()
        try await super.tearDown()
    }

    /// Restarts the server asking `behaviour`'s authority, retrying every 0.2 s.
    func useAuthority(_ behaviour: TestTimestampAuthority.Behaviour = .honest) async throws -> TestTimestampAuthority {
        let started = try TestTimestampAuthority(folder: try temporaryFolder(self).appendingPathComponent("tsa"), behaviour: behaviour)
        // Teardown blocks run last registered first: the authority stops before its folder goes.
        addTeardownBlock { started.stop() }
        authority = started
        var configuration = TimestampAuthorityConfiguration(url: started.url, certificatesPEM: try String(contentsOf: started.caCertificate, encoding: .utf8))
        configuration.retryInterval = .milliseconds(200)
        configuration.maxRetryInterval = .milliseconds(400)
        timestampAuthority = configuration
        try await restartServer()
        return started
    }

    /// A committed batch of one blob, and its receipt's payload bytes.
    func commitABatch(_ gateway: TestGateway, key: String = UUID().uuidString) async throws -> (batchId: String, receipt: Data) {
        let blob = Self.randomBlob(2048)
        let created = try await postManifest(gateway, items: [item(blob)], batchKey: key).decode(BatchCreated.self)
        try await upload(gateway, blob)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let envelope = try commit.decode(SignedEnvelope.self)
        return (created.batchId, try XCTUnwrap(Data(base64Encoded: envelope.payload)))
    }

    /// Asks until the answer is granted or `timeout` passes; the last answer either way.
    func timestamp(of batchId: String, for gateway: TestGateway, until done: (ReceiptTimestampAnswer) -> Bool = { $0.state == .granted },
                   timeout: TimeInterval = 30) async throws -> ReceiptTimestampAnswer {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let answer = try await send("GET", "/v1/batches/\(batchId)/timestamp", headers: gateway.bearer)
            XCTAssertEqual(answer.status, 200, answer.errorReason ?? "")
            let decoded = try answer.decode(ReceiptTimestampAnswer.self)
            if done(decoded) || Date() > deadline { return decoded }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `openssl ts -verify` of `reply` over `receipt` with the authority's CA: its exit status and words.
    func opensslVerifies(_ reply: Data, over receipt: Data, authority: TestTimestampAuthority) throws -> (ok: Bool, said: String) {
        let folder = try temporaryFolder(self)
        let receiptFile = folder.appendingPathComponent("receipt.json"), replyFile = folder.appendingPathComponent("receipt.json.tsr")
        try receipt.write(to: receiptFile)
        try reply.write(to: replyFile)
        let verified = try runProgram("/usr/bin/openssl", ["ts", "-verify", "-data", receiptFile.path, "-in", replyFile.path,
                                                           "-CAfile", authority.caCertificate.path])
        return (verified.status == 0 && verified.stdout.contains("Verification: OK"), verified.stdout + verified.stderr)
    }

    func testEveryReceiptGetsATokenOpenSSLVerifiesAndItOutlivesARestart() async throws {
        let authority = try await useAuthority()
        let gateway = try await enrol("g1")
        let before = Date()
        let (batchId, receipt) = try await commitABatch(gateway)
        let answer = try await timestamp(of: batchId, for: gateway)
        XCTAssertEqual(answer.state, .granted, answer.reason ?? "")
        let reply = try XCTUnwrap(answer.reply.flatMap { Data(base64Encoded: $0) })
        let verified = try opensslVerifies(reply, over: receipt, authority: authority)
        XCTAssertTrue(verified.ok, verified.said)
        XCTAssertEqual(answer.authorityCertificates, try String(contentsOf: authority.caCertificate, encoding: .utf8))
        let stampedAt = try WireCoding.timestampFormat.parse(try XCTUnwrap(answer.stampedAt))
        XCTAssertEqual(stampedAt.timeIntervalSince1970, before.timeIntervalSince1970, accuracy: 120)
        // The token is the receipt's, not another's: over a changed receipt it fails.
        var altered = receipt
        altered[altered.startIndex + 2] ^= 0x20
        XCTAssertFalse(try opensslVerifies(reply, over: altered, authority: authority).ok)

        // Kept in the database: after a restart the same bytes come back, and no new token is asked for.
        authority.stop()
        try await restartServer()
        let again = try await timestamp(of: batchId, for: gateway, timeout: 0)
        XCTAssertEqual(again.state, .granted)
        XCTAssertEqual(again.reply, answer.reply)
    }

    func testAnAuthorityThatIsDownDelaysTheTokenButNeverTheReceipt() async throws {
        let authority = try await useAuthority(.downForFirst(3))
        let gateway = try await enrol("g1")
        let (batchId, receipt) = try await commitABatch(gateway)
        let pending = try await timestamp(of: batchId, for: gateway, until: { $0.reason?.contains("503") == true })
        XCTAssertEqual(pending.state, .pending)
        XCTAssertNil(pending.reply)
        XCTAssertTrue(pending.reason?.contains("503") == true, pending.reason ?? "no reason")
        let granted = try await timestamp(of: batchId, for: gateway)
        XCTAssertEqual(granted.state, .granted, granted.reason ?? "")
        XCTAssertTrue(try opensslVerifies(try XCTUnwrap(granted.reply.flatMap { Data(base64Encoded: $0) }), over: receipt,
                                          authority: authority).ok)
    }

    func testATokenOverAnotherHashIsNeverKept() async throws {
        _ = try await useAuthority(.wrongImprint)
        let gateway = try await enrol("g1")
        let (batchId, _) = try await commitABatch(gateway)
        let answer = try await timestamp(of: batchId, for: gateway, until: { $0.reason?.contains("another hash") == true })
        XCTAssertEqual(answer.state, .pending)
        XCTAssertTrue(answer.reason?.contains("stamps another hash than the one asked for") == true, answer.reason ?? "no reason")
        // Several rounds later it is still not kept.
        try await Task.sleep(for: .seconds(1))
        let later = try await timestamp(of: batchId, for: gateway, timeout: 0)
        XCTAssertEqual(later.state, .pending)
        XCTAssertNil(later.reply)
    }

    func testTheTimestampIsTheOwnersAndOnlyOfACommittedBatch() async throws {
        _ = try await useAuthority()
        let owner = try await enrol("g1"), stranger = try await enrol("g2")
        let (batchId, _) = try await commitABatch(owner)
        let foreign = try await send("GET", "/v1/batches/\(batchId)/timestamp", headers: stranger.bearer)
        XCTAssertEqual(foreign.status, 404)
        let anonymous = try await send("GET", "/v1/batches/\(batchId)/timestamp")
        XCTAssertEqual(anonymous.status, 401)
        let open = try await postManifest(owner, items: [item(Data("later".utf8))]).decode(BatchCreated.self)
        let uncommitted = try await send("GET", "/v1/batches/\(open.batchId)/timestamp", headers: owner.bearer)
        XCTAssertEqual(uncommitted.status, 409)
        XCTAssertTrue(uncommitted.errorReason?.contains("is not committed") == true, uncommitted.errorReason ?? "")
    }

    func testAServerWithoutAnAuthoritySaysSo() async throws {
        let gateway = try await enrol("g1")
        let (batchId, _) = try await commitABatch(gateway)
        let answer = try await send("GET", "/v1/batches/\(batchId)/timestamp", headers: gateway.bearer)
        XCTAssertEqual(answer.status, 404)
        XCTAssertTrue(answer.errorReason?.contains("does not time-stamp receipts") == true, answer.errorReason ?? "")
    }

    func testServeRefusesAnAuthorityWithoutItsCAOrACAFileWithoutCertificates() throws {
        let folder = try temporaryFolder(self)
        let alone = try runFieldgateServer(["serve", "--data", folder.path, "--port", "0", "--tsa-url", "http://127.0.0.1:9/"])
        XCTAssertNotEqual(alone.status, 0)
        XCTAssertTrue(alone.stderr.contains("give both --tsa-url and --tsa-ca-file"), alone.stderr)
        let notPEM = folder.appendingPathComponent("ca.pem")
        try Data("not a certificate".utf8).write(to: notPEM)
        let empty = try runFieldgateServer(["serve", "--data", folder.path, "--port", "0", "--tsa-url", "http://127.0.0.1:9/",
                                            "--tsa-ca-file", notPEM.path])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("holds no PEM certificate"), empty.stderr)
        let notHTTP = try runFieldgateServer(["serve", "--data", folder.path, "--port", "0", "--tsa-url", "ftp://tsa.example/",
                                              "--tsa-ca-file", notPEM.path])
        XCTAssertTrue(notHTTP.stderr.contains("must be an http:// or https:// URL"), notHTTP.stderr)
    }
}
