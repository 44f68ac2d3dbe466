import Crypto
import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

final class EnrolAndAuthTests: ServerTestCase {
    func testEnrolReturnsCredentialAndServerKey() async throws {
        let gateway = try await enrol("station-north")
        XCTAssertTrue(gateway.credential.hasPrefix(gateway.id + "."))
        XCTAssertEqual(gateway.serverPublicKey.rawRepresentation, running.server.publicKey)
        let listed = try await GatewayAdministration.list(dataDirectory: data, database: database)
        XCTAssertEqual(listed.map(\.state), [.active])
        XCTAssertNotNil(listed.first?.enrolledAt)
        let keyPath = data.appendingPathComponent("server-key").path
        if let postgres {
            // Every instance on the database signs with the key it keeps; no file to copy.
            XCTAssertFalse(FileManager.default.fileExists(atPath: keyPath))
            XCTAssertEqual(try postgres.cluster.psql(database: postgres.name, "SELECT encode(public_key, 'base64') FROM server_key"),
                           running.server.publicKey.base64EncodedString())
        } else {
            let keyFile = try FileManager.default.attributesOfItem(atPath: keyPath)
            XCTAssertEqual((keyFile[.posixPermissions] as? NSNumber)?.intValue, 0o600)
            XCTAssertEqual((keyFile[.size] as? NSNumber)?.intValue, 32)
        }
    }

    /// `--server-key` may sign instead of the kept key only if it is that key: a gateway's pinned key never changes.
    func testAServerKeyFileOtherThanThePinnedKeyIsRefused() async throws {
        let gateway = try await enrol("station-north")
        await running.stop()
        let impostor = data.deletingLastPathComponent().appendingPathComponent("other-key")
        try Curve25519.Signing.PrivateKey().rawRepresentation.write(to: impostor)
        for file in [impostor, data.deletingLastPathComponent().appendingPathComponent("no-such-key")] {
            var configuration = configuration()
            configuration.serverKeyFile = file
            do {
                _ = try await RunningServer(configuration: configuration)
                XCTFail("the server started with \(file.lastPathComponent)")
            } catch {
                XCTAssertTrue(error is ServerSetupError, "\(type(of: error)): \(error)")
                XCTAssertTrue("\(error)".contains(file.path), "\(error)")
            }
        }
        let cli = try runFieldgateServer(["gateways", "add", "station-south", "--data", data.path, "--server-key", impostor.path] + databaseArguments)
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("gateways pinned"), cli.stderr)
        running = try await RunningServer(configuration: configuration())
        XCTAssertEqual(running.server.publicKey, gateway.serverPublicKey.rawRepresentation, "the kept key signs as before")
    }

    func testTokenWorksOnce() async throws {
        let token = try await GatewayAdministration.add(name: "station-east", dataDirectory: data, database: database)
        let request = EnrollRequest(token: token, publicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString())
        let first = try await sendJSON("POST", "/v1/enroll", request)
        XCTAssertEqual(first.status, 200)
        let second = try await sendJSON("POST", "/v1/enroll", request)
        XCTAssertEqual(second.status, 401)
        XCTAssertTrue(second.errorReason?.contains("already been used") == true, second.errorReason ?? "")
        let unknown = try await sendJSON("POST", "/v1/enroll", EnrollRequest(token: "made-up", publicKey: request.publicKey))
        XCTAssertEqual(unknown.status, 401)
        XCTAssertNotNil(unknown.errorReason)
    }

    func testBadPublicKeyIs400() async throws {
        let token = try await GatewayAdministration.add(name: "station-west", dataDirectory: data, database: database)
        let answer = try await sendJSON("POST", "/v1/enroll", EnrollRequest(token: token, publicKey: "bm90IGEga2V5"))
        XCTAssertEqual(answer.status, 400)
        XCTAssertTrue(answer.errorReason?.contains("publicKey") == true)
    }

    func testMalformedEnrolBodyIs400() async throws {
        let answer = try await send("POST", "/v1/enroll", headers: [("Content-Type", "application/json")], body: Data("{nope".utf8))
        XCTAssertEqual(answer.status, 400)
        XCTAssertNotNil(answer.errorReason)
    }

    func testDuplicateGatewayNameIsRefused() async throws {
        _ = try await GatewayAdministration.add(name: "twin", dataDirectory: data, database: database)
        do {
            _ = try await GatewayAdministration.add(name: "twin", dataDirectory: data, database: database)
            XCTFail("a second gateway with the same name was created")
        } catch let error as AdministrationError {
            XCTAssertEqual(error, .duplicateName("twin"))
        }
    }

    func testMissingOrWrongCredentialIs401AndStoresNothing() async throws {
        let gateway = try await enrol("station-south")
        let blob = Data("evidence".utf8)
        var forged = gateway
        forged.credential = gateway.id + ".wrong-secret"
        for headers in [[], [("Authorization", "Bearer nonsense")], forged.bearer, [("Authorization", "Basic abc")]] {
            let manifest = BatchManifest(batchKey: "k1", gatewayId: gateway.id, createdAt: "2026-11-25T10:00:00.000Z", items: [item(blob)])
            let answer = try await sendJSON("POST", "/v1/batches", try SignedEnvelope.seal(manifest, with: gateway.key), headers: headers)
            XCTAssertEqual(answer.status, 401)
            XCTAssertNotNil(answer.errorReason)
            let upload = try await send("POST", "/v1/uploads", headers: headers + [("Tus-Resumable", "1.0.0"), ("Upload-Length", "8"),
                                                                                  ("Upload-Metadata", Tus.encodeMetadata(["sha256": Self.sha256(blob)]))])
            XCTAssertEqual(upload.status, 401)
        }
        // The batch key was never stored: the real gateway's first post of it creates the batch.
        let created = try await postManifest(gateway, items: [item(blob)], batchKey: "k1")
        XCTAssertEqual(created.status, 201)
        let uploads = try await stagedUploads()
        XCTAssertEqual(uploads, [])
    }

    /// Every route of a gateway sits behind the authentication middleware: without a credential
    /// each answers 401 with a reason (uploads keep their Tus-Resumable header), while the
    /// routes anyone may call stay open.
    func testEveryGatewayRouteNeedsACredentialAndOpenRoutesDoNot() async throws {
        let gateway = try await enrol("station-east")
        let created = try await postManifest(gateway, items: [item(Data("held".utf8))])
        let batchId = try created.decode(BatchCreated.self).batchId
        let sha256 = Self.sha256(Data("held".utf8))
        let tus = [("Tus-Resumable", Tus.version)]
        let gatewayRoutes: [(method: String, path: String, headers: [(String, String)])] = [
            ("POST", Route.batches, []), ("GET", Route.batch(batchId), []), ("POST", Route.commit(batchId), []),
            ("GET", Route.evidence(sha256), []), ("POST", Route.uploads, tus + [("Upload-Length", "4")]),
            ("HEAD", Route.upload("some-upload"), tus), ("PATCH", Route.upload("some-upload"), tus), ("DELETE", Route.upload("some-upload"), tus),
        ]
        for route in gatewayRoutes {
            let answer = try await send(route.method, route.path, headers: route.headers)
            XCTAssertEqual(answer.status, 401, "\(route.method) \(route.path)")
            if route.method != "HEAD" {
                XCTAssertEqual(answer.errorReason?.hasPrefix("missing Authorization header"), true, "\(route.method) \(route.path)")
            }
            if route.path.hasPrefix(Route.uploads) { XCTAssertEqual(answer.header("Tus-Resumable"), Tus.version) }
        }
        // Another gateway's batch is as unknown as a missing one, found through the context's gateway.
        let other = try await enrol("station-west")
        let foreign = try await send("GET", Route.batch(batchId), headers: other.bearer)
        XCTAssertEqual(foreign.status, 404)
        let own = try await send("GET", Route.batch(batchId), headers: gateway.bearer)
        XCTAssertEqual(own.status, 200)
        XCTAssertEqual(try own.decode(BatchCreated.self).state, "open")
        XCTAssertEqual(own.header("Content-Type"), "application/json; charset=utf-8")
        for path in [Route.health, Route.metrics, Route.apiDescription] {
            let answer = try await send("GET", path)
            XCTAssertEqual(answer.status, 200, path)
        }
        let discovery = try await send("OPTIONS", Route.uploads)
        XCTAssertEqual(discovery.status, 204)
    }

    func testRevokedGatewayIsRefusedAtTheNextRequest() async throws {
        let gateway = try await enrol("station-lost")
        let before = try await postManifest(gateway, items: [item(Data("a".utf8))])
        XCTAssertEqual(before.status, 201)
        try await GatewayAdministration.revoke(name: "station-lost", dataDirectory: data, database: database)
        let after = try await postManifest(gateway, items: [item(Data("b".utf8))], batchKey: "after-revocation")
        XCTAssertEqual(after.status, 401)
        XCTAssertEqual(after.errorReason, "gateway station-lost has been revoked")
        let listed = try await GatewayAdministration.list(dataDirectory: data, database: database)
        XCTAssertEqual(listed.first?.state, .revoked)
        do {
            try await GatewayAdministration.revoke(name: "nobody", dataDirectory: data, database: database)
            XCTFail("revoking an unknown gateway succeeded")
        } catch let error as AdministrationError {
            XCTAssertEqual(error, .unknownName("nobody"))
        }
    }

    func testRevokedGatewaysTokenCannotEnrol() async throws {
        let token = try await GatewayAdministration.add(name: "never-enrolled", dataDirectory: data, database: database)
        try await GatewayAdministration.revoke(name: "never-enrolled", dataDirectory: data, database: database)
        let answer = try await sendJSON("POST", "/v1/enroll",
                                        EnrollRequest(token: token, publicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()))
        XCTAssertEqual(answer.status, 401)
        XCTAssertEqual(answer.errorReason, "gateway never-enrolled has been revoked")
    }
}
