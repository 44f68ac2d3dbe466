import Crypto
import Foundation
import SyncProtocol
import XCTest

final class TusTests: ServerTestCase {
    func testOptionsDiscovery() async throws {
        let answer = try await send("OPTIONS", "/v1/uploads")
        XCTAssertEqual(answer.status, 204)
        XCTAssertEqual(answer.header("Tus-Version"), "1.0.0")
        XCTAssertEqual(answer.header("Tus-Resumable"), "1.0.0")
        XCTAssertEqual(answer.header("Tus-Extension"), "creation,creation-with-upload,checksum,termination")
        XCTAssertEqual(answer.header("Tus-Checksum-Algorithm"), "crc32c,sha1,sha256")
        XCTAssertEqual(answer.header("Tus-Max-Size"), String(maxUploadSize))
    }

    func testChunkedUploadWithChecksums() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(300_000)
        let hash = Self.sha256(blob)
        let location = try await createUpload(gateway, length: blob.count, sha256: hash)
        XCTAssertTrue(location.hasPrefix("/v1/uploads/"))
        let first = blob.prefix(100_000), second = blob[100_000..<200_000], third = blob.suffix(from: 200_000)

        let one = try await patch(gateway, location, offset: 0, Data(first), checksum: "sha256 " + Tus.ChecksumAlgorithm.sha256.digest(first))
        XCTAssertEqual(one.status, 204, one.errorReason ?? "")
        XCTAssertEqual(one.header("Upload-Offset"), "100000")
        XCTAssertEqual(one.header("Tus-Resumable"), "1.0.0")

        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Upload-Offset"), "100000")
        XCTAssertEqual(head.header("Upload-Length"), String(blob.count))
        XCTAssertEqual(head.header("Cache-Control"), "no-store")
        XCTAssertEqual(head.header("Upload-Metadata").flatMap(Tus.decodeMetadata)?["sha256"], hash)

        // A corrupted chunk: 460, nothing kept, the offset unchanged; the retry with the right bytes succeeds.
        var corrupted = Data(second)
        corrupted[corrupted.startIndex] ^= 0xff
        let bad = try await patch(gateway, location, offset: 100_000, corrupted, checksum: "sha1 " + Tus.ChecksumAlgorithm.sha1.digest(second))
        XCTAssertEqual(bad.status, 460)
        XCTAssertNotNil(bad.errorReason)
        let unchanged = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(unchanged.header("Upload-Offset"), "100000")
        let two = try await patch(gateway, location, offset: 100_000, Data(second), checksum: "sha1 " + Tus.ChecksumAlgorithm.sha1.digest(second))
        XCTAssertEqual(two.status, 204, two.errorReason ?? "")
        XCTAssertEqual(two.header("Upload-Offset"), "200000")

        let wrongOffset = try await patch(gateway, location, offset: 100_000, Data(third))
        XCTAssertEqual(wrongOffset.status, 409)
        // CRC-32C, the checksum the gateway prefers: a flipped bit is refused, the right bytes taken.
        var flipped = Data(third)
        flipped[flipped.startIndex + 500] ^= 0x01
        let badCRC = try await patch(gateway, location, offset: 200_000, flipped, checksum: "crc32c " + Tus.ChecksumAlgorithm.crc32c.digest(third))
        XCTAssertEqual(badCRC.status, 460)
        XCTAssertEqual(badCRC.header("Upload-Offset"), "200000")
        XCTAssertNotNil(wrongOffset.errorReason)

        let three = try await patch(gateway, location, offset: 200_000, Data(third), checksum: "crc32c " + Tus.ChecksumAlgorithm.crc32c.digest(third))
        XCTAssertEqual(three.status, 204, three.errorReason ?? "")
        XCTAssertEqual(three.header("Upload-Offset"), String(blob.count))
        XCTAssertEqual(try storedBlob(hash), blob)
        let done = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(done.header("Upload-Offset"), String(blob.count))
    }

    func testHeadersAndChecksumsAreChecked() async throws {
        let gateway = try await enrol("g1")
        let blob = Data("twelve bytes".utf8)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))

        let noVersion = try await send("HEAD", location, headers: gateway.bearer)
        XCTAssertEqual(noVersion.status, 412)
        XCTAssertEqual(noVersion.header("Tus-Version"), "1.0.0")

        let wrongType = try await send("PATCH", location, headers: gateway.tus + [("Content-Type", "application/json"), ("Upload-Offset", "0")],
                                       body: blob)
        XCTAssertEqual(wrongType.status, 415)
        let unsupported = try await patch(gateway, location, offset: 0, blob, checksum: "md5 " + Data(count: 16).base64EncodedString())
        XCTAssertEqual(unsupported.status, 400)
        let tooLong = try await patch(gateway, location, offset: 0, blob + Data("!".utf8))
        XCTAssertEqual(tooLong.status, 413)
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.header("Upload-Offset"), "0")

        let noLength = try await send("POST", "/v1/uploads", headers: gateway.tus + [("Upload-Metadata", Tus.encodeMetadata(["sha256": Self.sha256(blob)]))])
        XCTAssertEqual(noLength.status, 400)
        let noHash = try await send("POST", "/v1/uploads", headers: gateway.tus + [("Upload-Length", "3"),
                                                                                 ("Upload-Metadata", Tus.encodeMetadata(["filename": "a"]))])
        XCTAssertEqual(noHash.status, 400)
        XCTAssertTrue(noHash.errorReason?.contains("sha256") == true)
        let upperHash = try await send("POST", "/v1/uploads", headers: gateway.tus + [("Upload-Length", "3"),
                                                                                    ("Upload-Metadata", Tus.encodeMetadata(["sha256": Self.sha256(blob).uppercased()]))])
        XCTAssertEqual(upperHash.status, 400)
        let huge = try await send("POST", "/v1/uploads", headers: gateway.tus + [("Upload-Length", String(maxUploadSize + 1)),
                                                                               ("Upload-Metadata", Tus.encodeMetadata(["sha256": Self.sha256(blob)]))])
        XCTAssertEqual(huge.status, 413)
        XCTAssertEqual(huge.header("Tus-Resumable"), "1.0.0")
    }

    func testWholeBlobMismatchIs422AndNothingIsStored() async throws {
        let gateway = try await enrol("g1")
        let blob = Data("what was actually sent".utf8)
        let claimed = Self.sha256(Data("what the metadata promised".utf8))
        let location = try await createUpload(gateway, length: blob.count, sha256: claimed)
        let answer = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(answer.status, 422)
        XCTAssertEqual(answer.errorReason, "content does not match sha256 \(claimed) given in Upload-Metadata; upload discarded")
        XCTAssertFalse(try storedBlob(claimed) != nil)
        XCTAssertFalse(try storedBlob(Self.sha256(blob)) != nil)
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.status, 404)
    }

    func testDeleteRemovesTheUpload() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(1000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        _ = try await patch(gateway, location, offset: 0, blob.prefix(10))
        let deleted = try await send("DELETE", location, headers: gateway.tus)
        XCTAssertEqual(deleted.status, 204)
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.status, 404)
        let staged = try await stagedUploads()
        XCTAssertEqual(staged, [], "nothing of the upload is left staged")
    }

    func testAnotherGatewayCannotTouchAnUpload() async throws {
        let owner = try await enrol("owner"), intruder = try await enrol("intruder")
        let blob = Data("owner's".utf8)
        let location = try await createUpload(owner, length: blob.count, sha256: Self.sha256(blob))
        let head = try await send("HEAD", location, headers: intruder.tus)
        XCTAssertEqual(head.status, 404)
        let patch = try await patch(intruder, location, offset: 0, blob)
        XCTAssertEqual(patch.status, 404)
        let delete = try await send("DELETE", location, headers: intruder.tus)
        XCTAssertEqual(delete.status, 404)
        let stillThere = try await send("HEAD", location, headers: owner.tus)
        XCTAssertEqual(stillThere.status, 200)
    }

    func testRestartKeepsOffsetsAndBatches() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, location, offset: 0, blob.prefix(20_000))
        XCTAssertEqual(first.status, 204)

        try await restartServer()

        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.header("Upload-Offset"), "20000")
        let rest = try await patch(gateway, location, offset: 20_000, Data(blob.suffix(from: 20_000)))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        let batch = try await send("GET", "/v1/batches/\(created.batchId)", headers: gateway.bearer).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [])
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200)
        XCTAssertNoThrow(try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey))
    }

    func testAnAcknowledgedOffsetSurvivesTheServerKilledWithSIGKILL() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        try await switchToChildProcess()
        let server = try XCTUnwrap(child)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, location, offset: 0, blob.prefix(20_000))
        XCTAssertEqual(first.status, 204)
        XCTAssertEqual(first.header("Upload-Offset"), "20000")

        server.kill()
        try server.start(port: server.port)

        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.header("Upload-Offset"), "20000", "the acknowledged offset was durable before the 204")
        let rest = try await patch(gateway, location, offset: 20_000, Data(blob.suffix(from: 20_000)))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(blob)])
    }

    // MARK: creation-with-upload

    private func createWithUpload(_ gateway: TestGateway, length: Int, sha256: String, body: Data,
                                  checksum: String? = nil) async throws -> HTTPAnswer {
        var headers = gateway.tus + [("Upload-Length", String(length)), ("Upload-Metadata", Tus.encodeMetadata(["sha256": sha256])),
                                     ("Content-Type", "application/offset+octet-stream")]
        if let checksum { headers.append(("Upload-Checksum", checksum)) }
        return try await send("POST", "/v1/uploads", headers: headers, body: body)
    }

    func testCreationWithUploadStoresASmallBlobInOneRequest() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(70_000)
        let hash = Self.sha256(blob)
        let created = try await createWithUpload(gateway, length: blob.count, sha256: hash, body: blob,
                                                 checksum: "sha256 " + Tus.ChecksumAlgorithm.sha256.digest(blob))
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        XCTAssertEqual(created.header("Upload-Offset"), String(blob.count))
        XCTAssertEqual(try storedBlob(hash), blob)
        let batch = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [])
    }

    func testCreationWithUploadKeepsAPartialFirstChunkAndThePatchesFinishIt() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(90_000)
        let hash = Self.sha256(blob)
        let created = try await createWithUpload(gateway, length: blob.count, sha256: hash, body: blob.prefix(30_000))
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        XCTAssertEqual(created.header("Upload-Offset"), "30000")
        let location = try XCTUnwrap(created.header("Location"))
        XCTAssertFalse(try storedBlob(hash) != nil)
        let rest = try await patch(gateway, location, offset: 30_000, Data(blob.suffix(from: 30_000)))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        XCTAssertEqual(try storedBlob(hash), blob)
    }

    func testCreationWithUploadWithADamagedBodyIsRefused460AndTheUploadResumesAtItsLocation() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(40_000)
        var damaged = blob
        damaged[100] ^= 0x01
        let created = try await createWithUpload(gateway, length: blob.count, sha256: Self.sha256(blob), body: damaged,
                                                 checksum: "sha256 " + Tus.ChecksumAlgorithm.sha256.digest(blob))
        XCTAssertEqual(created.status, 460)
        XCTAssertNotNil(created.errorReason)
        let location = try XCTUnwrap(created.header("Location"))
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.header("Upload-Offset"), "0")
        let retry = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(retry.status, 204, retry.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testCreationWithUploadOfBytesThatDoNotMatchTheirHashIs422AndNothingIsStored() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(20_000), other = Self.randomBlob(20_000)
        let created = try await createWithUpload(gateway, length: other.count, sha256: Self.sha256(blob), body: other)
        XCTAssertEqual(created.status, 422)
        XCTAssertFalse(try storedBlob(Self.sha256(blob)) != nil)
        XCTAssertFalse(try storedBlob(Self.sha256(other)) != nil)
        let batch = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [Self.sha256(blob)])
    }

    func testBytesThatDoNotMatchAreFoundWhetherOrNotTheServerRestartedMidUpload() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(60_000)
        var wrong = blob
        wrong[59_000] ^= 0x80
        // Seen whole by this process: checked with the digest taken as the bytes arrived.
        let seenWhole = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let whole = try await patch(gateway, seenWhole, offset: 0, wrong)
        XCTAssertEqual(whole.status, 422)
        // Across a restart: the part file is read again.
        let resumed = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, resumed, offset: 0, wrong.prefix(30_000))
        XCTAssertEqual(first.status, 204)
        try await restartServer()
        let rest = try await patch(gateway, resumed, offset: 30_000, Data(wrong.suffix(from: 30_000)))
        XCTAssertEqual(rest.status, 422)
        XCTAssertFalse(try storedBlob(Self.sha256(blob)) != nil)
    }
}
