import Foundation
import GRDB
@testable import Store
import XCTest

/// Dates written without GRDB's formatter are the text GRDB writes, so rows read back and
/// compare the same whichever wrote them.
final class StoredDateTests: XCTestCase {
    func testDatesAreStoredAsGRDBStoresThem() {
        var generator = SystemRandomNumberGenerator()
        var dates: [Date] = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.0005), Date(timeIntervalSince1970: 0.9995),
                             Date(timeIntervalSince1970: 951_782_400), Date(timeIntervalSince1970: 4_107_542_399.999_9),
                             Date(timeIntervalSince1970: -2_208_988_800.5), Date(timeIntervalSince1970: 1_764_669_600.000_1),
                             Date()]
        for _ in 0..<20_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &generator)))
        }
        for _ in 0..<5_000 {
            // Whole milliseconds and a hair either side, where rounding would show.
            let milliseconds = Double(Int64.random(in: 0...4_000_000_000_000, using: &generator))
            for nudge in [0, 1e-7, -1e-7] { dates.append(Date(timeIntervalSince1970: milliseconds / 1000 + nudge)) }
        }
        for date in dates {
            XCTAssertEqual(StoredDate.databaseValue(date), date.databaseValue, "\(date.timeIntervalSince1970)")
        }
        XCTAssertEqual(StoredDate.databaseValue(nil), .null)
        let ancient = Date(timeIntervalSince1970: -40_000_000_000)
        XCTAssertEqual(StoredDate.databaseValue(ancient), ancient.databaseValue)
    }

    /// Read back without a Calendar, every stored text gives the date GRDB itself reads from it;
    /// forms this reader does not take (ISO 8601 with `T`, numbers, impossible days) are GRDB's.
    func testStoredDatesAreReadAsGRDBReadsThem() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [DatabaseValue] = []
        for _ in 0..<20_000 {
            values.append(StoredDate.databaseValue(Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &generator))))
        }
        let texts = ["2026-11-25", "2026-11-25 08:30:00", "2026-11-25 08:30:00.123", "2024-02-29 23:59:59.999", "1970-01-01 00:00:00.000",
                     "2026-02-30 00:00:00.000", "2026-11-25T08:30:00.000Z", "2026-11-25 24:00:00", "2026-13-01", "garbage", "",
                     "2026-11-25 08:30"]
        values += texts.map(\.databaseValue) + [(1_764_669_600.5 as Double).databaseValue, DatabaseValue.null]
        for value in values {
            let ours = StoredDate.date(value), theirs = Date.fromDatabaseValue(value)
            XCTAssertEqual(ours?.timeIntervalSince1970, theirs?.timeIntervalSince1970, "\(value)")
        }
    }

    /// The store's records write and read their dates through StoredDate.
    func testRecordsUseStoredDates() {
        if case .custom = SyncItem.databaseDateDecodingStrategy(for: "updatedAt") {} else { XCTFail("SyncItem decodes dates with GRDB's default") }
        if case .custom = Recording.databaseDateEncodingStrategy(for: "collectedAt") {} else { XCTFail("Recording encodes dates with GRDB's default") }
    }
}
