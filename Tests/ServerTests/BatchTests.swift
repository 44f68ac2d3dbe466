import Crypto
import Foundation
import Server
import SyncProtocol
import XCTest

final class BatchTests: ServerTestCase {
    func testManifestWithBadSignatureIs401() async throws {
        let gateway = try await enrol("g1")
        let answer = try await postManifest(gateway, items: [item(Data("x".utf8))], signingKey: Curve25519.Signing.PrivateKey())
        XCTAssertEqual(answer.status, 401)
        XCTAssertTrue(answer.errorReason?.contains("manifest signature does not verify") == true, answer.errorReason ?? "")
    }

    func testManifestForAnotherGatewayIs403() async throws {
        let gateway = try await enrol("g1")
        let manifest = BatchManifest(batchKey: "k", gatewayId: "someone-else", createdAt: "2026-11-25T10:00:00.000Z", items: [])
        let answer = try await sendJSON("POST", "/v1/batches", try SignedEnvelope.seal(manifest, with: gateway.key), headers: gateway.bearer)
        XCTAssertEqual(answer.status, 403)
    }

    func testInvalidItemsAreNamed() async throws {
        let gateway = try await enrol("g1")
        var bad = item(Data("x".utf8))
        bad.sha256 = "ABC"
        bad.size = -1
        bad.kind = ""
        let answer = try await postManifest(gateway, items: [item(Data("ok".utf8)), bad])
        XCTAssertEqual(answer.status, 400)
        let reason = try XCTUnwrap(answer.errorReason)
        for field in ["items[1].sha256", "items[1].size", "items[1].kind"] { XCTAssertTrue(reason.contains(field), reason) }
    }

    /// A NUL in any name is refused by field (PostgreSQL could not store it: once a 500 there),
    /// and the batch key stays free.
    func testNULCharactersInAManifestAreRefusedByFieldOnEveryBackend() async throws {
        let gateway = try await enrol("g1")
        var bad = item(Data("x".utf8))
        bad.kind = "recording\u{0}"
        bad.metadata["officer"] = "010203\u{0}; DROP TABLE batch"
        bad.metadata["ca\u{0}se"] = "A-1"
        let answer = try await postManifest(gateway, items: [item(Data("ok".utf8)), bad], batchKey: "k\u{0}nul")
        XCTAssertEqual(answer.status, 400)
        let reason = try XCTUnwrap(answer.errorReason)
        for field in ["batchKey holds a NUL", "items[1].kind holds a NUL", "items[1].metadata[officer] holds a NUL",
                      "items[1].metadata[ca\\0se] holds a NUL"] {
            XCTAssertTrue(reason.contains(field), "\(field) not named in: \(reason)")
        }
        let again = try await postManifest(gateway, items: [item(Data("x".utf8))], batchKey: "k\u{0}nul")
        XCTAssertEqual(again.status, 400)
        let clean = try await postManifest(gateway, items: [item(Data("x".utf8))], batchKey: "k-nul")
        XCTAssertEqual(clean.status, 201)
    }

    /// Custody kinds are a closed set on both sides: a manifest naming one the server does not
    /// know is refused whole, and its batch key stays free.
    func testACustodyEventOfAnUnknownKindIsRefusedAndNothingIsStored() async throws {
        let gateway = try await enrol("g1")
        let manifest = BatchManifest(batchKey: "k-unknown", gatewayId: gateway.id, createdAt: "2026-11-25T10:00:00.000Z",
                                     items: [item(Data("x".utf8))])
        let text = String(decoding: try WireCoding.encoder.encode(manifest), as: UTF8.self)
        XCTAssertTrue(text.contains(#""kind":"collected""#), text)
        let forged = Data(text.replacingOccurrences(of: #""kind":"collected""#, with: #""kind":"teleported""#).utf8)
        let envelope = SignedEnvelope(payload: forged.base64EncodedString(), signature: try gateway.key.signature(for: forged).base64EncodedString())
        let answer = try await sendJSON("POST", "/v1/batches", envelope, headers: gateway.bearer)
        XCTAssertEqual(answer.status, 400)
        XCTAssertNotNil(answer.errorReason)
        let created = try await postManifest(gateway, items: [item(Data("x".utf8))], batchKey: "k-unknown")
        XCTAssertEqual(created.status, 201, "the refused manifest left no batch behind")
    }

    func testMalformedAndOversizedBodies() async throws {
        let gateway = try await enrol("g1")
        let malformed = try await send("POST", "/v1/batches", headers: gateway.bearer, body: Data("[1,2".utf8))
        XCTAssertEqual(malformed.status, 400)
        XCTAssertNotNil(malformed.errorReason)
        let notSigned = try await sendJSON("POST", "/v1/batches", ["payload": "%%%", "signature": "%%%"], headers: gateway.bearer)
        XCTAssertEqual(notSigned.status, 400)
        let oversized = try await send("POST", "/v1/batches", headers: gateway.bearer, body: Data(count: (32 << 20) + 1))
        XCTAssertEqual(oversized.status, 413)
        XCTAssertNotNil(oversized.errorReason)
        let badHash = try await send("GET", "/v1/evidence/not-a-hash", headers: gateway.bearer)
        XCTAssertEqual(badHash.status, 400)
        XCTAssertNotNil(badHash.errorReason)
    }

    func testSameBatchKeyReturnsSameBatch() async throws {
        let gateway = try await enrol("g1")
        let blob = Data("clip".utf8)
        let first = try await postManifest(gateway, items: [item(blob), item(blob)], batchKey: "key-1")
        XCTAssertEqual(first.status, 201)
        let created = try first.decode(BatchCreated.self)
        XCTAssertEqual(created.missing, [Self.sha256(blob)])
        XCTAssertEqual(created.state, "open")
        try await upload(gateway, blob)
        let again = try await postManifest(gateway, items: [item(blob)], batchKey: "key-1")
        XCTAssertEqual(again.status, 200)
        let repeated = try again.decode(BatchCreated.self)
        XCTAssertEqual(repeated.batchId, created.batchId)
        XCTAssertEqual(repeated.missing, [])
    }

    /// Another gateway's blob stays missing for this one until it proves it holds it (see
    /// PossessionTests): the answer does not tell what other gateways sent.
    func testBlobsHeldFromAnotherGatewayAreMissingUntilThisOneDeliversThem() async throws {
        let first = try await enrol("g1"), second = try await enrol("g2")
        let shared = Data("same recording on two gateways".utf8), own = Data("only the second".utf8)
        try await upload(first, shared)
        let answer = try await postManifest(second, items: [item(shared), item(own)])
        XCTAssertEqual(try answer.decode(BatchCreated.self).missing, [Self.sha256(shared), Self.sha256(own)])
        let again = try await postManifest(first, items: [item(shared), item(own)])
        XCTAssertEqual(try again.decode(BatchCreated.self).missing, [Self.sha256(own)], "the gateway that uploaded it has delivered it")
    }

    func testCommitNeedsEveryBlobThenIssuesSignedReceipt() async throws {
        let gateway = try await enrol("g1")
        let a = Data("first blob".utf8), b = Data("second blob".utf8)
        let items = [item(a), item(b)]
        let created = try await postManifest(gateway, items: items, batchKey: "receipted-batch").decode(BatchCreated.self)
        // The manifest's bytes as the harness signed them (the wire's encoder is deterministic).
        let manifest = BatchManifest(batchKey: "receipted-batch", gatewayId: gateway.id, createdAt: "2026-11-25T10:00:00.000Z", items: items)
        let manifestBytes = try WireCoding.encoder.encode(manifest)
        try await upload(gateway, a)
        let early = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(early.status, 409)
        XCTAssertTrue(early.errorReason?.contains(Self.sha256(b)) == true, early.errorReason ?? "")
        XCTAssertFalse(early.errorReason?.contains(Self.sha256(a)) == true)
        let open = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(open.state, "open")
        XCTAssertEqual(open.missing, [Self.sha256(b)])

        try await upload(gateway, b)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let envelope = try commit.decode(SignedEnvelope.self)
        let receipt = try envelope.open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.batchId, created.batchId)
        XCTAssertEqual(receipt.gatewayId, gateway.id)
        // Version 2: the receipt names the manifest as sent and each item's last custody event.
        XCTAssertEqual(receipt.version, .v2)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(a), Self.sha256(b)])
        XCTAssertEqual(receipt.items.map(\.size), [Int64(a.count), Int64(b.count)])
        XCTAssertEqual(receipt.items.map(\.lastCustodyHash), manifest.items.map { $0.custody.last?.hash })
        XCTAssertEqual(receipt.manifestSha256, SHA256.hash(data: manifestBytes).map { String(format: "%02x", $0) }.joined())
        XCTAssertNoThrow(try WireCoding.timestampFormat.parse(receipt.serverTime))
        let again = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(again.body, commit.body)
        let committed = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(committed.state, "committed")
    }

    func testWithdrawnItemsAreLeftOutOfTheReceipt() async throws {
        let gateway = try await enrol("g1")
        let delivered = Data("delivered".utf8), failed = Data("failed verification on the gateway".utf8)
        let created = try await postManifest(gateway, items: [item(delivered), item(failed)]).decode(BatchCreated.self)
        try await upload(gateway, delivered)
        let stranger = try await sendJSON("POST", "/v1/batches/\(created.batchId)/commit",
                                          ["withdraw": [String(repeating: "e", count: 64)]], headers: gateway.bearer)
        XCTAssertEqual(stranger.status, 400)
        let oversized = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer,
                                       body: Data(count: (1 << 20) + 1))
        XCTAssertEqual(oversized.status, 413)
        let commit = try await sendJSON("POST", "/v1/batches/\(created.batchId)/commit", ["withdraw": [Self.sha256(failed)]],
                                        headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(delivered)])
        let withdrawn = try await send("GET", "/v1/evidence/\(Self.sha256(failed))", headers: gateway.bearer)
        XCTAssertEqual(withdrawn.status, 404)
        let batch = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(batch.state, "committed")
        XCTAssertEqual(batch.missing, [])
    }

    func testEvidenceRecordHasMetadataAndCustody() async throws {
        let gateway = try await enrol("g1"), other = try await enrol("g2")
        let blob = Data("recording bytes".utf8)
        let sent = item(blob, kind: "recording", metadata: ["camera": "CAM-7", "officer": "1234"])
        let created = try await postManifest(gateway, items: [sent]).decode(BatchCreated.self)
        let notYet = try await send("GET", "/v1/evidence/\(Self.sha256(blob))", headers: gateway.bearer)
        XCTAssertEqual(notYet.status, 404)
        try await upload(gateway, blob)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200)
        let answer = try await send("GET", "/v1/evidence/\(Self.sha256(blob))", headers: gateway.bearer)
        XCTAssertEqual(answer.status, 200, answer.errorReason ?? "")
        let record = try answer.decode(EvidenceRecord.self)
        XCTAssertEqual(record.size, Int64(blob.count))
        XCTAssertEqual(record.entries.count, 1)
        XCTAssertEqual(record.entries.first?.batchId, created.batchId)
        XCTAssertEqual(record.entries.first?.metadata, sent.metadata)
        XCTAssertEqual(record.entries.first?.custody, sent.custody)
        XCTAssertEqual(record.entries.first?.kind, "recording")
        let foreign = try await send("GET", "/v1/evidence/\(Self.sha256(blob))", headers: other.bearer)
        XCTAssertEqual(foreign.status, 404)
    }

    func testAnotherGatewaysBatchIsNotFound() async throws {
        let owner = try await enrol("owner"), intruder = try await enrol("intruder")
        let created = try await postManifest(owner, items: [item(Data("x".utf8))]).decode(BatchCreated.self)
        let read = try await send("GET", "/v1/batches/\(created.batchId)", headers: intruder.bearer)
        XCTAssertEqual(read.status, 404)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: intruder.bearer)
        XCTAssertEqual(commit.status, 404)
        let unknown = try await send("GET", "/v1/batches/no-such-batch", headers: owner.bearer)
        XCTAssertEqual(unknown.status, 404)
        XCTAssertNotNil(unknown.errorReason)
    }
}
