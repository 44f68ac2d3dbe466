import Crypto
import Evidence
import Foundation
import GRDB
import Store
import Sync
import SyncProtocol
import TestSupport
import XCTest

/// Receipts v2 cover the manifest (metadata and custody) they answer; v1 receipts still verify.
final class ReceiptVersionTests: XCTestCase {
    let serverKey = Curve25519.Signing.PrivateKey()
    let blob = String(repeating: "ab", count: 32)

    func custodyEvent(_ seq: Int64) -> CustodyEvent {
        var event = CustodyEvent(seq: seq, at: "2026-11-25T10:00:00.000Z", kind: .collected, cameraSerial: "A123456", recordingId: 1,
                                 sha256: blob, details: "{}", previousHash: CustodyEvent.genesisHash, hash: "")
        event.hash = event.computedHash()
        return event
    }

    func manifestPayload() throws -> (Data, BatchManifest) {
        let manifest = BatchManifest(batchKey: "key-1", gatewayId: "g1", createdAt: "2026-11-25T10:00:00.000Z", items: [
            ManifestItem(sha256: blob, size: 3, kind: "recording", metadata: ["officer": "100001"], custody: [custodyEvent(1)])])
        return (try WireCoding.encoder.encode(manifest), manifest)
    }

    /// A store enrolled with `serverKey`, holding one committed batch with this receipt and manifest.
    func store(receipt: Data, manifest: Data?) throws -> EvidenceStore {
        let store = try EvidenceStore(home: try temporaryFolder(self))
        try store.save(enrolment: SyncEnrolment(serverURL: "http://127.0.0.1:1", gatewayId: "g1", gatewayName: "team-1", credential: "c",
                                                serverPublicKey: serverKey.publicKey.rawRepresentation.base64EncodedString(),
                                                gatewayPrivateKey: Curve25519.Signing.PrivateKey().rawRepresentation,
                                                caCertificatePEM: nil, enrolledAt: Date()))
        let signature = try serverKey.signature(for: receipt).base64EncodedString()
        try store.database.write { db in
            try db.execute(sql: """
                INSERT INTO syncBatch (batchKey, serverBatchId, state, createdAt, receiptPayload, receiptSignature, serverTime, manifestPayload)
                VALUES ('key-1', 'b1', 'committed', ?, ?, ?, '2026-11-25T10:00:01.000Z', ?)
                """, arguments: [Date(), receipt, signature, manifest])
        }
        return store
    }

    func testAV1ReceiptAsOldServersSignedItStillVerifies() throws {
        // Byte for byte what a server before receipts v2 signed.
        let v1 = Data(#"{"batchId":"b1","batchKey":"key-1","gatewayId":"g1","items":[{"sha256":"\#(blob)","size":3}],"serverTime":"2026-11-25T10:00:01.000Z"}"#.utf8)
        let receipt = try WireCoding.decoder.decode(Receipt.self, from: v1)
        XCTAssertEqual(receipt.version, .v1)
        XCTAssertNil(receipt.manifestSha256)
        XCTAssertEqual(try WireCoding.encoder.encode(receipt), v1, "a v1 receipt re-encodes to the bytes signed")
        let (payload, manifest) = try manifestPayload()
        XCTAssertNil(receipt.problem(answering: payload, manifest: manifest))

        let checked = try CheckedReceipt.all(in: try store(receipt: v1, manifest: payload))
        XCTAssertEqual(checked.map(\.verified), [true], "\(checked)")
        XCTAssertEqual(checked.first?.version, 1)
    }

    func testAV2ReceiptMustNameTheKeptManifestAndEachItemsLastCustodyEvent() throws {
        let (payload, manifest) = try manifestPayload()
        let good = Receipt(version: .v2, batchId: "b1", batchKey: "key-1", gatewayId: "g1",
                           manifestSha256: SHA256.hash(data: payload).hexString,
                           items: [.init(sha256: blob, size: 3, lastCustodyHash: manifest.items[0].custody.last?.hash)],
                           serverTime: "2026-11-25T10:00:01.000Z")
        let goodBytes = try WireCoding.encoder.encode(good)
        XCTAssertEqual(try WireCoding.decoder.decode(Receipt.self, from: goodBytes), good)
        XCTAssertEqual(try CheckedReceipt.all(in: try store(receipt: goodBytes, manifest: payload)).map(\.verified), [true])

        // A manifest with one byte changed (its metadata, say) is not the one receipted.
        var altered = payload
        let at = try XCTUnwrap(altered.firstRange(of: Data("100001".utf8))).upperBound - 1
        altered[at] = UInt8(ascii: "2")
        let wrongManifest = try CheckedReceipt.all(in: try store(receipt: goodBytes, manifest: altered))
        XCTAssertEqual(wrongManifest.map(\.verified), [false])
        XCTAssertTrue(wrongManifest.first?.problem?.contains("answers manifest") == true, "\(wrongManifest)")

        var otherCustody = good
        otherCustody.items[0].lastCustodyHash = custodyEvent(2).hash
        let problem = otherCustody.problem(answering: payload, manifest: manifest)
        XCTAssertTrue(problem?.contains("last custody event") == true, problem ?? "accepted")

        var stranger = good
        stranger.items.append(.init(sha256: String(repeating: "cd", count: 32), size: 1))
        XCTAssertTrue(stranger.problem(answering: payload, manifest: manifest)?.contains("does not list") == true)

        // A v2 receipt without a manifest hash is not a v2 receipt.
        let noHash = Data(#"{"version":2,"batchId":"b1","batchKey":"key-1","gatewayId":"g1","items":[],"serverTime":"t"}"#.utf8)
        XCTAssertThrowsError(try WireCoding.decoder.decode(Receipt.self, from: noHash))
    }
}
