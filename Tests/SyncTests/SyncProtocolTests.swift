import Crypto
import Foundation
import Sync
import SyncProtocol
import XCTest

final class SyncProtocolTests: XCTestCase {
    func testASealedEnvelopeOpensOnlyWithTheSignersKeyAndUnchangedBytes() throws {
        let key = Curve25519.Signing.PrivateKey()
        let receipt = Receipt(batchId: "b1", batchKey: "k1", gatewayId: "g1", items: [.init(sha256: String(repeating: "a", count: 64), size: 3)],
                              serverTime: "2026-11-25T10:00:00.000Z")
        let envelope = try SignedEnvelope.seal(receipt, with: key)
        XCTAssertEqual(try envelope.open(Receipt.self, verifyingWith: key.publicKey), receipt)

        let impostor = Curve25519.Signing.PrivateKey()
        XCTAssertThrowsError(try envelope.open(Receipt.self, verifyingWith: impostor.publicKey)) {
            XCTAssertEqual($0 as? EnvelopeError, .badSignature)
        }
        var payload = try XCTUnwrap(Data(base64Encoded: envelope.payload))
        payload[payload.count / 2] ^= 0x01
        let altered = SignedEnvelope(payload: payload.base64EncodedString(), signature: envelope.signature)
        XCTAssertThrowsError(try altered.open(Receipt.self, verifyingWith: key.publicKey)) {
            XCTAssertEqual($0 as? EnvelopeError, .badSignature)
        }
        let garbage = SignedEnvelope(payload: "%%%", signature: envelope.signature)
        XCTAssertThrowsError(try garbage.open(Receipt.self, verifyingWith: key.publicKey)) {
            guard case .malformed = $0 as? EnvelopeError else { return XCTFail("\($0)") }
        }
    }

    func testUploadMetadataRoundTripsAndRejectsMalformedValues() {
        let pairs = ["sha256": String(repeating: "0", count: 64), "filename": "A123456_100001_20261125083000_0001_IMP.MP4", "note": "违法停车", "empty": ""]
        XCTAssertEqual(Tus.decodeMetadata(Tus.encodeMetadata(pairs)), pairs)
        XCTAssertNil(Tus.decodeMetadata("sha256 not*base64"))
        XCTAssertNil(Tus.decodeMetadata("a YQ==,a Yg=="), "a key given twice")
        XCTAssertEqual(Tus.decodeMetadata("flag"), ["flag": ""])
    }

    func testChecksumsAreBase64DigestsAsTheChecksumExtensionSays() {
        let bytes = Data("hello".utf8)
        XCTAssertEqual(Tus.ChecksumAlgorithm.sha1.digest(bytes), "qvTGHdzF6KLavt4PO0gs2a6pQ00=")
        XCTAssertEqual(Tus.ChecksumAlgorithm.sha256.digest(bytes), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        XCTAssertEqual(Tus.parseChecksum("sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=")?.algorithm, "sha1")
        XCTAssertNil(Tus.parseChecksum("sha1"))
    }

    /// CRC-32C against the check value and RFC 3720's vectors, whole and fed in uneven pieces
    /// (the processor's instruction and the table must agree across every split).
    func testCRC32CMatchesTheStandardVectorsHoweverItIsFed() {
        func crc(_ bytes: [UInt8]) -> String { Tus.ChecksumAlgorithm.crc32c.digest(bytes) }
        func hex(_ text: String) -> String { Data(base64Encoded: text)!.map { String(format: "%02x", $0) }.joined() }
        XCTAssertEqual(hex(crc(Array("123456789".utf8))), "e3069283")
        XCTAssertEqual(hex(crc([])), "00000000")
        XCTAssertEqual(hex(crc([UInt8](repeating: 0, count: 32))), "8a9136aa")
        XCTAssertEqual(hex(crc([UInt8](repeating: 0xFF, count: 32))), "62a8ab43")
        XCTAssertEqual(hex(crc((0..<32).map(UInt8.init))), "46dd794e")
        XCTAssertEqual(hex(crc((0..<32).map { UInt8(31 - $0) })), "113fdb5c")
        let long = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        for split in [1, 3, 7, 8, 9, 4096, 65_537] {
            var checksum = ChunkChecksum(.crc32c)
            var start = 0
            while start < long.count {
                let end = min(long.count, start + split)
                long[start..<end].withUnsafeBytes { checksum.update($0) }
                start = end
            }
            XCTAssertEqual(checksum.finalize().base64EncodedString(), crc(long), "fed \(split) bytes at a time")
        }
        XCTAssertEqual(ChunkChecksum(.crc32c).headerValue, "crc32c AAAAAA==")
    }

    func testTheClientTakesTheCheapestChecksumTheServerOffers() {
        XCTAssertEqual(Tus.ChecksumAlgorithm.chosen(from: Tus.checksumAlgorithms), .crc32c)
        XCTAssertEqual(Tus.ChecksumAlgorithm.chosen(from: "sha1,sha256"), .sha1, "an older server")
        XCTAssertEqual(Tus.ChecksumAlgorithm.chosen(from: "md5, SHA256"), .sha256)
        XCTAssertEqual(Tus.ChecksumAlgorithm.chosen(from: nil), .sha1)
    }

    func testDigestsAreCheckedAsLowerCaseHex() {
        XCTAssertTrue(WireCoding.isSHA256(String(repeating: "ab", count: 32)))
        XCTAssertFalse(WireCoding.isSHA256(String(repeating: "AB", count: 32)))
        XCTAssertFalse(WireCoding.isSHA256("../../etc/passwd"))
        XCTAssertFalse(WireCoding.isSHA256(String(repeating: "a", count: 63)))
    }

    func testRatesAndBackoff() {
        XCTAssertEqual(RateLimiter.parseRate("10M"), 10 << 20)
        XCTAssertEqual(RateLimiter.parseRate("512k"), 512 << 10)
        XCTAssertEqual(RateLimiter.parseRate("1.5G"), Int64(1.5 * Double(1 << 30)))
        XCTAssertEqual(RateLimiter.parseRate("4096"), 4096)
        XCTAssertNil(RateLimiter.parseRate("fast"))
        XCTAssertNil(RateLimiter.parseRate("0"))
        XCTAssertNil(RateLimiter.parseRate("-3M"))
        let policy = RetryPolicy(attempts: 5, base: 0.5, cap: 4)
        for retry in 0..<40 {
            let delay = policy.delay(beforeRetry: retry)
            XCTAssertLessThanOrEqual(delay, 4)
            XCTAssertGreaterThan(delay, 0)
        }
    }
}
