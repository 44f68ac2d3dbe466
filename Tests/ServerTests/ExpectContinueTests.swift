import Foundation
import SyncProtocol
import TestSupport
import XCTest

/// `Expect: 100-continue`: 100 Continue once a request passes its checks, its final error at
/// once when it will not, so a refused client never sends the body.
final class ExpectContinueTests: ServerTestCase {
    // MARK: Raw socket: what arrives before any body byte is sent

    func testAnAcceptedPatchGets100ContinueBeforeItsBodyIsSent() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(200_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let connection = try RawHTTPConnection(port: running.port)
        try connection.send(patchHead(location, credential: gateway.credential, offset: 0, length: blob.count))

        let interim = try connection.readHead()
        XCTAssertEqual(interim.status, 100, interim.text)
        try connection.send(blob)
        let final = try connection.readHead()
        XCTAssertEqual(final.status, 204, final.text)
        XCTAssertEqual(final.header("upload-offset"), String(blob.count))
        XCTAssertNil(final.header("connection"))
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)

        // The connection carries the next request as usual.
        try connection.send(Data("HEAD \(location) HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer \(gateway.credential)\r\n\r\n".utf8))
        let head = try connection.readHead()
        XCTAssertEqual(head.status, 200, head.text)
        XCTAssertEqual(head.header("upload-offset"), String(blob.count))
    }

    func testABadCredentialGets401AtOnceAndTheConnectionClosesWithoutTheBody() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(50_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let connection = try RawHTTPConnection(port: running.port)
        try connection.send(patchHead(location, credential: gateway.id + ".not-the-secret", offset: 0, length: blob.count))

        let final = try connection.readHead()
        XCTAssertEqual(final.status, 401, final.text)
        XCTAssertEqual(final.header("connection"), "close")
        XCTAssertTrue(try connection.closesWithoutFurtherAnswer(), "the server kept the connection waiting for a body it refused")
        let head = try await send("HEAD", location, headers: gateway.tus)
        XCTAssertEqual(head.header("Upload-Offset"), "0")
    }

    func testAWrongOffsetGets409AtOnceWithTheOffsetToResumeFrom() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(60_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let connection = try RawHTTPConnection(port: running.port)
        try connection.send(patchHead(location, credential: gateway.credential, offset: 1000, length: blob.count - 1000))

        let final = try connection.readHead()
        XCTAssertEqual(final.status, 409, final.text)
        XCTAssertEqual(final.header("upload-offset"), "0")
        XCTAssertEqual(final.header("connection"), "close")
        XCTAssertTrue(try connection.closesWithoutFurtherAnswer())
    }

    func testABodyLargerThanTheUploadHasRoomForGets413AtOnce() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(10_000)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let connection = try RawHTTPConnection(port: running.port)
        try connection.send(patchHead(location, credential: gateway.credential, offset: 0, length: blob.count + 1))

        let final = try connection.readHead()
        XCTAssertEqual(final.status, 413, final.text)
        XCTAssertEqual(final.header("connection"), "close")
        XCTAssertTrue(try connection.closesWithoutFurtherAnswer())
    }

    func testACreationWithUploadOverTheMaximumSizeGets413AtOnce() async throws {
        let gateway = try await enrol("g1")
        let connection = try RawHTTPConnection(port: running.port)
        let metadata = Tus.encodeMetadata(["sha256": String(repeating: "a", count: 64)])
        try connection.send(Data("""
            POST /v1/uploads HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Bearer \(gateway.credential)\r
            Tus-Resumable: 1.0.0\r
            Upload-Length: \(maxUploadSize + 1)\r
            Upload-Metadata: \(metadata)\r
            Content-Type: application/offset+octet-stream\r
            Content-Length: \(maxUploadSize + 1)\r
            Expect: 100-continue\r
            \r

            """.utf8))
        let final = try connection.readHead()
        XCTAssertEqual(final.status, 413, final.text)
        XCTAssertTrue(try connection.closesWithoutFurtherAnswer())
    }

    func testAManifestPostedWithExpectGets100ContinueAfterItsCredentialIsChecked() async throws {
        let connection = try RawHTTPConnection(port: running.port)
        try connection.send(Data("POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n".utf8))
        let final = try connection.readHead()
        XCTAssertEqual(final.status, 401, final.text)
        XCTAssertTrue(try connection.closesWithoutFurtherAnswer())
    }

    // MARK: curl as it behaves by default

    func testCurlUploadsWithItsDefaultExpectAndGets100Continue() async throws {
        let gateway = try await enrol("g1")
        // Large enough that curl sends Expect: 100-continue on its own.
        let blob = Self.randomBlob(2 << 20)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let file = data.appendingPathComponent("clip.bin")
        try blob.write(to: file)
        // A server that never answers 100 would make curl wait this long before sending anyway;
        // the verbose log below tells the two apart.
        let result = try runProgram("/usr/bin/env", [
            "curl", "-sS", "-v", "--expect100-timeout", "30", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-T", file.path,
            running.baseURL + location, "-H", "Authorization: Bearer \(gateway.credential)", "-H", "Tus-Resumable: 1.0.0",
            "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
        ], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "204", result.stderr)
        XCTAssertTrue(result.stderr.contains("> Expect: 100-continue"), result.stderr)
        XCTAssertTrue(result.stderr.contains("< HTTP/1.1 100 Continue"), result.stderr)
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
    }

    func testCurlWithABadCredentialGets401WithoutSendingTheBody() async throws {
        let gateway = try await enrol("g1")
        let blob = Self.randomBlob(2 << 20)
        let location = try await createUpload(gateway, length: blob.count, sha256: Self.sha256(blob))
        let file = data.appendingPathComponent("clip.bin")
        try blob.write(to: file)
        let before = try await metric("fieldgate_upload_bytes_received_total")
        let result = try runProgram("/usr/bin/env", [
            "curl", "-sS", "-v", "--expect100-timeout", "30", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-T", file.path,
            running.baseURL + location, "-H", "Authorization: Bearer \(gateway.id).wrong", "-H", "Tus-Resumable: 1.0.0",
            "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
        ], timeout: 60)
        XCTAssertEqual(result.stdout, "401", result.stderr)
        XCTAssertFalse(result.stderr.contains("100 Continue"), result.stderr)
        let after = try await metric("fieldgate_upload_bytes_received_total")
        XCTAssertEqual(after, before)
    }

    // MARK: Helpers

    private func patchHead(_ location: String, credential: String, offset: Int, length: Int) -> Data {
        Data("""
            PATCH \(location) HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Bearer \(credential)\r
            Tus-Resumable: 1.0.0\r
            Upload-Offset: \(offset)\r
            Content-Type: application/offset+octet-stream\r
            Content-Length: \(length)\r
            Expect: 100-continue\r
            \r

            """.utf8)
    }

    private func metric(_ name: String) async throws -> Double {
        let answer = try await send("GET", "/metrics")
        let line = String(decoding: answer.body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return Double(line?.split(separator: " ").last ?? "0") ?? 0
    }
}

/// HTTP/1.1 by hand over a TCP socket to 127.0.0.1, to see exactly what the server sends when.
final class RawHTTPConnection {
    struct Head {
        var status: Int
        var text: String

        func header(_ name: String) -> String? {
            for line in text.split(separator: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    private let descriptor: Int32
    private var received = Data()

    /// Connects, with a 10-second limit on every read so a silent server fails the test.
    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawHTTPError.system("socket") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw RawHTTPError.system("connect")
        }
    }

    deinit { close(descriptor) }

    func send(_ data: Data) throws {
        try data.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let count = Glibc.send(descriptor, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
                guard count > 0 else { throw RawHTTPError.system("send") }
                done += count
            }
        }
    }

    /// The next response head (status line and headers); its body, if any, stays unread.
    func readHead() throws -> Head {
        while true {
            if let end = received.range(of: Data("\r\n\r\n".utf8)) {
                let text = String(decoding: received[received.startIndex..<end.lowerBound], as: UTF8.self)
                received.removeSubrange(received.startIndex..<end.upperBound)
                let fields = text.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2, let status = Int(fields[1]) else { throw RawHTTPError.malformed(text) }
                let head = Head(status: status, text: text)
                if let length = head.header("content-length").flatMap(Int.init) { try skip(length) }
                return head
            }
            guard try receiveMore() else { throw RawHTTPError.closed(String(decoding: received, as: UTF8.self)) }
        }
    }

    /// Whether the server closes the connection (end of stream) without sending anything more.
    func closesWithoutFurtherAnswer() throws -> Bool {
        while try receiveMore() {}
        return received.isEmpty
    }

    private func skip(_ count: Int) throws {
        while received.count < count {
            guard try receiveMore() else { throw RawHTTPError.closed("body cut short") }
        }
        received.removeFirst(count)
    }

    /// Reads what has arrived; false at end of stream. A read that times out throws.
    private func receiveMore() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count < 0 { throw RawHTTPError.system("recv (timed out after 10 s?)") }
        received.append(contentsOf: buffer[0..<count])
        return count > 0
    }
}

enum RawHTTPError: Error, CustomStringConvertible {
    case system(String)
    case malformed(String)
    case closed(String)

    var description: String {
        switch self {
        case .system(let call): "\(call) failed: \(String(cString: strerror(errno)))"
        case .malformed(let text): "not an HTTP response head: \(text)"
        case .closed(let text): "the connection closed early; received so far: \(text)"
        }
    }
}
