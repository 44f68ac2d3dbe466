import Foundation
import Server
import SyncProtocol
import XCTest

/// Per-gateway quotas, and abandoned uploads expiring on a clock the test moves.
final class QuotaTests: ServerTestCase {
    private func tryCreate(_ gateway: TestGateway, length: Int) async throws -> HTTPAnswer {
        try await send("POST", "/v1/uploads", headers: gateway.tus + [
            ("Upload-Length", String(length)), ("Upload-Metadata", Tus.encodeMetadata(["sha256": Self.sha256(Self.randomBlob(8))]))])
    }

    func testUploadsInFlightAreCappedPerGatewayAndAFinishedOneMakesRoom() async throws {
        quotas.uploadsInFlight = 2
        try await restartServer()
        let gateway = try await enrol("g1"), other = try await enrol("g2")
        let blob = Self.randomBlob(2000)
        let first = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        _ = try await createUpload(gateway, length: 100, sha256: Self.sha256(Self.randomBlob(100)))
        let refused = try await tryCreate(gateway, length: 100)
        XCTAssertEqual(refused.status, 429, refused.errorReason ?? "")
        XCTAssertTrue(refused.errorReason?.contains("2 uploads in flight") == true, refused.errorReason ?? "")
        let otherGateways = try await tryCreate(other, length: 100)
        XCTAssertEqual(otherGateways.status, 201, "another gateway's quota is its own")
        let finished = try await patch(gateway, first, offset: 0, blob)
        XCTAssertEqual(finished.status, 204)
        let afterFinishing = try await tryCreate(gateway, length: 100)
        XCTAssertEqual(afterFinishing.status, 201)
    }

    func testDeclaredBytesInFlightAreCappedPerGateway() async throws {
        quotas.bytesInFlight = 1000
        try await restartServer()
        let gateway = try await enrol("g1")
        let first = try await tryCreate(gateway, length: 600)
        XCTAssertEqual(first.status, 201)
        let refused = try await tryCreate(gateway, length: 500)
        XCTAssertEqual(refused.status, 429)
        XCTAssertTrue(refused.errorReason?.contains("quota of 1000") == true, refused.errorReason ?? "")
        let fitting = try await tryCreate(gateway, length: 400)
        XCTAssertEqual(fitting.status, 201)
    }

    func testAManifestWithTooManyItemsOrTooMuchMetadataIsRefusedAndNamed() async throws {
        quotas.itemsPerManifest = 3
        quotas.metadataBytesPerItem = 100
        try await restartServer()
        let gateway = try await enrol("g1")
        let many = try await postManifest(gateway, items: (0..<4).map { _ in item(Self.randomBlob(10)) })
        XCTAssertEqual(many.status, 413)
        XCTAssertTrue(many.errorReason?.contains("4 items; at most 3") == true, many.errorReason ?? "")
        let wordy = try await postManifest(gateway, items: [item(Self.randomBlob(10)),
                                                            item(Self.randomBlob(10), metadata: ["note": String(repeating: "x", count: 200)])])
        XCTAssertEqual(wordy.status, 400)
        XCTAssertTrue(wordy.errorReason?.contains("items[1].metadata is 204 bytes; at most 100") == true, wordy.errorReason ?? "")
    }

    func testAbandonedUploadsExpireWithTheirPartFilesAndCompletedRowsArePruned() async throws {
        let gateway = try await enrol("g1")
        let abandonedBlob = Self.randomBlob(5000), activeBlob = Self.randomBlob(5000), doneBlob = Self.randomBlob(3000)
        let abandoned = try await createUpload(gateway, length: abandonedBlob.count, sha256: Self.sha256(abandonedBlob))
        // Staging with no row, as a crash between the two leaves it: a part file of an older
        // server, or on S3 a multipart upload whose row was never written.
        try await leaveStagingWithoutARow("orphan")
        let abandonedChunk = try await patch(gateway, abandoned, offset: 0, abandonedBlob.prefix(1000))
        XCTAssertEqual(abandonedChunk.status, 204)
        let active = try await createUpload(gateway, length: activeBlob.count, sha256: Self.sha256(activeBlob))
        try await upload(gateway, doneBlob)
        clock.advance(by: 6 * 86_400)
        let activeChunk = try await patch(gateway, active, offset: 0, activeBlob.prefix(1000))
        XCTAssertEqual(activeChunk.status, 204, "written to on day 6")
        let daySix = try await running.server.sweep()
        XCTAssertEqual(daySix, SweepSummary(expiredUploads: 0, prunedUploads: 1),
                       "nothing abandoned for 7 days yet; the completed row, a day old, pruned")
        clock.advance(by: 1.5 * 86_400)
        let dayEight = try await running.server.sweep()
        XCTAssertEqual(dayEight, SweepSummary(expiredUploads: 1, prunedUploads: 0, orphanedParts: 1))
        var staged = try await stagedUploads()
        XCTAssertFalse(staged.contains("orphan"), "\(staged)")
        let abandonedHead = try await send("HEAD", abandoned, headers: gateway.tus)
        XCTAssertEqual(abandonedHead.status, 404)
        let abandonedId = String(abandoned.split(separator: "/").last!)
        staged = try await stagedUploads()
        XCTAssertFalse(staged.contains(abandonedId), "the abandoned upload's bytes went with it: \(staged)")
        let activeHead = try await send("HEAD", active, headers: gateway.tus)
        XCTAssertEqual(activeHead.header("Upload-Offset"), "1000")
        XCTAssertEqual(try storedBlob(Self.sha256(doneBlob)), doneBlob, "the blob stays; only the upload's row went")
    }
}
