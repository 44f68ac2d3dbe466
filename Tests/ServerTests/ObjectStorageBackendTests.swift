import Foundation
import NIOCore
import ObjectStorage
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Blobs in an S3 bucket, always on the tests' own SeaweedFS: uploads as multipart uploads whose
/// chunks split parts, resumed by an instance that did not see the first bytes, verified before a
/// blob key is written, and what a wrong location or secret says. (Every other server suite runs
/// on S3 too with FIELDGATE_TEST_BLOBS=s3.)
final class ObjectStorageBackendTests: ServerTestCase {
    override class var blobBackend: TestBlobBackend { .s3 }

    /// Random bytes, a machine word at a time (megabytes of them).
    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var data = Data(count: (count + 7) / 8 * 8)
        data.withUnsafeMutableBytes { raw in
            for index in 0..<(raw.count / 8) { raw.storeBytes(of: generator.next(), toByteOffset: index * 8, as: UInt64.self) }
        }
        return data.prefix(count)
    }

    private func head(_ gateway: TestGateway, _ location: String) async throws -> String? {
        try await send("HEAD", location, headers: gateway.tus).header("Upload-Offset")
    }

    func testChunksThatSplitPartsAreJoinedVerifiedAndLeaveNothingStaged() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBytes((12 << 20) + 123)  // two whole 5 MiB parts and a short last one
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        var offset = 0
        for chunk in stride(from: 0, to: blob.count, by: 3 << 20).map({ blob[$0..<min(blob.count, $0 + (3 << 20))] }) {
            let answer = try await patch(gateway, location, offset: offset, Data(chunk))
            XCTAssertEqual(answer.status, 204, answer.errorReason ?? "")
            offset += chunk.count
            let acknowledged = try await head(gateway, location)
            XCTAssertEqual(acknowledged, String(offset))
        }
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        let staged = try await stagedUploads()
        XCTAssertEqual(staged, [], "the parts, tails and state went once the blob was stored")
        let batch = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [])
    }

    /// Another instance (here: the same one restarted, with nothing in memory) takes the upload
    /// mid-part: it reads the acknowledged tail back from the bucket, and since it did not see
    /// every byte, it hashes the joined object before the blob counts.
    func testAnUploadResumedByAnInstanceThatDidNotSeeItsStartIsReadBackAndVerified() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBytes((7 << 20) + 5)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, location, offset: 0, blob.prefix(6 << 20))
        XCTAssertEqual(first.status, 204, first.errorReason ?? "")
        try await restartServer()
        let resumedAt = try await head(gateway, location)
        XCTAssertEqual(resumedAt, String(6 << 20))
        let rest = try await patch(gateway, location, offset: 6 << 20, blob.suffix(from: 6 << 20))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testBytesThatDoNotMatchNeverReachABlobKeyNorReplaceAHeldBlob() async throws {
        let honest = try await enrol("g1"), other = try await enrol("g2")
        let blob = Self.randomBytes(6 << 20)
        try await upload(honest, blob)
        // Another gateway claims the same hash for other bytes, in two chunks across a restart,
        // so the server has no digest of its own and must read the joined object back.
        var forged = blob
        forged[100] ^= 0xFF
        let location = try await createUpload(other, length: forged.count, sha256: Self.sha256(blob))
        _ = try await patch(other, location, offset: 0, forged.prefix(1 << 20))
        try await restartServer()
        let refused = try await patch(other, location, offset: 1 << 20, forged.suffix(from: 1 << 20))
        XCTAssertEqual(refused.status, 422, refused.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob, "the held blob is the honest gateway's bytes")
        let gone = try await send("HEAD", location, headers: other.tus)
        XCTAssertEqual(gone.status, 404)
        let staged = try await stagedUploads()
        XCTAssertEqual(staged, [])
        // And a new blob whose bytes do not match is at no key at all.
        let lone = Self.randomBytes(2000)
        let claimed = Self.sha256(Self.randomBytes(10))
        let wrong = try await createUpload(other, length: lone.count, sha256: claimed)
        let answer = try await patch(other, wrong, offset: 0, lone)
        XCTAssertEqual(answer.status, 422)
        XCTAssertNil(try storedBlob(claimed))
        XCTAssertNil(try storedBlob(Self.sha256(lone)))
    }

    /// What the bucket holds under the upload's staging prefix: object names and multipart uploads.
    private func staging(of location: String) async throws -> (objects: [String], multipartUploads: Int) {
        guard case .s3(let store) = blobs, let client = objectClient else { throw XCTSkip("runs on S3") }
        let prefix = store.prefix + "uploads/\(location.split(separator: "/").last!)/"
        let objects = try await client.objects(prefix: prefix).map { String($0.key.dropFirst(prefix.count)) }.sorted()
        return (objects, try await client.multipartUploads(prefix: prefix).count)
    }

    /// A small upload is one object: nothing is staged when it begins, a chunk that does not
    /// finish it is kept as `pending` (no multipart upload), and the chunk that finishes it —
    /// here on a restarted instance that never saw the first bytes — stores the verified whole
    /// at the blob key and leaves nothing staged.
    func testASmallUploadIsOneObjectReadBackWhenResumedAndStoredWhole() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBytes(300_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let begun = try await staging(of: location)
        XCTAssertEqual(begun.objects, [])
        XCTAssertEqual(begun.multipartUploads, 0)
        let first = try await patch(gateway, location, offset: 0, blob.prefix(100_000))
        XCTAssertEqual(first.status, 204, first.errorReason ?? "")
        let half = try await staging(of: location)
        XCTAssertEqual(half.objects, ["pending"])
        XCTAssertEqual(half.multipartUploads, 0)
        try await restartServer()
        let resumedAt = try await head(gateway, location)
        XCTAssertEqual(resumedAt, "100000")
        let rest = try await patch(gateway, location, offset: 100_000, blob.suffix(from: 100_000))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        let staged = try await stagedUploads()
        XCTAssertEqual(staged, [])
        let batch = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(batch.missing, [])
    }

    /// A small upload's finishing chunk whose bytes do not match, on an instance that saw only
    /// that chunk, is refused (422) and reaches no key; an upload begun by an older build in the
    /// multipart layout (its `state` in the bucket) goes on in that layout and completes.
    func testASmallForgedUploadReachesNoKeyAndOneBegunAsMultipartFinishesAsMultipart() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBytes(40_000)
        var forged = blob
        forged[39_000] ^= 0x01
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        _ = try await patch(gateway, location, offset: 0, forged.prefix(20_000))
        try await restartServer()
        let refused = try await patch(gateway, location, offset: 20_000, forged.suffix(from: 20_000))
        XCTAssertEqual(refused.status, 422, refused.errorReason ?? "")
        XCTAssertNil(try storedBlob(Self.sha256(blob)))
        XCTAssertNil(try storedBlob(Self.sha256(forged)))
        let leftover = try await stagedUploads()
        XCTAssertEqual(leftover, [])

        guard case .s3(let store) = blobs, let client = objectClient else { return XCTFail("runs on S3") }
        let older = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let base = store.prefix + "uploads/\(older.split(separator: "/").last!)/"
        let multipart = try await client.createMultipartUpload(base + "object")
        try await client.put(base + "state", ByteBuffer(string: #"{"multipartUploadId":"\#(multipart)","partSize":5242880,"etags":[]}"#))
        let firstHalf = try await patch(gateway, older, offset: 0, blob.prefix(20_000))
        XCTAssertEqual(firstHalf.status, 204, firstHalf.errorReason ?? "")
        let tail = try await staging(of: older)
        XCTAssertEqual(tail.objects, ["state", "tail-1"], "the older layout's tail, not a pending object")
        let secondHalf = try await patch(gateway, older, offset: 20_000, blob.suffix(from: 20_000))
        XCTAssertEqual(secondHalf.status, 204, secondHalf.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        let staged = try await stagedUploads()
        XCTAssertEqual(staged, [])
    }

    func testAnUnreachableStoreAWrongSecretOrAMissingBucketStopTheServerByName() async throws {
        await running.stop()
        guard case .s3(let location) = blobs else { return XCTFail("runs on S3") }
        var wrongSecret = location
        wrongSecret.credentials.secretAccessKey = "not-the-secret"
        var missingBucket = location
        missingBucket.bucket.name = "no-such-bucket"
        var unreachable = location
        unreachable.bucket.endpoint = URL(string: "http://127.0.0.1:\(try PostgresCluster.freePort())")!
        for (broken, expected) in [(wrongSecret, "SignatureDoesNotMatch"), (missingBucket, "NoSuchBucket"), (unreachable, "unreachable")] {
            blobs = .s3(broken)
            do {
                _ = try await RunningServer(configuration: configuration())
                XCTFail("the server started on \(broken.displayURL)")
            } catch {
                XCTAssertTrue("\(error)".contains("cannot use the blob store") && "\(error)".contains(expected), "\(error)")
                XCTAssertFalse("\(error)".contains("not-the-secret"), "\(error)")
            }
        }
        blobs = .s3(location)
    }

    func testBlobLocationsAreReadFromURLAndEnvironmentAndBadOnesSayWhatToGive() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "cn-north-1"]
        XCTAssertEqual(try BlobLocation.parse(nil, endpoint: nil, environment: environment), .dataFolder)
        guard case .s3(let location) = try BlobLocation.parse("s3://evidence/county-7", endpoint: "http://127.0.0.1:8333", environment: environment) else {
            return XCTFail("an s3 location")
        }
        XCTAssertEqual(location.bucket.name, "evidence")
        XCTAssertEqual(location.prefix, "county-7/")
        XCTAssertEqual(location.bucket.region, "cn-north-1")
        XCTAssertEqual(location.credentials, S3Credentials(accessKeyId: "id", secretAccessKey: "secret"))
        guard case .s3(let aws) = try BlobLocation.parse("s3://evidence", endpoint: nil, environment: environment) else { return XCTFail() }
        XCTAssertEqual(aws.bucket.endpoint.absoluteString, "https://s3.cn-north-1.amazonaws.com")
        let refused: [(String?, String?, Int?, [String: String], String)] = [
            ("file:///tmp", nil, nil, environment, "give s3://BUCKET"),
            ("s3://id:secret@evidence", nil, nil, environment, "must not carry credentials"),
            ("s3://Evidence_Bucket", nil, nil, environment, "bucket name"),
            ("s3://evidence/../other", nil, nil, environment, "must not contain . or .."),
            ("s3://evidence", "ftp://host", nil, environment, "give http://HOST:PORT"),
            ("s3://evidence", "http://host:1/path", nil, environment, "no path"),
            ("s3://evidence", nil, 1 << 20, environment, "5 MiB"),
            ("s3://evidence", nil, nil, ["AWS_ACCESS_KEY_ID": "id"], "AWS_SECRET_ACCESS_KEY"),
            (nil, "http://127.0.0.1:8333", nil, environment, "--s3-endpoint needs --blobs"),
        ]
        for (url, endpoint, partSize, environment, expected) in refused {
            XCTAssertThrowsError(try BlobLocation.parse(url, endpoint: endpoint, partSize: partSize, environment: environment), "\(url ?? "nil")") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(url ?? "nil"): \(error)")
                XCTAssertFalse("\(error)".contains("secret") && !expected.contains("AWS"), "\(error)")
            }
        }
    }

    func testThePartSizeGrowsSoThatA100GBRecordingStaysUnderS3sPartLimit() throws {
        let location = ObjectStoreLocation(bucket: S3Bucket(endpoint: URL(string: "http://127.0.0.1:1")!, name: "b", region: "r"),
                                           credentials: S3Credentials(accessKeyId: "a", secretAccessKey: "s"))
        XCTAssertEqual(location.partSize(forLength: 1 << 30), 8 << 20, "the configured size while it is enough")
        for length: Int64 in [100_000_000_000, 64 << 30, 500_000_000_000] {
            let size = Int64(location.partSize(forLength: length))
            XCTAssertLessThan((length + size - 1) / size, 10_000, "\(length) bytes in parts of \(size)")
            XCTAssertEqual(size % (1 << 20), 0)
        }
    }
}
