import Foundation
import SyncProtocol
import XCTest

/// Chunks whose connection drops before the announced body length arrived.
final class InterruptedUploadTests: ServerTestCase {
    func testDroppedChunkWithoutChecksumKeepsReceivedBytes() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(4000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        try sendTruncatedPatch(gateway, location, announced: blob.count, sent: blob.prefix(1500))
        let offset = try await waitForOffset(gateway, location) { $0 == 1500 }
        XCTAssertEqual(offset, 1500)
        let rest = try await patch(gateway, location, offset: 1500, Data(blob.suffix(from: 1500)))
        XCTAssertEqual(rest.status, 204, rest.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testDroppedChunkWithChecksumKeepsNothing() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(4000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        try sendTruncatedPatch(gateway, location, announced: blob.count, sent: blob.prefix(1500),
                               checksum: "sha256 " + Tus.ChecksumAlgorithm.sha256.digest(blob))
        // The retry is refused (409) while the server still holds the dropped request.
        var answer = try await patch(gateway, location, offset: 0, blob)
        let deadline = Date().addingTimeInterval(10)
        while answer.status == 409 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            answer = try await patch(gateway, location, offset: 0, blob)
        }
        XCTAssertEqual(answer.status, 204, answer.errorReason ?? "")
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    /// Writes a PATCH announcing `announced` bytes, sends only `sent`, and closes the connection.
    private func sendTruncatedPatch(_ gateway: TestGateway, _ location: String, announced: Int, sent: Data,
                                    checksum: String? = nil) throws {
        var head = "PATCH \(location) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.credential)\r\n"
            + "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            + "Content-Length: \(announced)\r\n"
        if let checksum { head += "Upload-Checksum: \(checksum)\r\n" }
        head += "\r\n"
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(running.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        let bytes = Data(head.utf8) + sent
        let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
        XCTAssertEqual(written, bytes.count)
        // Let the bytes reach the server before the connection goes.
        Thread.sleep(forTimeInterval: 0.2)
    }

    private func waitForOffset(_ gateway: TestGateway, _ location: String, until done: (Int) -> Bool) async throws -> Int? {
        let deadline = Date().addingTimeInterval(10)
        var offset: Int?
        repeat {
            offset = try await send("HEAD", location, headers: gateway.tus).header("Upload-Offset").flatMap { Int($0) }
            if let offset, done(offset) { return offset }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        return offset
    }
}
