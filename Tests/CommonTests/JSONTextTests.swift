import Common
import Foundation
import XCTest

/// JSONText writes what JSONEncoder (sorted keys, slashes unescaped) writes: custody details
/// hashed by earlier builds and by this one must read the same way.
final class JSONTextTests: XCTestCase {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Characters JSON escapes, ones it must not, and text beyond ASCII.
    static let alphabet: [Character] = ["a", "Z", "0", "_", "-", " ", "/", "\"", "\\", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}",
                                        "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "\u{2028}", "é", "e\u{301}", "证", "据", "〔", "🙂"]

    func randomText(_ generator: inout some RandomNumberGenerator) -> String {
        String((0..<Int.random(in: 0...8, using: &generator)).map { _ in Self.alphabet.randomElement(using: &generator)! })
    }

    func testObjectsAreWrittenAsJSONEncoderWritesThem() throws {
        var generator = SystemRandomNumberGenerator()
        let fixed: [[String: String]] = [
            [:],
            ["source": "DCIM/100MEDIA/A123456_100001_20261125083000_0001.MP4", "size": "1048576", "mediaType": "video"],
            ["method": "sha256 computed while copying, size and time re-checked"],
            ["batch": "b", "serverTime": "2026-12-02T10:00:00.000Z", "receiptSha256": String(repeating: "a", count: 64), "clockDriftSeconds": "-600"],
            ["A": "1", "a": "2", "B": "3", "_": "4", "a10": "5", "a9": "6", "ä": "7", "中": "8"],
        ]
        for values in fixed {
            XCTAssertEqual(JSONText.object(values), String(decoding: try Self.encoder.encode(values), as: UTF8.self), "\(values)")
        }
        for _ in 0..<2000 {
            var values: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) { values[randomText(&generator)] = randomText(&generator) }
            XCTAssertEqual(JSONText.object(values), String(decoding: try Self.encoder.encode(values), as: UTF8.self), "\(values)")
        }
    }

    func testArraysAreWrittenAsJSONEncoderWritesThem() throws {
        var generator = SystemRandomNumberGenerator()
        XCTAssertEqual(JSONText.array([]), "[]")
        for _ in 0..<2000 {
            let values = (0..<Int.random(in: 0...4, using: &generator)).map { _ in randomText(&generator) }
            XCTAssertEqual(JSONText.array(values), String(decoding: try Self.encoder.encode(values), as: UTF8.self), "\(values)")
        }
    }
}
