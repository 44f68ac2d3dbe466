import AsyncHTTPClient
import Foundation
import NIOCore
import ObjectStorage
import TestSupport
import XCTest

/// The S3 calls against a real SeaweedFS on loopback; what is stored is read back with curl's
/// own SigV4, so the two implementations check each other.
final class S3ClientTests: XCTestCase {
    var store: SeaweedFS!
    var client: S3Client!
    var prefix = ""

    override func setUp() async throws {
        store = try SeaweedFS.shared()
        client = S3Client(bucket: S3Bucket(endpoint: store.endpoint, name: store.bucket, region: store.region),
                          credentials: S3Credentials(accessKeyId: store.accessKey, secretAccessKey: store.secretKey))
        prefix = store.newPrefix()
    }

    func bytes(_ count: Int, seed: UInt8 = 1) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
        return buffer
    }

    func testObjectsArePutReadInRangesListedAndDeleted() async throws {
        let key = prefix + "a"
        let body = bytes(100_000)
        try await client.put(key, body)
        let value1 = try await client.size(of: key)
        XCTAssertEqual(value1, 100_000)
        let value2 = try await client.get(key)
        XCTAssertEqual(value2, body)
        XCTAssertEqual(try store.object(key), Data(body.readableBytesView), "curl reads the same bytes")
        let ranged = try await client.get(key, range: 10...19)
        XCTAssertEqual(ranged, body.getSlice(at: 10, length: 10))
        var streamed = ByteBuffer()
        let found = try await client.download(key) { var chunk = $0; streamed.writeBuffer(&chunk) }
        XCTAssertTrue(found)
        XCTAssertEqual(streamed, body)
        try await client.put(prefix + "b", bytes(3))
        let value3 = try await client.objects(prefix: prefix).map(\.key)
        XCTAssertEqual(value3, [prefix + "a", prefix + "b"])
        try await client.delete(key)
        let value4 = try await client.size(of: key)
        XCTAssertNil(value4)
        let value5 = try await client.get(key)
        XCTAssertNil(value5)
        let foundMissing = try await client.download(key) { _ in XCTFail("no bytes for a missing object") }
        XCTAssertFalse(foundMissing)
        try await client.delete(key)  // deleting again is fine
    }

    func testKeysWithSpacesUnicodeAndDotsAreSignedAndStoredAsNamed() async throws {
        let names = ["a b+c", "证据 2026.mp4", "q?x=1&y=%2F", "..."]
        for name in names {
            let key = prefix + name
            try await client.put(key, bytes(10))
            let size = try await client.size(of: key)
            XCTAssertEqual(size, 10, name)
        }
        // A key that climbs out of its folder is the store's to refuse; it must never land elsewhere.
        do {
            try await client.put(prefix + "x/../y", bytes(10))
        } catch let error as ObjectStorageError {
            XCTAssertTrue("\(error)".contains("PutObject \(prefix)x/../y"), "\(error)")
        }
        let listed = try await client.objects(prefix: prefix).map(\.key)
        XCTAssertTrue(Set(listed).isSubset(of: Set((names + ["x/../y"]).map { prefix + $0 })), "\(listed)")
        XCTAssertTrue(Set(names.map { prefix + $0 }).isSubset(of: Set(listed)), "\(listed)")
    }

    func testAMultipartUploadJoinsItsPartsAndAPartSentAgainReplacesIt() async throws {
        let key = prefix + "multi"
        let uploadId = try await client.createMultipartUpload(key)
        let value7 = try await client.multipartUploads(prefix: prefix).map(\.uploadId)
        XCTAssertEqual(value7, [uploadId])
        let first = bytes(5 << 20, seed: 1), second = bytes(1000, seed: 2)
        let replaced = try await client.uploadPart(key, uploadId: uploadId, number: 1, bytes(5 << 20, seed: 9))
        let firstTag = try await client.uploadPart(key, uploadId: uploadId, number: 1, first)
        let secondTag = try await client.uploadPart(key, uploadId: uploadId, number: 2, second)
        XCTAssertNotEqual(replaced, firstTag)
        let listedParts = try await client.parts(of: key, uploadId: uploadId)
        let parts = try XCTUnwrap(listedParts)
        XCTAssertEqual(Set(parts.map(\.number)), [1, 2])
        XCTAssertTrue(parts.contains(S3Part(number: 1, etag: firstTag, size: 5 << 20)), "\(parts)")
        XCTAssertTrue(parts.contains(S3Part(number: 2, etag: secondTag, size: 1000)), "\(parts)")
        // Joined by the ETags the uploads answered: the part sent last is the one joined.
        try await client.completeMultipartUpload(key, uploadId: uploadId, parts: [S3Part(number: 1, etag: firstTag, size: 5 << 20),
                                                                                  S3Part(number: 2, etag: secondTag, size: 1000)])
        var expected = first
        var tail = second
        expected.writeBuffer(&tail)
        XCTAssertEqual(try store.object(key), Data(expected.readableBytesView))
        let afterCompletion = try await client.parts(of: key, uploadId: uploadId)
        XCTAssertNil(afterCompletion, "a completed upload is unknown")
        let value8 = try await client.multipartUploads(prefix: prefix)
        XCTAssertEqual(value8, [])
        let hashed = try await client.sha256(of: key)
        XCTAssertEqual(hashed?.size, Int64(expected.readableBytes))
    }

    func testAnAbortedUploadLeavesNothing() async throws {
        let key = prefix + "aborted"
        let uploadId = try await client.createMultipartUpload(key)
        _ = try await client.uploadPart(key, uploadId: uploadId, number: 1, bytes(1000))
        try await client.abortMultipartUpload(key, uploadId: uploadId)
        let afterAbort = try await client.parts(of: key, uploadId: uploadId)
        XCTAssertNil(afterAbort)
        let value9 = try await client.size(of: key)
        XCTAssertNil(value9)
        let value10 = try await client.multipartUploads(prefix: prefix)
        XCTAssertEqual(value10, [])
    }

    func testAServerSideCopyMakesTheSameBytes() async throws {
        try await client.put(prefix + "from", bytes(4096))
        try await client.copy(prefix + "from", size: 4096, to: prefix + "to", partSize: 5 << 20)
        XCTAssertEqual(try store.object(prefix + "to"), try store.object(prefix + "from"))
    }

    func testAWrongSecretIsRefusedByTheStoreAndNamed() async throws {
        let wrong = S3Client(bucket: client.bucket, credentials: S3Credentials(accessKeyId: store.accessKey, secretAccessKey: "wrong"))
        do {
            try await wrong.put(prefix + "x", bytes(1))
            XCTFail("a wrong secret must be refused")
        } catch let error as ObjectStorageError {
            XCTAssertEqual(error.code, "SignatureDoesNotMatch", "\(error)")
            XCTAssertTrue("\(error)".contains("PutObject \(prefix)x"), "\(error)")
        }
        XCTAssertNil(try store.object(prefix + "x"))
    }

    func testAnUnreachableStoreIsNamedNotHung() async throws {
        let port = try PostgresCluster.freePort()
        let nowhere = S3Client(bucket: S3Bucket(endpoint: URL(string: "http://127.0.0.1:\(port)")!, name: "b", region: "us-east-1"),
                               credentials: S3Credentials(accessKeyId: "a", secretAccessKey: "s"), timeout: .seconds(10))
        do {
            _ = try await nowhere.size(of: "k")
            XCTFail("nothing listens there")
        } catch ObjectStorageError.unreachable(let operation, _) {
            XCTAssertEqual(operation, "HeadObject k")
        }
    }
}
