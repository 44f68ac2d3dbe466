import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Completing an upload is idempotent and recoverable: an upload whose bytes all arrived but
/// whose blob was never recorded (a crash came between) is completed at start, on HEAD and on
/// commit; and a receipt signs only sizes that were checked.
final class CrashSafeCompletionTests: ServerTestCase {
    func testAServerKilledAfterTheLastChunkCompletesTheUploadWhenItStartsAgain() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(60_000)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        try await switchToChildProcess(environment: [FaultPoint.environmentVariable: "offset-recorded@1"])
        let server = try XCTUnwrap(child)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        _ = try? await patch(gateway, location, offset: 0, blob)
        XCTAssertTrue(server.waitForDeath(timeout: 10), "the server died after recording the last offset")
        if case .s3 = blobs {
            // A small upload's finishing chunk puts the verified whole at its blob key before
            // the offset is recorded; the blob is not recorded, nor the upload complete.
            XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        } else {
            XCTAssertNil(try storedBlob(Self.sha256(blob)), "the blob was not yet stored")
        }

        server.environment = [:]
        try server.start(port: server.port)
        let batch = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [], "completed at start, before any request")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
    }

    /// The state another server instance leaves when it dies after the last chunk's offset: every
    /// byte in the part file and the offset at the length, but no blob.
    private func leaveUploadAwaitingCompletion(_ gateway: TestGateway, _ blob: Data, damaged: Bool = false) async throws -> String {
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, location, offset: 0, blob.prefix(blob.count - 1000))
        XCTAssertEqual(first.status, 204, first.errorReason ?? "")
        let uploadId = String(location.split(separator: "/").last!)
        var whole = blob
        if damaged { whole[blob.count - 1000] ^= 0xFF }
        try await stageBehindTheServer(uploadId, allOf: whole, sha256: Self.sha256(blob), after: blob.count - 1000)
        XCTAssertTrue(uploadId.allSatisfy { $0.isHexDigit || $0 == "-" }, uploadId)
        try await executeBehindTheServer(sqlite: "UPDATE upload SET offset = length WHERE id = '\(uploadId)'",
                                         postgresql: "UPDATE upload SET upload_offset = length WHERE id = '\(uploadId)'")
        return location
    }

    func testHEADCompletesAnUploadWhoseBytesAllArrivedButWhoseBlobWasNeverRecorded() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let location = try await leaveUploadAwaitingCompletion(gateway, blob)
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Upload-Offset"), String(blob.count))
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob, "HEAD completed the upload")
        let batch = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [])
    }

    func testHEADDiscardsAnInterruptedUploadWhoseBytesDoNotMatchSoTheGatewayStartsAfresh() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let location = try await leaveUploadAwaitingCompletion(gateway, blob, damaged: true)
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.status, 404, "gone: the client starts a new upload")
        XCTAssertFalse(try storedBlob(Self.sha256(blob)) != nil)
        try await upload(gateway, blob)
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testTheCommitCompletesAnInterruptedUploadOfTheBatch() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(created.missing, [Self.sha256(blob)])
        _ = try await leaveUploadAwaitingCompletion(gateway, blob)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(blob)])
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testACommitWhoseItemDeclaresAnotherSizeThanItsBlobIsRefusedAndNamesIt() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(30_000)
        try await upload(gateway, blob)
        var wrong = item(blob)
        wrong.size = 999_999_999
        let created = try await postManifest(gateway, items: [item(Self.randomBlob(10)), wrong]).decode(BatchCreated.self)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer,
                                    body: try WireCoding.encoder.encode(CommitRequest(withdraw: [created.missing[0]])))
        XCTAssertEqual(commit.status, 422, commit.errorReason ?? "")
        let reason = try XCTUnwrap(commit.errorReason)
        XCTAssertTrue(reason.contains("items[1]") && reason.contains(Self.sha256(blob)) && reason.contains("999999999"), reason)
        let batch = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(batch.state, "open", "nothing was committed")
    }
}

/// A failure the client cannot help answers a plain reason and a request id; the detail (paths,
/// system errors) goes to the log only, and no part file or upload row is left half-made.
final class InternalErrorTests: ServerTestCase {
    /// The failure is made by breaking the data folder's uploads/, so blobs stay there.
    override class var blobBackend: TestBlobBackend { .folder }

    func testA5xxNamesARequestIdAndLeaksNoPathAndLeavesNoUploadBehind() async throws {
        let gateway = try await enrol("g1")
        // The part files' folder is not a folder any more: creating the part file fails.
        let uploads = data.appendingPathComponent("uploads")
        try FileManager.default.removeItem(at: uploads)
        try Data("not a folder".utf8).write(to: uploads)
        let answer = try await send("POST", "/v1/uploads", headers: gateway.tus + [
            ("Upload-Length", "100"), ("Upload-Metadata", Tus.encodeMetadata(["sha256": String(repeating: "a", count: 64)]))])
        XCTAssertEqual(answer.status, 500)
        let reason = try XCTUnwrap(answer.errorReason)
        let requestId = try XCTUnwrap(answer.header("Request-Id"))
        XCTAssertTrue(reason.contains("request id \(requestId)"), reason)
        XCTAssertFalse(reason.contains(data.path) || reason.contains("uploads") || reason.contains("Not a directory"), reason)
        let rows = try await uploadRowCount()
        XCTAssertEqual(rows, 0, "no upload row without its part file")
    }
}
