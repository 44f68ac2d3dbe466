import Crypto
import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Several `fieldgate-server` processes on one PostgreSQL database and one S3 bucket, behind
/// nginx, as a prefecture runs them: no instance holds anything the others need.
final class ScaleOutTests: ServerTestCase {
    override class var backend: TestBackend { .postgresql }
    override class var blobBackend: TestBlobBackend { .s3 }

    /// An upload begun through the balancer, its instance killed (SIGKILL) in the middle of a
    /// chunk: the other instance answers the offset acknowledged before, takes the rest, and the
    /// blob and receipt are what a single server would have made, signed with the pinned key.
    func testAnUploadWhoseInstanceIsKilledMidChunkResumesOnAnother() async throws {
        await running.stop()
        let instances = (0..<2).map { KillableServer(data: data.appendingPathComponent("instance-\($0)")) }
        for (index, instance) in instances.enumerated() {
            instance.databaseArguments = databaseArguments
            instance.serveArguments = ["--instance", "instance-\(index)", "--read-timeout", "600"]
            try instance.start()
        }
        defer { instances.forEach { $0.stop() } }
        let balancer = try Nginx(upstreams: instances.map(\.port))
        defer { balancer.stop() }

        // Each instance, asked directly, hands out the one key the database keeps.
        var pinned: [Data] = []
        for instance in instances {
            endpoint = instance.url
            pinned.append(try await enrol("direct-\(instance.port)").serverPublicKey.rawRepresentation)
        }
        endpoint = balancer.url
        let gateway = try await enrol("station-north")
        XCTAssertEqual(Set(pinned + [gateway.serverPublicKey.rawRepresentation]).count, 1, "every instance signs with one key")
        for instance in instances {
            XCTAssertFalse(FileManager.default.fileExists(atPath: instance.data.appendingPathComponent("server-key").path))
        }

        let blob = Self.randomBlob(13 << 20)
        let created = try await postManifest(gateway, items: [item(blob)])
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let first = try await patch(gateway, location, offset: 0, blob.prefix(6 << 20))
        XCTAssertEqual(first.status, 204, first.errorReason ?? "")
        let acknowledged = 6 << 20

        // The next chunk, through the balancer by hand: its head and 4 MiB, then nothing.
        let held = try RawHTTPConnection(port: balancer.port)
        let remaining = blob.count - acknowledged
        let head = "PATCH \(location) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.credential)\r\n"
            + "Tus-Resumable: 1.0.0\r\nUpload-Offset: \(acknowledged)\r\nContent-Type: application/offset+octet-stream\r\n"
            + "Content-Length: \(remaining)\r\n\r\n"
        try held.send(Data(head.utf8) + blob.dropFirst(acknowledged).prefix(4 << 20))
        // Which instance is receiving it, by each one's own metrics.
        let holder = try XCTUnwrap(try waitForReceiver(among: instances), "no instance reports receiving the chunk")
        let survivor = instances.first { $0 !== holder }!
        XCTAssertEqual(try survivor.metric("fieldgate_uploads_receiving"), 0)
        holder.kill()

        let offset = try await retryWhileLocked { try await self.send("HEAD", location, headers: gateway.tus) }
        XCTAssertEqual(offset.status, 200, offset.errorReason ?? "")
        XCTAssertEqual(offset.header("Upload-Offset"), String(acknowledged), "the acknowledged offset outlived its instance")
        XCTAssertEqual(offset.header("Fieldgate-Instance"), "instance-\(instances.firstIndex { $0 === survivor }!)")
        let rest = try await retryWhileLocked { try await self.patch(gateway, location, offset: acknowledged, blob.dropFirst(acknowledged)) }
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        XCTAssertEqual(rest.header("Upload-Offset"), String(blob.count))
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob, "the blob is the bytes sent, joined across two instances")

        let batchId = try created.decode(BatchCreated.self).batchId
        let commit = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        let receipt = try commit.decode(SignedEnvelope.self).open(Receipt.self, verifyingWith: gateway.serverPublicKey)
        XCTAssertEqual(receipt.items.map(\.sha256), [Self.sha256(blob)])
        XCTAssertEqual(try survivor.metric("fieldgate_instance_info"), 1)
    }

    /// Waits (at most 10 s) for one instance's `fieldgate_uploads_receiving` to read 1.
    private func waitForReceiver(among instances: [KillableServer]) throws -> KillableServer? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            for instance in instances where try instance.metric("fieldgate_uploads_receiving") == 1 { return instance }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// The killed instance's lock goes with its PostgreSQL connection, which the database may
    /// notice a moment later: a gateway retries a 423, and so does this (at most 10 s).
    private func retryWhileLocked(_ request: @escaping () async throws -> HTTPAnswer) async throws -> HTTPAnswer {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let answer = try await request()
            guard answer.status == 423, Date() < deadline else { return answer }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
