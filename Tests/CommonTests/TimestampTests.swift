import Common
import Foundation
import XCTest

final class TimestampTests: XCTestCase {
    /// The custody chain hashes this text: its form must never drift.
    func testAMomentIsWrittenInUTCWithMilliseconds() {
        let date = Date(timeIntervalSince1970: 1_764_064_800.25)
        XCTAssertEqual(Timestamp.string(date), "2025-11-25T10:00:00.250Z")
        XCTAssertEqual(Timestamp.string(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
    }

    func testWhatItWritesReadsBackAndSoDoPeoplesForms() throws {
        let date = Date(timeIntervalSince1970: 1_764_064_800.25)
        XCTAssertEqual(try XCTUnwrap(Timestamp.parse(Timestamp.string(date))).timeIntervalSince1970, date.timeIntervalSince1970, accuracy: 0.001)
        XCTAssertEqual(Timestamp.parse("2025-11-25T10:00:00Z"), Date(timeIntervalSince1970: 1_764_064_800))
        XCTAssertEqual(Timestamp.parse("2025-11-25"), Date(timeIntervalSince1970: 1_764_028_800), "a day is its start in UTC")
    }

    func testAnythingElseIsNotATime() {
        for text in ["", "yesterday", "2025-13-40", "25/11/2025", "2025-11-25 10:00"] {
            XCTAssertNil(Timestamp.parse(text), text)
        }
    }
}
