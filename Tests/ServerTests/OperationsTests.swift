import AsyncHTTPClient
import Foundation
import HummingbirdTLS
import Server
import SyncProtocol
import TestSupport
import XCTest

final class OperationsTests: ServerTestCase {
    func testHealthz() async throws {
        let answer = try await send("GET", "/healthz")
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(try answer.decode([String: String].self), ["status": "ok"])
    }

    func testMetricsNameTheCounters() async throws {
        let gateway = try await enrol("g1")
        try await upload(gateway, Data("counted".utf8))
        _ = try await send("POST", "/v1/batches", body: Data())
        let answer = try await send("GET", "/metrics")
        XCTAssertEqual(answer.status, 200)
        let text = String(decoding: answer.body, as: UTF8.self)
        for name in ["fieldgate_upload_bytes_received_total", "fieldgate_upload_chunks_rejected_total",
                     "fieldgate_uploads_completed_total", "fieldgate_batches_committed_total",
                     "fieldgate_receipts_issued_total", "fieldgate_requests_unauthorized_total"] {
            XCTAssertTrue(text.contains("\n\(name) ") || text.hasPrefix("\(name) "), "\(name) missing from:\n\(text)")
        }
    }

    /// Behind a load balancer, each answer (errors too) and each instance's metrics name the instance.
    func testEveryAnswerAndTheMetricsNameTheInstance() async throws {
        let expected = "\(ProcessInfo.processInfo.hostName):\(running.port)"
        for path in ["/healthz", "/v1/no-such-route", "/v1/batches/x/commit"] {
            let answer = try await send("GET", path)
            XCTAssertEqual(answer.header("Fieldgate-Instance"), expected, "\(path) answered \(answer.status)")
        }
        let text = String(decoding: try await send("GET", "/metrics").body, as: UTF8.self)
        XCTAssertTrue(text.contains("fieldgate_instance_info{instance=\"\(expected)\"} 1"), text)
        for name in ["fieldgate_uploads_receiving", "fieldgate_upload_lock_conflicts_total", "fieldgate_instance_start_time_seconds"] {
            XCTAssertTrue(text.contains("\n\(name)"), "\(name) missing from:\n\(text)")
        }
        await running.stop()
        var named = configuration()
        named.instanceName = "centre-b"
        running = try await RunningServer(configuration: named)
        let answer = try await send("GET", "/healthz")
        XCTAssertEqual(answer.header("Fieldgate-Instance"), "centre-b")
    }

    func testCountersCountRejectedChunksAndReceipts() async throws {
        let gateway = try await enrol("g1")
        let blob = Data("counted twice".utf8)
        let before = try await counters()
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let rejected = try await patch(gateway, location, offset: 0, blob, checksum: "sha256 " + Tus.ChecksumAlgorithm.sha256.digest(Data("x".utf8)))
        XCTAssertEqual(rejected.status, 460)
        let accepted = try await patch(gateway, location, offset: 0, blob)
        XCTAssertEqual(accepted.status, 204)
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200)
        _ = try await send("GET", "/v1/batches/\(created.batchId)")
        let after = try await counters()
        // Other tests' servers share the process's counters, hence "at least".
        XCTAssertGreaterThanOrEqual(after["fieldgate_upload_chunks_rejected_total", default: 0] - before["fieldgate_upload_chunks_rejected_total", default: 0], 1)
        XCTAssertGreaterThanOrEqual(after["fieldgate_upload_bytes_received_total", default: 0] - before["fieldgate_upload_bytes_received_total", default: 0],
                                    Double(2 * blob.count))
        XCTAssertGreaterThanOrEqual(after["fieldgate_uploads_completed_total", default: 0] - before["fieldgate_uploads_completed_total", default: 0], 1)
        XCTAssertGreaterThanOrEqual(after["fieldgate_receipts_issued_total", default: 0] - before["fieldgate_receipts_issued_total", default: 0], 1)
        XCTAssertGreaterThanOrEqual(after["fieldgate_batches_committed_total", default: 0] - before["fieldgate_batches_committed_total", default: 0], 1)
        XCTAssertGreaterThanOrEqual(after["fieldgate_requests_unauthorized_total", default: 0] - before["fieldgate_requests_unauthorized_total", default: 0], 1)
    }

    private func counters() async throws -> [String: Double] {
        let text = String(decoding: try await send("GET", "/metrics").body, as: UTF8.self)
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("fieldgate_") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    func testOpenAPIDocumentIsTheRepositoryFile() async throws {
        let answer = try await send("GET", "/openapi.yaml")
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.header("Content-Type"), "application/yaml")
        let file = try Data(contentsOf: repositoryRoot.appendingPathComponent("Sources/Server/openapi.yaml"))
        XCTAssertEqual(answer.body, file)
    }

    func testOpenAPIDocumentValidates() throws {
        let path = repositoryRoot.appendingPathComponent("Sources/Server/openapi.yaml").path
        let result = try runPython(["-m", "openapi_spec_validator", path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
    }

    func testTuspyUploadsABlob() async throws {
        let gateway = try await enrol("python")
        let blob = Self.randomBlob(3_000_000)
        let file = data.appendingPathComponent("recording.bin")
        try blob.write(to: file)
        let script = repositoryRoot.appendingPathComponent("Tests/ServerTests/tuspy_upload.py").path
        let result = try runPython([script, running.baseURL, gateway.credential, file.path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        let created = try await postManifest(gateway, items: [item(blob)]).decode(BatchCreated.self)
        XCTAssertEqual(created.missing, [])
    }

    func testServesHTTPSWithAGivenCertificate() async throws {
        let certificate = data.appendingPathComponent("cert.pem").path, key = data.appendingPathComponent("key.pem").path
        let openssl = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1",
                                                          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                          "-keyout", key, "-out", certificate])
        XCTAssertEqual(openssl.status, 0, openssl.stderr)
        let secure = try await RunningServer(configuration: ServerConfiguration(
            dataDirectory: data, host: "127.0.0.1", port: 0, tlsCertificatePath: certificate, tlsKeyPath: key))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        // BoringSSL clients offer Ed25519 only when asked to.
        tls.verifySignatureAlgorithms = [.ed25519, .ecdsaSecp256R1Sha256, .rsaPssRsaeSha256]
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
        do {
            let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(secure.port)/healthz"), timeout: .seconds(30))
            XCTAssertEqual(response.status.code, 200)
            let body = try await response.body.collect(upTo: 1024)
            XCTAssertEqual(String(decoding: body.readableBytesView, as: UTF8.self), #"{"status":"ok"}"#)
        } catch {
            XCTFail("HTTPS request failed: \(error)")
        }
        try await client.shutdown()
        await secure.stop()
    }

    func testTLSNeedsCertificateAndKey() async throws {
        for (certificate, key) in [("/tmp/cert.pem", nil), (nil, "/tmp/key.pem")] as [(String?, String?)] {
            do {
                _ = try await EvidenceServer(configuration: ServerConfiguration(
                    dataDirectory: data, tlsCertificatePath: certificate, tlsKeyPath: key))
                XCTFail("a server with half of the TLS files started")
            } catch {
                XCTAssertTrue(error is ServerSetupError, "\(type(of: error)): \(error)")
                XCTAssertTrue("\(error)".contains("--tls-cert") && "\(error)".contains("--tls-key"), "\(error)")
            }
        }
    }

    func testCommandLineAddsListsRevokesAndServes() async throws {
        let folder = data.appendingPathComponent("cli")
        let added = try runFieldgateServer(["gateways", "add", "station-cli", "--data", folder.path] + databaseArguments)
        XCTAssertEqual(added.status, 0, added.stderr)
        let token = try XCTUnwrap(added.stdout.split(separator: "\n").last.map(String.init))
        let duplicate = try runFieldgateServer(["gateways", "add", "station-cli", "--data", folder.path] + databaseArguments)
        XCTAssertEqual(duplicate.status, 1)
        XCTAssertTrue(duplicate.stderr.contains("exists already"), duplicate.stderr)

        let halfTLS = try runFieldgateServer(["serve", "--data", folder.path, "--port", "0", "--tls-cert", "cert.pem"] + databaseArguments)
        XCTAssertNotEqual(halfTLS.status, 0)
        XCTAssertTrue(halfTLS.stderr.contains("--tls-key"), halfTLS.stderr)
        let table = try runFieldgateServer(["gateways", "list", "--data", folder.path] + databaseArguments)
        XCTAssertTrue(table.stdout.contains("station-cli") && table.stdout.contains("invited"), table.stdout)

        let server = try startFieldgateServer(["serve", "--data", folder.path, "--port", "0"] + databaseArguments)
        defer { server.stop() }
        let url = try server.waitForListeningURL()
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:"), url)
        var request = HTTPClientRequest(url: url + "/v1/enroll")
        request.method = .POST
        request.body = .bytes(try WireCoding.encoder.encode(
            EnrollRequest(token: token, publicKey: Data(repeating: 7, count: 32).base64EncodedString())))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        XCTAssertEqual(response.status.code, 200)

        let listed = try runFieldgateServer(["gateways", "list", "--data", folder.path, "--json"] + databaseArguments)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("\"state\" : \"active\""), listed.stdout)
        let revoked = try runFieldgateServer(["gateways", "revoke", "station-cli", "--data", folder.path] + databaseArguments)
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        let afterRevoke = try runFieldgateServer(["gateways", "list", "--data", folder.path, "--json"] + databaseArguments)
        XCTAssertTrue(afterRevoke.stdout.contains("\"state\" : \"revoked\""), afterRevoke.stdout)
        // The running server refuses the revoked gateway's credential at its next request.
        let enrolled = try WireCoding.decoder.decode(EnrollResponse.self, from: Data(try await response.body.collect(upTo: 1 << 16).readableBytesView))
        var asRevoked = HTTPClientRequest(url: url + "/v1/batches/none")
        asRevoked.headers.add(name: "Authorization", value: "Bearer \(enrolled.credential)")
        let refused = try await HTTPClient.shared.execute(asRevoked, timeout: .seconds(30))
        XCTAssertEqual(refused.status.code, 401)
        let reason = String(decoding: try await refused.body.collect(upTo: 1 << 16).readableBytesView, as: UTF8.self)
        XCTAssertTrue(reason.contains("station-cli has been revoked"), reason)
        let unknown = try runFieldgateServer(["gateways", "revoke", "nobody", "--data", folder.path] + databaseArguments)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(server.terminate(), 0)
    }

    private func runPython(_ arguments: [String]) throws -> CommandResult {
        try runProgram("/usr/bin/env", ["python3"] + arguments)
    }
}
