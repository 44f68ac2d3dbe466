import Crypto
import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// The PostgreSQL backend itself, always on the tests' own cluster: migrations, what a bad URL,
/// an unreachable server or a wrong password say, commits that are all or nothing, and the
/// command line on a shared database. (Every other server suite runs on PostgreSQL too with
/// FIELDGATE_TEST_DATABASE=postgresql.)
final class PostgresBackendTests: ServerTestCase {
    override class var backend: TestBackend { .postgresql }

    private var cluster: PostgresCluster { postgres!.cluster }
    private var databaseName: String { postgres!.name }

    @discardableResult
    private func sql(_ statement: String) throws -> String { try cluster.psql(database: databaseName, statement) }

    func testTheSchemaIsMigratedOnceAndRecordsSurviveARestart() async throws {
        // 1: the records; 2: receipts' time-stamps; 3: bundles exported; 4: bundles imported; 5: the server key;
        // 6: the console's people and sessions; 7: its access log; 8: categories and reviews; 9: shares;
        // 10: holds and retention; 11: the search's index by day.
        XCTAssertEqual(try sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"), "1,2,3,4,5,6,7,8,9,10,11,12")
        let gateway = try await enrol("station-north")
        let blob = Self.randomBlob(20_000)
        let created = try await postManifest(gateway, items: [item(blob, metadata: ["camera": "CAM-7", "officer": "A-1024"])])
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        try await upload(gateway, blob)
        try await restartServer()
        XCTAssertEqual(try sql("SELECT count(*) FROM schema_migrations"), "12", "a second start applies nothing again")
        let batchId = try created.decode(BatchCreated.self).batchId
        let commit = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        XCTAssertEqual(try sql("SELECT metadata ->> 'officer' FROM batch_item"), "A-1024")
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.appendingPathComponent("server.sqlite").path),
                       "the records went to PostgreSQL, not to SQLite in the data folder")
    }

    /// The bureau's queries (by officer, camera, case, gateway and day) have their indexes.
    func testTheBureausQueriesAreIndexed() throws {
        let indexes = try sql("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
        for expression in ["'officer'", "'camera'", "'case'", "(gateway_id, committed_at)", "(committed_at)", "(sha256)"] {
            XCTAssertTrue(indexes.contains(expression), "no index on \(expression):\n\(indexes)")
        }
        let plan = try sql("SET enable_seqscan = off; EXPLAIN SELECT batch_id FROM batch_item WHERE metadata ->> 'officer' = 'A-1024'")
        XCTAssertTrue(plan.contains("batch_item_by_officer"), plan)
    }

    func testADatabaseMigratedByANewerServerIsRefusedByName() async throws {
        await running.stop()
        try sql("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
        do {
            _ = try await RunningServer(configuration: configuration())
            XCTFail("the server started on a database newer than it knows")
        } catch {
            XCTAssertTrue("\(error)".contains("schema version 99") && "\(error)".contains("newer"), "\(error)")
        }
    }

    /// The batch and its items are one transaction: an item the database refuses leaves no batch.
    func testABatchIsStoredWholeOrNotAtAll() async throws {
        let gateway = try await enrol("g1")
        try sql("""
            CREATE FUNCTION refuse_item() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_third_item BEFORE INSERT ON batch_item FOR EACH ROW WHEN (NEW.position = 2) EXECUTE FUNCTION refuse_item();
            """)
        let items = (0..<3).map { item(Data("item \($0)".utf8)) }
        let refused = try await postManifest(gateway, items: items, batchKey: "k-whole")
        XCTAssertEqual(refused.status, 500)
        XCTAssertEqual(try sql("SELECT count(*) FROM batch"), "0", "no batch without its items")
        XCTAssertEqual(try sql("SELECT count(*) FROM batch_item"), "0")
        try sql("DROP TRIGGER refuse_third_item ON batch_item")
        let stored = try await postManifest(gateway, items: items, batchKey: "k-whole")
        XCTAssertEqual(stored.status, 201, "the batch key stayed free")
        XCTAssertEqual(try sql("SELECT count(*) FROM batch_item"), "3")
    }

    /// A commit that fails after marking withdrawn items leaves the batch open and its items as they were.
    func testACommitIsAllOrNothing() async throws {
        let gateway = try await enrol("g1")
        let kept = Self.randomBlob(5_000), dropped = Self.randomBlob(5_000)
        let created = try await postManifest(gateway, items: [item(kept), item(dropped)]).decode(BatchCreated.self)
        try await upload(gateway, kept)
        try sql("""
            CREATE FUNCTION refuse_commit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'power cut'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_commit BEFORE UPDATE ON batch FOR EACH ROW WHEN (NEW.state = 'committed') EXECUTE FUNCTION refuse_commit();
            """)
        let withdraw = try WireCoding.encoder.encode(CommitRequest(withdraw: [Self.sha256(dropped)]))
        let failed = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer, body: withdraw)
        XCTAssertEqual(failed.status, 500)
        XCTAssertEqual(try sql("SELECT state FROM batch"), "open")
        XCTAssertEqual(try sql("SELECT count(*) FROM batch_item WHERE withdrawn"), "0", "the withdrawal went back with the commit")
        try sql("DROP TRIGGER refuse_commit ON batch")
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer, body: withdraw)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(kept)])
        XCTAssertEqual(try sql("SELECT count(*) FROM batch_item WHERE withdrawn"), "1")
    }

    func testMalformedDatabaseURLsAreRefusedSayingWhatToGive() throws {
        let refused: [(url: String, says: String)] = [
            ("mysql://fieldgate@127.0.0.1/evidence", "only postgres:// URLs"),
            ("postgres://127.0.0.1:5432/evidence", "names no user"),
            ("postgres://fieldgate@127.0.0.1:5432", "names no database"),
            ("postgres://fieldgate@127.0.0.1:5432/a/b", "names no database"),
            ("postgres://fieldgate@127.0.0.1:70000/evidence", "port"),
            ("postgres://fieldgate@127.0.0.1/evidence?sslmode=sometimes", "sslmode"),
            ("postgres://fieldgate@/evidence", "names no host"),
            ("postgres://fieldgate:hunter2@127.0.0.1/evidence", "PGPASSWORD"),
            ("not a url at all", "not a URL"),
        ]
        for (url, says) in refused {
            XCTAssertThrowsError(try DatabaseLocation.parse(url, environment: [:]), url) { error in
                XCTAssertTrue("\(error)".contains(says), "\(url): \(error)")
                XCTAssertFalse("\(error)".contains("hunter2"), "a password is never repeated: \(error)")
            }
        }
        let location = try DatabaseLocation.parse("postgresql://officer@db.example:6543/evidence?sslmode=require",
                                                  environment: ["PGPASSWORD": "from-the-environment"])
        XCTAssertEqual(location, .postgres(PostgresLocation(user: "officer", host: "db.example", port: 6543, database: "evidence",
                                                            security: .require, password: "from-the-environment")))
        XCTAssertEqual(try DatabaseLocation.parse(nil, environment: [:]), .dataFolder)
        let result = try runFieldgateServer(["gateways", "list", "--data", data.path, "--database", "postgres://u:hunter2@h/db"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("must not carry a password") && !result.stderr.contains("hunter2"), result.stderr)
    }

    func testThePasswordFileIsReadAndAnEmptyOrMissingOneIsRefused() throws {
        let file = data.appendingPathComponent("pgpass")
        try Data("s3cret\nignored\n".utf8).write(to: file)
        guard case .postgres(let location) = try DatabaseLocation.parse("postgres://u@h/db", passwordFile: file.path,
                                                                         environment: ["PGPASSWORD": "not this one"]) else {
            return XCTFail("not PostgreSQL")
        }
        XCTAssertEqual(location.password, "s3cret", "the file wins over PGPASSWORD, its first line only")
        try Data().write(to: file)
        XCTAssertThrowsError(try DatabaseLocation.parse("postgres://u@h/db", passwordFile: file.path, environment: [:])) {
            XCTAssertTrue("\($0)".contains("is empty"), "\($0)")
        }
        XCTAssertThrowsError(try DatabaseLocation.parse("postgres://u@h/db", passwordFile: data.appendingPathComponent("none").path,
                                                        environment: [:])) {
            XCTAssertTrue("\($0)".contains("cannot read the database password file"), "\($0)")
        }
        XCTAssertThrowsError(try DatabaseLocation.parse(nil, passwordFile: file.path, environment: [:]))
    }

    func testAnUnreachableDatabaseIsAClearErrorAtOnce() throws {
        let url = "postgres://fieldgate@127.0.0.1:\(try PostgresCluster.freePort())/evidence"
        for command in [["gateways", "add", "east"], ["gateways", "list"], ["serve", "--port", "0"]] {
            let started = Date()
            let result = try runFieldgateServer(command + ["--data", data.path, "--database", url], timeout: 60)
            XCTAssertEqual(result.status, 1, "\(command): \(result.stdout)")
            XCTAssertTrue(result.stderr.contains("cannot reach the database \(url)"), "\(command): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains("listening"), result.stdout)
            XCTAssertLessThan(Date().timeIntervalSince(started), 30, "\(command) gave up within its connect timeout")
        }
    }

    func testAWrongPasswordIsRefusedByName() throws {
        let wrong = data.appendingPathComponent("wrong-password")
        try Data("not-the-password\n".utf8).write(to: wrong)
        let result = try runFieldgateServer(["gateways", "add", "east", "--data", data.path, "--database", cluster.url(database: databaseName),
                                             "--database-password-file", wrong.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("password authentication failed"), result.stderr)
        XCTAssertFalse(result.stderr.contains("not-the-password"), result.stderr)
        XCTAssertEqual(try sql("SELECT count(*) FROM gateway"), "0")
    }

    /// `gateways add/list/revoke` and `serve` on one PostgreSQL database, as the README shows them.
    func testTheCommandLineAddsListsRevokesAndServesOnPostgreSQL() async throws {
        await running.stop()
        let server = KillableServer(data: data)
        server.databaseArguments = databaseArguments
        let token = try server.addGateway("station-east")
        try server.start()
        child = server
        let enrolled = try await sendJSON("POST", "/v1/enroll", EnrollRequest(token: token, publicKey: Self.randomPublicKey()))
        XCTAssertEqual(enrolled.status, 200, enrolled.errorReason ?? "")
        // The password from PGPASSWORD this time, as a shell would give it.
        let listed = try runProgram(builtBinary("fieldgate-server").path,
                                    ["gateways", "list", "--json", "--data", data.path, "--database", cluster.url(database: databaseName)],
                                    environment: ["PGPASSWORD": cluster.password])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("\"station-east\"") && listed.stdout.contains("\"active\""), listed.stdout)
        let revoked = try server.runServerCommand(["gateways", "revoke", "station-east", "--data", data.path] + databaseArguments)
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        XCTAssertEqual(try sql("SELECT state FROM gateway WHERE name = 'station-east'"), "revoked")
        let credential = try enrolled.decode(EnrollResponse.self).credential
        let refused = try await send("GET", "/v1/batches/none", headers: [("Authorization", "Bearer \(credential)")])
        XCTAssertEqual(refused.status, 401, "the running server saw the revocation in the shared database")
    }

    /// Two servers on one database and one data folder: while a PATCH is held on one, the other
    /// answers 423 for that upload (an in-process lock could not see it); once the holder is
    /// killed with SIGKILL its lock goes with its connection, and the other takes the upload.
    func testTwoServersOnOneDatabaseNeverWriteOneUploadAtOnce() async throws {
        await running.stop()
        let first = KillableServer(data: data), second = KillableServer(data: data)
        for server in [first, second] {
            server.databaseArguments = databaseArguments
            server.serveArguments = ["--read-timeout", "600"]
        }
        try first.start()
        try second.start()
        defer { second.stop() }
        child = first
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(200_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        // Held on the first server: the head and the first bytes of the body, then nothing.
        let held = try RawHTTPConnection(port: first.port)
        let head = "PATCH \(location) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.credential)\r\n"
            + "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            + "Content-Length: \(blob.count)\r\n\r\n"
        try held.send(Data(head.utf8) + blob.prefix(1000))
        XCTAssertTrue(try waitForAdvisoryLocks(1), "the first server took the upload's lock in PostgreSQL")

        child = second
        let refused = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(refused.status, 423, refused.errorReason ?? "")
        first.kill()
        XCTAssertTrue(try waitForAdvisoryLocks(0), "the killed server's lock went with its connection")
        let taken = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(taken.status, 204, taken.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob, "the blob is the second server's bytes alone")
    }

    /// A second instance with a data folder of its own signs with the key the database keeps.
    func testEveryInstanceSignsWithTheKeyTheDatabaseKeeps() async throws {
        var elsewhere = configuration()
        elsewhere.dataDirectory = data.deletingLastPathComponent().appendingPathComponent("second-instance")
        let second = try await RunningServer(configuration: elsewhere)
        defer { Task { await second.stop() } }
        XCTAssertEqual(second.server.publicKey, running.server.publicKey)
        for folder in [data!, elsewhere.dataDirectory] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("server-key").path))
        }
        XCTAssertEqual(try sql("SELECT count(*) FROM server_key WHERE length(private_key) = 32 AND length(public_key) = 32"), "1")
    }

    /// An older build kept the key of a PostgreSQL server in --data: it is adopted, and a
    /// different file beside a kept key stops the server rather than change the pinned key.
    func testTheKeyFileAnOlderBuildLeftIsAdopted() async throws {
        await running.stop()
        try sql("DELETE FROM server_key")
        let older = Curve25519.Signing.PrivateKey()
        let keyFile = data.appendingPathComponent("server-key")
        try older.rawRepresentation.write(to: keyFile)
        try await restartServer()
        XCTAssertEqual(running.server.publicKey, older.publicKey.rawRepresentation)
        XCTAssertEqual(try sql("SELECT encode(private_key, 'base64') FROM server_key"), older.rawRepresentation.base64EncodedString())
        await running.stop()
        try Curve25519.Signing.PrivateKey().rawRepresentation.write(to: keyFile)
        do {
            _ = try await RunningServer(configuration: configuration())
            XCTFail("the server started with a key file other than the kept key")
        } catch {
            XCTAssertTrue("\(error)".contains(keyFile.path) && "\(error)".contains("other than the one the database keeps"), "\(error)")
        }
    }

    /// A key kept in a file of its own (--server-key): the database keeps its public half only,
    /// so a start without the file is refused by name, and so is another key.
    func testAKeyKeptOutsideTheDatabase() async throws {
        await running.stop()
        try sql("DELETE FROM server_key")
        let outside = Curve25519.Signing.PrivateKey()
        let file = data.deletingLastPathComponent().appendingPathComponent("vault-key")
        try outside.rawRepresentation.write(to: file)
        var withFile = configuration()
        withFile.serverKeyFile = file
        running = try await RunningServer(configuration: withFile)
        XCTAssertEqual(running.server.publicKey, outside.publicKey.rawRepresentation)
        XCTAssertEqual(try sql("SELECT count(*) FROM server_key WHERE private_key IS NULL"), "1", "the private half stays out")
        await running.stop()
        do {
            _ = try await RunningServer(configuration: configuration())
            XCTFail("the server started without the key it signs with")
        } catch {
            XCTAssertTrue("\(error)".contains("--server-key"), "\(error)")
        }
        running = try await RunningServer(configuration: withFile)
    }

    /// Waits (at most 10 s) until PostgreSQL holds exactly `count` advisory locks.
    private func waitForAdvisoryLocks(_ count: Int) throws -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == String(count) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    private static func randomPublicKey() -> String {
        Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
    }
}
