import Crypto
import Foundation
import ObjectStorage
import Server
import SyncProtocol
import TestSupport
import XCTest

/// `fieldgate-server migrate`: a county's server (SQLite and a folder) moved into PostgreSQL and
/// SeaweedFS, where a server then carries on as if nothing had happened.
final class MigrationTests: ServerTestCase {
    override class var backend: TestBackend { .sqlite }
    override class var blobBackend: TestBlobBackend { .folder }

    private var source: URL!
    private var blobsSent: [Data] = []

    /// A gateway, one committed batch of three items, and an upload left half-way.
    private func serveACounty() async throws -> (gateway: TestGateway, batchId: String, receipt: Data) {
        let gateway = try await enrol("station-north")
        blobsSent = [Self.randomBlob(100_000), Self.randomBlob(7 << 20), Self.randomBlob(3_000)]
        let created = try await postManifest(gateway, items: blobsSent.map { item($0, metadata: ["camera": "CAM-1", "officer": "A-7"]) })
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        for blob in blobsSent { try await upload(gateway, blob) }
        let batchId = try created.decode(BatchCreated.self).batchId
        let commit = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        _ = try await createUpload(gateway, length: 10_000, sha256: Self.sha256(Self.randomBlob(10_000)))
        try await ConsoleAccounts.add(name: "county.admin", role: .admin, password: "county admin passphrase", dataDirectory: data)
        await running.stop()
        source = data
        return (gateway, batchId, commit.body)
    }

    /// The target: a database of the tests' cluster, a prefix of the tests' bucket, a data folder.
    private func target() throws -> (arguments: [String], postgres: (cluster: PostgresCluster, name: String), store: SeaweedFS, location: ObjectStoreLocation, data: URL) {
        let cluster = try PostgresCluster.shared()
        let name = try cluster.createDatabase()
        let store = try SeaweedFS.shared()
        for (variable, value) in store.credentialsEnvironment { setenv(variable, value, 1) }
        let location = ObjectStoreLocation(bucket: S3Bucket(endpoint: store.endpoint, name: store.bucket, region: store.region),
                                           prefix: store.newPrefix(),
                                           credentials: S3Credentials(accessKeyId: store.accessKey, secretAccessKey: store.secretKey),
                                           partSize: ObjectStoreLocation.minimumPartSize)
        let folder = source.deletingLastPathComponent().appendingPathComponent(source.lastPathComponent + "-target")
        let arguments = ["--from", source.path, "--data", folder.path,
                         "--database", cluster.url(database: name), "--database-password-file", cluster.passwordFile.path,
                         "--blobs", "s3://\(store.bucket)/\(location.prefix)", "--s3-endpoint", store.endpoint.absoluteString,
                         "--s3-part-size", "5M"]
        return (arguments, (cluster, name), store, location, folder)
    }

    private func migrate(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try runProgram(builtBinary("fieldgate-server").path, ["migrate", "--json"] + arguments, environment: environment, timeout: 300)
    }

    func testACountyMovesIntoPostgreSQLAndS3AndAnInterruptedMoveFinishesOnASecondRun() async throws {
        let county = try await serveACounty()
        let sourceKey = try Data(contentsOf: source.appendingPathComponent("server-key"))
        let to = try target()

        // Killed (SIGKILL) after the second blob, as a power cut would.
        let killed = try migrate(to.arguments, environment: [FaultPoint.environmentVariable: "migrated-blob@2"])
        XCTAssertNotEqual(killed.status, 0, killed.stderr)
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT count(*) FROM blob"), "2")
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT count(*) FROM batch"), "0")

        let finished = try migrate(to.arguments)
        XCTAssertEqual(finished.status, 0, finished.stderr)
        let summary = try JSONDecoder().decode(MigrationSummary.self, from: Data(finished.stdout.utf8))
        XCTAssertEqual(summary.blobs, 3)
        XCTAssertEqual(summary.blobsMoved, 1, "the second run moves only what the first did not")
        XCTAssertEqual(summary.blobsAlreadyThere, 2)
        XCTAssertEqual(summary.failedBlobs.count, 0)
        XCTAssertEqual(summary.uploadsNotMoved, 1)
        let rows = Dictionary(uniqueKeysWithValues: summary.tables.map { ($0.table, $0.new) })
        XCTAssertEqual(rows["gateway"], 1)
        XCTAssertEqual(rows["batch"], 1)
        XCTAssertEqual(rows["batch_item"], 3)
        XCTAssertEqual(rows["possession"], 3)
        XCTAssertEqual(rows["console_user"], 1)
        XCTAssertEqual(rows["access_event"], 1)

        let again = try migrate(to.arguments)
        XCTAssertEqual(again.status, 0, again.stderr)
        let repeated = try JSONDecoder().decode(MigrationSummary.self, from: Data(again.stdout.utf8))
        XCTAssertEqual(repeated.blobsMoved, 0)
        XCTAssertEqual(repeated.tables.map(\.new).reduce(0, +), 0, "a third run adds nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: to.data.appendingPathComponent("server.sqlite").path))

        // The larger setup carries on: same key, same credential, same receipt, same bytes.
        data = to.data
        postgres = to.postgres
        database = .postgres(PostgresLocation(user: to.postgres.cluster.user, host: "127.0.0.1", port: to.postgres.cluster.port,
                                              database: to.postgres.name, security: .disable, password: to.postgres.cluster.password))
        objectStore = (to.store, to.location)
        blobs = .s3(to.location)
        running = try await RunningServer(configuration: configuration())
        XCTAssertEqual(running.server.publicKey, try Curve25519.Signing.PrivateKey(rawRepresentation: sourceKey).publicKey.rawRepresentation)
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT encode(private_key, 'base64') FROM server_key"),
                       sourceKey.base64EncodedString())
        let recommit = try await send("POST", "/v1/batches/\(county.batchId)/commit", headers: county.gateway.bearer)
        XCTAssertEqual(recommit.status, 200, recommit.errorReason ?? "")
        XCTAssertEqual(recommit.body, county.receipt, "the receipt the county's server signed, unchanged")
        for blob in blobsSent {
            XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
            let evidence = try await send("GET", "/v1/evidence/\(Self.sha256(blob))", headers: county.gateway.bearer)
            XCTAssertEqual(evidence.status, 200, evidence.errorReason ?? "")
        }
        // Possession moved too: the gateway's next batch with the same blobs needs no upload.
        let next = try await postManifest(county.gateway, items: [item(blobsSent[0])])
        XCTAssertEqual(try next.decode(BatchCreated.self).missing, [])
        // And the console's people, with their password hashes and roles.
        let people = try await ConsoleAccounts.list(dataDirectory: to.data, database: database)
        XCTAssertEqual(people.map(\.name), ["county.admin"])
        XCTAssertEqual(people.first?.role, .admin)
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT left(password_hash, 4) FROM console_user"), "$2b$")
        let chain = try await ConsoleAccounts.verifyAccessLog(dataDirectory: to.data, database: database)
        XCTAssertEqual(chain, AccessLogVerification(entries: 1, brokenAt: nil, reason: nil), "the access log moved link for link")
    }

    func testADamagedOrMissingBlobIsNamedAndTheRestMoved() async throws {
        _ = try await serveACounty()
        let damaged = Self.sha256(blobsSent[0]), missing = Self.sha256(blobsSent[2])
        let damagedPath = blobPath(damaged)
        var bytes = try Data(contentsOf: damagedPath)
        bytes[500] ^= 0x01
        try bytes.write(to: damagedPath)
        try FileManager.default.removeItem(at: blobPath(missing))
        let to = try target()
        let result = try migrate(to.arguments)
        XCTAssertEqual(result.status, 1, "a blob not moved is a failure:\n\(result.stderr)")
        let summary = try JSONDecoder().decode(MigrationSummary.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(summary.blobsMoved, 1)
        XCTAssertEqual(Set(summary.failedBlobs.map(\.sha256)), [damaged, missing])
        XCTAssertTrue(summary.failedBlobs.first { $0.sha256 == damaged }?.reason.contains("does not hold the blob") == true)
        XCTAssertTrue(summary.failedBlobs.first { $0.sha256 == missing }?.reason.contains("is missing") == true)
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT sha256 FROM blob"), Self.sha256(blobsSent[1]),
                       "only the good blob is held at the target")
        XCTAssertEqual(try to.postgres.cluster.psql(database: to.postgres.name, "SELECT count(*) FROM batch_item"), "3",
                       "the records move all the same")
    }

    func testATargetThatIsNotPostgreSQLIsRefused() async throws {
        _ = try await serveACounty()
        let noDatabase = try migrate(["--from", source.path, "--data", source.path + "-elsewhere"])
        XCTAssertEqual(noDatabase.status, 1)
        XCTAssertTrue(noDatabase.stderr.contains("give --database postgres://"), noDatabase.stderr)
        let noSource = try migrate(["--from", source.path + "-nothing", "--database", "postgres://u@127.0.0.1:1/x"],
                                   environment: ["PGPASSWORD": "unused"])
        XCTAssertEqual(noSource.status, 1)
        XCTAssertTrue(noSource.stderr.contains("has no server.sqlite"), noSource.stderr)
    }
}
