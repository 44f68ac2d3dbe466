import Common
import XCTest

final class HexTests: XCTestCase {
    func testBytesWordsAndDigestsAreLowerCaseWithLeadingZeros() {
        XCTAssertEqual(Hex.byte(0x0a), "0a")
        XCTAssertEqual(Hex.byte(0xff), "ff")
        XCTAssertEqual(Hex.word(0x04b8), "04b8")
        XCTAssertEqual(Hex.word(0x0001), "0001")
        XCTAssertEqual([UInt8]().hexString, "")
        XCTAssertEqual([0x00, 0x0f, 0xf0, 0xab].hexString, "000ff0ab")
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1), as a digest's bytes.
        let digest: [UInt8] = [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                               0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad]
        XCTAssertEqual(digest.hexString, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
