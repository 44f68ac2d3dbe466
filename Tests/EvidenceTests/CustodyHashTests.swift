import Crypto
import Evidence
import Foundation
import XCTest

/// A custody event's hash is the SHA-256 of the previous hash, 0x1E and its fields joined by
/// 0x1F, as the README and every bundle's VERIFY.md say: computed here the plain way, joined
/// into one string first, for events of every kind and with text beyond ASCII.
final class CustodyHashTests: XCTestCase {
    func plainHash(_ event: CustodyEvent) -> String {
        let fields = ["fieldgate-custody-v1", String(event.seq), event.at, event.kind.rawValue, event.cameraSerial ?? "",
                      event.recordingId.map(String.init) ?? "", event.sha256 ?? "", event.details]
        return SHA256.hash(data: Data((event.previousHash + "\u{1E}" + fields.joined(separator: "\u{1F}")).utf8))
            .map { String(format: "%02x", $0) }.joined()
    }

    func testTheHashIsOverThePreviousHashAndTheFieldsAsDocumented() {
        var previous = CustodyEvent.genesisHash
        for (index, kind) in CustodyKind.allCases.enumerated() {
            let event = CustodyEvent(seq: Int64(index + 1), at: "2026-12-02T10:00:0\(index % 10).123Z", kind: kind,
                                     cameraSerial: index % 2 == 0 ? "A123456" : nil, recordingId: index % 3 == 0 ? nil : Int64(index),
                                     sha256: index % 4 == 0 ? nil : String(repeating: "b", count: 64),
                                     details: #"{"person":"张三","source":"DCIM/\#(index).MP4"}"#, previousHash: previous, hash: "")
            XCTAssertEqual(event.computedHash(), plainHash(event), "\(kind)")
            previous = event.computedHash()
        }
    }
}
