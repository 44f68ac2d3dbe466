import Foundation
import TestSupport
import Timestamping
import XCTest

/// Queries made by this module and replies from a real RFC 3161 authority (`openssl ts -reply`),
/// each side also read by `openssl ts`, not only by our code.
final class TimeStampMessageTests: XCTestCase {
    let receipt = Data(#"{"batchId":"b-1","caseNo":"城管罚字〔2026〕第0042号"}"#.utf8)

    var receiptDigest: [UInt8] {
        // sha256sum's view of the bytes, so the imprint is not checked against our own hashing.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tsa-digest-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("receipt.json")
        try? receipt.write(to: file)
        let hex = (try? runProgram("/usr/bin/sha256sum", [file.path]).stdout.prefix(64)).map(String.init) ?? ""
        return stride(from: 0, to: hex.count, by: 2).compactMap {
            UInt8(hex[hex.index(hex.startIndex, offsetBy: $0)..<hex.index(hex.startIndex, offsetBy: $0 + 2)], radix: 16)
        }
    }

    func post(_ query: [UInt8], to authority: TestTimestampAuthority, in folder: URL) throws -> [UInt8] {
        let queryFile = folder.appendingPathComponent("query-\(UUID().uuidString).tsq")
        let replyFile = folder.appendingPathComponent("reply-\(UUID().uuidString).tsr")
        try Data(query).write(to: queryFile)
        let posted = try runProgram("/usr/bin/curl", ["-sS", "--fail", "-H", "Content-Type: application/timestamp-query",
                                                      "--data-binary", "@\(queryFile.path)", "-o", replyFile.path, authority.url])
        XCTAssertEqual(posted.status, 0, posted.stderr)
        return Array(try Data(contentsOf: replyFile))
    }

    func testAQueryIsReadByOpenSSLAndItsTokenVerifiesAgainstTheAuthoritysCA() throws {
        let folder = try temporaryFolder(self)
        let authority = try TestTimestampAuthority(folder: folder.appendingPathComponent("tsa"))
        defer { authority.stop() }
        let query = TimeStampQuery(imprint: MessageImprint(sha256: receiptDigest), nonce: 0xFEED_FACE_CAFE_BEEF)
        let queryBytes = try query.derEncoded()
        let queryFile = folder.appendingPathComponent("query.tsq")
        try Data(queryBytes).write(to: queryFile)
        let shown = try runProgram("/usr/bin/openssl", ["ts", "-query", "-in", queryFile.path, "-text"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("Hash Algorithm: sha256"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("Nonce: 0xFEEDFACECAFEBEEF"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("Certificate required: yes"), shown.stdout)

        let started = Date()
        let replyBytes = try post(queryBytes, to: authority, in: folder)
        let reply = try TimeStampReply(derEncoded: replyBytes)
        XCTAssertEqual(reply.status, .granted)
        let info = try reply.check(answering: query)
        XCTAssertEqual(info.imprint.hashedMessage, receiptDigest)
        XCTAssertEqual(info.nonce, 0xFEED_FACE_CAFE_BEEF)
        XCTAssertEqual(info.time.timeIntervalSince1970, started.timeIntervalSince1970, accuracy: 120)
        XCTAssertFalse(info.serialNumber.isEmpty)
        XCTAssertEqual(reply.derBytes, replyBytes)

        let data = folder.appendingPathComponent("receipt.json"), replyFile = folder.appendingPathComponent("receipt.json.tsr")
        try receipt.write(to: data)
        try Data(replyBytes).write(to: replyFile)
        let verified = try runProgram("/usr/bin/openssl", ["ts", "-verify", "-data", data.path, "-in", replyFile.path,
                                                           "-CAfile", authority.caCertificate.path])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        XCTAssertTrue(verified.stdout.contains("Verification: OK"), verified.stdout)
        // One changed byte of the receipt and the same token no longer verifies.
        var altered = receipt
        altered[altered.startIndex] ^= 0x01
        try altered.write(to: data)
        let refused = try runProgram("/usr/bin/openssl", ["ts", "-verify", "-data", data.path, "-in", replyFile.path,
                                                          "-CAfile", authority.caCertificate.path])
        XCTAssertNotEqual(refused.status, 0, refused.stdout)
    }

    func testATokenOverAnotherHashOrForAnotherNonceIsNotAccepted() throws {
        let folder = try temporaryFolder(self)
        let liar = try TestTimestampAuthority(folder: folder.appendingPathComponent("tsa"), behaviour: .wrongImprint)
        defer { liar.stop() }
        let query = TimeStampQuery(imprint: MessageImprint(sha256: receiptDigest))
        let reply = try TimeStampReply(derEncoded: try post(try query.derEncoded(), to: liar, in: folder))
        XCTAssertEqual(reply.status, .granted)
        XCTAssertThrowsError(try reply.check(answering: query)) { error in
            guard case .wrongImprint = error as? TimestampError else { return XCTFail("\(error)") }
        }
        liar.stop()

        let honest = try TestTimestampAuthority(folder: folder.appendingPathComponent("tsa"))
        defer { honest.stop() }
        let first = TimeStampQuery(imprint: MessageImprint(sha256: receiptDigest))
        let replayed = try TimeStampReply(derEncoded: try post(try first.derEncoded(), to: honest, in: folder))
        var second = first
        second.nonce = first.nonce &+ 1
        XCTAssertThrowsError(try replayed.check(answering: second)) { error in
            guard case .wrongNonce = error as? TimestampError else { return XCTFail("\(error)") }
        }
    }

    func testARejectionIsReadAsARefusalWithTheAuthoritysWords() throws {
        let folder = try temporaryFolder(self)
        let authority = try TestTimestampAuthority(folder: folder.appendingPathComponent("tsa"))
        defer { authority.stop() }
        // The authority accepts SHA-256 and longer only: a SHA-1 query made by openssl is rejected.
        let data = folder.appendingPathComponent("receipt.json"), queryFile = folder.appendingPathComponent("sha1.tsq")
        try receipt.write(to: data)
        let made = try runProgram("/usr/bin/openssl", ["ts", "-query", "-data", data.path, "-sha1", "-out", queryFile.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let reply = try TimeStampReply(derEncoded: try post(Array(try Data(contentsOf: queryFile)), to: authority, in: folder))
        XCTAssertEqual(reply.status, .rejection)
        XCTAssertNil(reply.info)
        XCTAssertThrowsError(try reply.check(answering: TimeStampQuery(imprint: MessageImprint(sha256: receiptDigest)))) { error in
            guard case .refused(let why) = error as? TimestampError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("rejection"), why)
        }
    }

    func testBytesThatAreNoReplyAreNamedMalformed() throws {
        for bytes: [UInt8] in [[], [0x30, 0x03, 0x02, 0x01], Array("<html>503</html>".utf8), [0x30, 0x03, 0x02, 0x01, 0x09]] {
            XCTAssertThrowsError(try TimeStampReply(derEncoded: bytes), "\(bytes)") { error in
                guard case .malformedReply = error as? TimestampError else { return XCTFail("\(error)") }
            }
        }
    }
}
