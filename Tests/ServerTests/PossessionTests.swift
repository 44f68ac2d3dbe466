import Crypto
import Foundation
import SyncProtocol
import XCTest

/// A receipt names a blob another gateway uploaded only once this gateway proved it holds the
/// blob, and a batch's answer says nothing about what other gateways sent.
final class PossessionTests: ServerTestCase {
    private func proof(_ challenge: PossessionChallenge, _ blob: Data) throws -> String {
        var hasher = SHA256()
        hasher.update(data: try XCTUnwrap(Data(base64Encoded: challenge.nonce)))
        hasher.update(data: blob[Int(challenge.offset)..<Int(challenge.offset + challenge.length)])
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func prove(_ gateway: TestGateway, batch: String, _ proofs: [PossessionProofs.Proof]) async throws -> [String] {
        let answer = try await sendJSON("POST", "/v1/batches/\(batch)/possession", PossessionProofs(proofs: proofs), headers: gateway.bearer)
        XCTAssertEqual(answer.status, 200, answer.errorReason ?? "")
        return try answer.decode(PossessionAnswer.self).accepted
    }

    func testTheMissingListIsTheSameWhetherOrNotAnotherGatewayHoldsTheBlob() async throws {
        let first = try await enrol("g1"), second = try await enrol("g2")
        let theirs = Self.randomBlob(3000), nobodys = Self.randomBlob(3000)
        try await upload(first, theirs)
        let created = try await postManifest(second, items: [item(theirs), item(nobodys)]).decode(BatchCreated.self)
        XCTAssertEqual(created.missing, [Self.sha256(theirs), Self.sha256(nobodys)], "held by another gateway or by none: both missing")
        XCTAssertEqual(created.challenges.map(\.sha256), created.missing)
        XCTAssertEqual(created.challenges.map(\.length), [3000, 3000])
    }

    func testAHashOfAnotherGatewaysBlobWithoutProofIsNotReceipted() async throws {
        let first = try await enrol("g1"), second = try await enrol("g2")
        let blob = Self.randomBlob(5000)
        try await upload(first, blob)
        let created = try await postManifest(second, items: [item(blob)]).decode(BatchCreated.self)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: second.bearer)
        XCTAssertEqual(commit.status, 409, commit.errorReason ?? "")
        XCTAssertTrue(commit.errorReason?.contains(Self.sha256(blob)) == true, commit.errorReason ?? "")
    }

    func testAForgedChallengeAnswerIsNotAcceptedAndTheCommitNamesTheBlob() async throws {
        let first = try await enrol("g1"), second = try await enrol("g2")
        let blob = Self.randomBlob(5000)
        try await upload(first, blob)
        let created = try await postManifest(second, items: [item(blob)]).decode(BatchCreated.self)
        let challenge = try XCTUnwrap(created.challenges.first)
        // Without the bytes: the hash of the nonce and the blob's hash, or of another range.
        var wrongBytes = blob
        wrongBytes[Int(challenge.offset)] ^= 1
        let forged = [try proof(challenge, wrongBytes), String(repeating: "0", count: 64)]
        for answer in forged {
            let accepted = try await prove(second, batch: created.batchId, [.init(sha256: Self.sha256(blob), proof: answer)])
            XCTAssertEqual(accepted, [])
        }
        // A proof for another batch's challenge does not carry over either.
        let other = try await postManifest(second, items: [item(blob)]).decode(BatchCreated.self)
        let replayed = try await prove(second, batch: created.batchId,
                                       [.init(sha256: Self.sha256(blob), proof: try proof(try XCTUnwrap(other.challenges.first), blob))])
        XCTAssertEqual(replayed, [])
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: second.bearer)
        XCTAssertEqual(commit.status, 409)
        XCTAssertTrue(commit.errorReason?.contains(Self.sha256(blob)) == true, commit.errorReason ?? "")
    }

    func testARightAnswerCountsAsDeliveredAndTheReceiptNamesTheBlob() async throws {
        let first = try await enrol("g1"), second = try await enrol("g2")
        let blob = Self.randomBlob(3 << 20)
        try await upload(first, blob)
        let created = try await postManifest(second, items: [item(blob)]).decode(BatchCreated.self)
        let challenge = try XCTUnwrap(created.challenges.first)
        XCTAssertEqual(challenge.length, 1 << 20, "a range, not the whole blob")
        let accepted = try await prove(second, batch: created.batchId, [.init(sha256: Self.sha256(blob), proof: try proof(challenge, blob))])
        XCTAssertEqual(accepted, [Self.sha256(blob)])
        let again = try await send("GET", "/v1/batches/\(created.batchId)", headers: second.bearer).decode(BatchCreated.self)
        XCTAssertEqual(again.missing, [])
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: second.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: second.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(blob)])
    }

    func testAProofForABlobNobodyUploadedIsNotAccepted() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(4000)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        let accepted = try await prove(gateway, batch: created.batchId,
                                       [.init(sha256: Self.sha256(blob), proof: try proof(try XCTUnwrap(created.challenges.first), blob))])
        XCTAssertEqual(accepted, [], "the server cannot check it, so it is not accepted: upload it")
    }
}
