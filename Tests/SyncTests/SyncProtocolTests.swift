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
