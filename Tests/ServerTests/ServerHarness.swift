import AsyncHTTPClient
import Crypto
import Evidence
import ObjectStorage
import Foundation
import GRDB
import HummingbirdTLS
import NIOCore
import Server
import SyncProtocol
import TestSupport
import XCTest

/// An in-process server on a free port of 127.0.0.1, stopped by cancelling its task.
final class RunningServer: Sendable {
    let task: Task<Void, any Error>
    let port: Int
    let server: EvidenceServer
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(configuration: ServerConfiguration) async throws {
        let server = try await EvidenceServer(configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task {
            defer { continuation.finish() }
            try await server.run { port in continuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            _ = try await task.value
            throw HarnessError.stoppedBeforeListening
        }
        self.port = port
        self.server = server
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// An answer as the tests look at it.
struct HTTPAnswer {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: Data

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    var errorReason: String? { try? WireCoding.decoder.decode(ErrorBody.self, from: body).error }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try WireCoding.decoder.decode(type, from: body) }
}

/// A gateway enrolled by a test: its credential and signing key.
struct TestGateway {
    var name: String
    var id: String
    var credential: String
    var key: Curve25519.Signing.PrivateKey
    var serverPublicKey: Curve25519.Signing.PublicKey
    var bearer: [(String, String)] { [("Authorization", "Bearer \(credential)")] }
    var tus: [(String, String)] { bearer + [("Tus-Resumable", "1.0.0")] }
}

/// Which database the server tests run on: SQLite in the data folder, or a database of the
/// tests' own PostgreSQL cluster when FIELDGATE_TEST_DATABASE=postgresql (.ci/test runs the
/// server suites both ways).
enum TestBackend {
    case sqlite, postgresql

    static var chosen: TestBackend {
        ProcessInfo.processInfo.environment["FIELDGATE_TEST_DATABASE"] == "postgresql" ? .postgresql : .sqlite
    }
}

/// Where the server tests keep blobs: the data folder, or a prefix of the tests' own SeaweedFS
/// bucket when FIELDGATE_TEST_BLOBS=s3 (.ci/test runs the server suites both ways).
enum TestBlobBackend {
    case folder, s3

    static var chosen: TestBlobBackend {
        ProcessInfo.processInfo.environment["FIELDGATE_TEST_BLOBS"] == "s3" ? .s3 : .folder
    }
}

class ServerTestCase: XCTestCase {
    var data: URL!
    var running: RunningServer!
    /// The backend this suite runs on; a suite about PostgreSQL itself overrides it.
    class var backend: TestBackend { TestBackend.chosen }
    /// The blob store this suite runs on; a suite about the data folder's files overrides it.
    class var blobBackend: TestBlobBackend { TestBlobBackend.chosen }
    /// Where the server under test keeps its records.
    var database = DatabaseLocation.dataFolder
    /// Where the server under test keeps blobs and uploads in progress.
    var blobs = BlobLocation.dataFolder
    /// The SeaweedFS and key prefix of this test, when it runs on S3.
    var objectStore: (store: SeaweedFS, location: ObjectStoreLocation)?
    /// The PostgreSQL cluster and database of this test, when it runs on PostgreSQL.
    var postgres: (cluster: PostgresCluster, name: String)?
    /// Set while the test talks to a `fieldgate-server` child process instead (one it can kill).
    var child: KillableServer?
    /// Where requests go instead of the server (a load balancer in front of several).
    var endpoint: String?
    var maxUploadSize: Int64 = 1 << 30
    var quotas = UploadQuotas()
    /// The time-stamping authority the server asks, if any.
    var timestampAuthority: TimestampAuthorityConfiguration?
    /// The server's clock: the real time unless a test moves it.
    let clock = MovableClock()

    override func setUp() async throws {
        data = try temporaryFolder(self)
        if Self.backend == .postgresql {
            let cluster = try PostgresCluster.shared()
            let name = try cluster.createDatabase()
            postgres = (cluster, name)
            database = .postgres(PostgresLocation(user: cluster.user, host: "127.0.0.1", port: cluster.port, database: name,
                                                  security: .disable, password: cluster.password))
        }
        if Self.blobBackend == .s3 {
            let store = try SeaweedFS.shared()
            // Child processes (`fieldgate-server serve`) find the credentials where a real one does.
            for (name, value) in store.credentialsEnvironment { setenv(name, value, 1) }
            let location = ObjectStoreLocation(bucket: S3Bucket(endpoint: store.endpoint, name: store.bucket, region: store.region),
                                               prefix: store.newPrefix(),
                                               credentials: S3Credentials(accessKeyId: store.accessKey, secretAccessKey: store.secretKey),
                                               partSize: ObjectStoreLocation.minimumPartSize)
            objectStore = (store, location)
            blobs = .s3(location)
        }
        running = try await RunningServer(configuration: configuration())
    }

    override func tearDown() async throws {
        await running?.stop()
        child?.stop()
        // The server's connection pool closes with it.
        running = nil
    }

    /// `--database` and its password file for a `fieldgate-server` child process; none on SQLite.
    /// (and `--blobs`, `--s3-endpoint` and `--s3-part-size` on S3).
    var databaseArguments: [String] {
        var arguments: [String] = []
        if let postgres {
            arguments += ["--database", postgres.cluster.url(database: postgres.name),
                          "--database-password-file", postgres.cluster.passwordFile.path]
        }
        if let objectStore {
            arguments += ["--blobs", "s3://\(objectStore.location.bucket.name)/\(objectStore.location.prefix)",
                          "--s3-endpoint", objectStore.store.endpoint.absoluteString,
                          "--s3-part-size", String(objectStore.location.partSize)]
        }
        return arguments
    }

    /// The bytes held under a blob's hash, read from where the server keeps them (from S3 with
    /// curl's own signing); nil when absent.
    func storedBlob(_ sha256: String) throws -> Data? {
        if let objectStore {
            return try objectStore.store.object(objectStore.location.prefix + "sha256/\(sha256.prefix(2))/\(sha256)")
        }
        let path = blobPath(sha256)
        return FileManager.default.fileExists(atPath: path.path) ? try Data(contentsOf: path) : nil
    }

    /// An S3 client on this test's bucket, to look at (or tamper with) what the server staged.
    var objectClient: S3Client? {
        objectStore.map { S3Client(bucket: $0.location.bucket, credentials: $0.location.credentials) }
    }

    /// Leaves staging for an upload that has no row: a part file, or a multipart upload and its state.
    func leaveStagingWithoutARow(_ uploadId: String) async throws {
        if let objectStore, let client = objectClient {
            let key = objectStore.location.prefix + "uploads/\(uploadId)/object"
            let multipart = try await client.createMultipartUpload(key)
            try await client.put(objectStore.location.prefix + "uploads/\(uploadId)/state",
                                 ByteBuffer(string: #"{"multipartUploadId":"\#(multipart)","partSize":5242880,"etags":[]}"#))
            return
        }
        try Data("partial".utf8).write(to: data.appendingPathComponent("uploads/\(uploadId)"))
    }

    /// Stages the bytes of `whole` from `offset` on behind the server's back, as an instance
    /// that died after storing them would leave them: appended to the part file, or (on S3, for a
    /// blob of one part) sent as the upload's only part with the state naming it — or, for an
    /// upload small enough to be one object, at the blob's key when the bytes match (the earlier
    /// chunks' `pending` object left beside it) and as the whole `pending` object when they do not.
    func stageBehindTheServer(_ uploadId: String, allOf whole: Data, sha256: String, after offset: Int) async throws {
        if let objectStore, let client = objectClient, whole.count <= ObjectStoreLocation.minimumPartSize {
            let pending = objectStore.location.prefix + "uploads/\(uploadId)/pending"
            if Self.sha256(whole) == sha256 {
                try await client.put(objectStore.location.prefix + "sha256/\(sha256.prefix(2))/\(sha256)", ByteBuffer(data: whole))
            } else {
                try await client.put(pending, ByteBuffer(data: whole))
            }
            return
        }
        if let objectStore, let client = objectClient {
            precondition(whole.count <= objectStore.location.partSize, "one part")
            let base = objectStore.location.prefix + "uploads/\(uploadId)/"
            let stored = try await client.get(base + "state")
            let stateBytes = try XCTUnwrap(stored)
            var state = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stateBytes.readableBytesView)) as? [String: Any])
            let multipart = try XCTUnwrap(state["multipartUploadId"] as? String)
            let etag = try await client.uploadPart(base + "object", uploadId: multipart, number: 1, ByteBuffer(data: whole))
            state["etags"] = [etag]
            try await client.put(base + "state", ByteBuffer(data: try JSONSerialization.data(withJSONObject: state)))
            return
        }
        let part = try FileHandle(forWritingTo: data.appendingPathComponent("uploads/\(uploadId)"))
        try part.seekToEnd()
        try part.write(contentsOf: whole.suffix(from: offset))
        try part.close()
    }

    /// The uploads that have bytes staged: part files, or objects and multipart uploads under `uploads/` in the bucket.
    func stagedUploads() async throws -> [String] {
        if let objectStore, let client = objectClient {
            let prefix = objectStore.location.prefix + "uploads/"
            let keys = try await client.objects(prefix: prefix).map(\.key) + client.multipartUploads(prefix: prefix).map(\.key)
            return Set(keys.compactMap { $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init) }).sorted()
        }
        return try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("uploads").path).sorted()
    }

    /// Runs SQL on the server's database behind the server's back (to leave the state a crash
    /// leaves), in each backend's dialect.
    func executeBehindTheServer(sqlite: String, postgresql: String) async throws {
        if let postgres {
            try postgres.cluster.psql(database: postgres.name, postgresql)
        } else {
            let database = try DatabaseQueue(path: data.appendingPathComponent("server.sqlite").path)
            try await database.write { db in try db.execute(sql: sqlite) }
        }
    }

    /// The number of upload rows the server keeps.
    func uploadRowCount() async throws -> Int {
        if let postgres {
            return Int(try postgres.cluster.psql(database: postgres.name, "SELECT count(*) FROM upload")) ?? -1
        }
        let database = try DatabaseQueue(path: data.appendingPathComponent("server.sqlite").path)
        return try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM upload") } ?? -1
    }

    /// Moves the test from the in-process server to a `fieldgate-server` child process on the
    /// same data folder, so that it can be killed with SIGKILL mid-work.
    func switchToChildProcess(environment: [String: String] = [:]) async throws {
        await running.stop()
        let child = KillableServer(data: data)
        child.environment = environment
        child.databaseArguments = databaseArguments
        try child.start()
        self.child = child
    }

    func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration(dataDirectory: data, host: "127.0.0.1", port: 0, maxUploadSize: maxUploadSize)
        configuration.quotas = quotas
        configuration.database = database
        configuration.blobs = blobs
        configuration.clock = ServerClock(now: { [clock] in clock.now() })
        configuration.timestampAuthority = timestampAuthority
        return configuration
    }

    func restartServer() async throws {
        await running.stop()
        running = try await RunningServer(configuration: configuration())
    }

    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: Data? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: (endpoint ?? child?.url ?? running.baseURL) + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                          body: Data(bytes.readableBytesView))
    }

    func sendJSON<Value: Encodable>(_ method: String, _ path: String, _ value: Value,
                                    headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await send(method, path, headers: headers + [("Content-Type", "application/json")],
                       body: try WireCoding.encoder.encode(value))
    }

    func enrol(_ name: String) async throws -> TestGateway {
        let token = try await GatewayAdministration.add(name: name, dataDirectory: data, database: database)
        let key = Curve25519.Signing.PrivateKey()
        let answer = try await sendJSON("POST", "/v1/enroll",
                                        EnrollRequest(token: token, publicKey: key.publicKey.rawRepresentation.base64EncodedString()))
        XCTAssertEqual(answer.status, 200, answer.errorReason ?? "")
        let enrolled = try answer.decode(EnrollResponse.self)
        XCTAssertEqual(enrolled.gatewayName, name)
        let serverKey = try XCTUnwrap(WireCoding.publicKey(base64: enrolled.serverPublicKey))
        return TestGateway(name: name, id: enrolled.gatewayId, credential: enrolled.credential, key: key, serverPublicKey: serverKey)
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    func item(_ blob: Data, kind: String = "recording", metadata: [String: String] = ["camera": "CAM-1"]) -> ManifestItem {
        let hash = Self.sha256(blob)
        let custody = CustodyEvent(seq: 1, at: "2026-11-25T10:00:00.000Z", kind: .collected, cameraSerial: "CAM-1",
                                   recordingId: 1, sha256: hash, details: "{}", previousHash: String(repeating: "0", count: 64),
                                    hash: String(repeating: "a", count: 64))
        return ManifestItem(sha256: hash, size: Int64(blob.count), kind: kind, metadata: metadata, custody: [custody])
    }

    func postManifest(_ gateway: TestGateway, items: [ManifestItem], batchKey: String = UUID().uuidString,
                      signingKey: Curve25519.Signing.PrivateKey? = nil, createdAt: String = "2026-11-25T10:00:00.000Z",
                      waiting: GatewayBacklog? = nil) async throws -> HTTPAnswer {
        let manifest = BatchManifest(batchKey: batchKey, gatewayId: gateway.id, createdAt: createdAt, items: items, waiting: waiting)
        let envelope = try SignedEnvelope.seal(manifest, with: signingKey ?? gateway.key)
        return try await sendJSON("POST", "/v1/batches", envelope, headers: gateway.bearer)
    }

    /// Creates a tus upload for `blob`; returns its path.
    func createUpload(_ gateway: TestGateway, length: Int, sha256: String,
                      extraMetadata: [String: String] = [:]) async throws -> String {
        let metadata = Tus.encodeMetadata(extraMetadata.merging(["sha256": sha256, "filename": "clip.mp4"]) { $1 })
        let answer = try await send("POST", "/v1/uploads", headers: gateway.tus + [("Upload-Length", String(length)),
                                                                                   ("Upload-Metadata", metadata)])
        XCTAssertEqual(answer.status, 201, answer.errorReason ?? "")
        XCTAssertEqual(answer.header("Upload-Offset"), "0")
        XCTAssertEqual(answer.header("Tus-Resumable"), "1.0.0")
        return try XCTUnwrap(answer.header("Location"))
    }

    func patch(_ gateway: TestGateway, _ location: String, offset: Int, _ chunk: Data,
               checksum: String? = nil) async throws -> HTTPAnswer {
        var headers = gateway.tus + [("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", String(offset))]
        if let checksum { headers.append(("Upload-Checksum", checksum)) }
        return try await send("PATCH", location, headers: headers, body: chunk)
    }

    /// Uploads a whole blob in one chunk.
    func upload(_ gateway: TestGateway, _ blob: Data) async throws {
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let answer = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(answer.status, 204, answer.errorReason ?? "")
    }

    func blobPath(_ sha256: String) -> URL {
        data.appendingPathComponent("blobs/sha256/\(sha256.prefix(2))/\(sha256)")
    }

    static func randomBlob(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

/// The real time plus an offset a test adds to.
final class MovableClock: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var offset: TimeInterval = 0

    func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }

    func advance(by seconds: TimeInterval) { lock.withLock { offset += seconds } }
}

enum HarnessError: Error {
    case stoppedBeforeListening
}
