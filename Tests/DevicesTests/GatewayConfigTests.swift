import Devices
import Foundation
import XCTest

final class GatewayConfigTests: XCTestCase {
    private func load(_ text: String) throws -> GatewayConfig {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-config-\(UUID().uuidString).toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        chmod(url.path, 0o600)
        defer { try? FileManager.default.removeItem(at: url) }
        return try GatewayConfig.load(path: url.path)
    }

    func testStationSettingsAreReadWithTheirDefaults() throws {
        let defaults = try load("")
        XCTAssertEqual(defaults.maxParallelBays, 8)
        XCTAssertNil(defaults.limitRate)
        XCTAssertEqual(defaults.uploadWindows, [])

        let config = try load("""
            max_parallel_bays = 25
            limit_rate = "10M"
            upload_windows = ["18:00-08:00", "12:00-13:30"]
            """)
        XCTAssertEqual(config.maxParallelBays, 25)
        XCTAssertEqual(config.limitRate, 10 << 20)
        XCTAssertEqual(config.uploadWindows.map(\.description), ["18:00-08:00", "12:00-13:30"])
    }

    func testBadStationSettingsNameTheKey() {
        for (text, key) in [("max_parallel_bays = 0", "max_parallel_bays"), ("max_parallel_bays = \"8\"", "max_parallel_bays"),
                            ("limit_rate = \"fast\"", "limit_rate"), ("limit_rate = 10", "limit_rate"),
                            ("upload_windows = \"18:00-08:00\"", "upload_windows"), ("upload_windows = [\"18:00\"]", "upload_windows"),
                            ("upload_windows = [\"25:00-08:00\"]", "upload_windows"), ("upload_windows = [\"08:00-08:00\"]", "upload_windows"),
                            ("upload_windows = [\"8:0-9:00\"]", "upload_windows")] {
            XCTAssertThrowsError(try load(text), text) { error in
                XCTAssertEqual((error as? CatalogError)?.key, key, "\(text): \(error)")
            }
        }
    }

    func testTheUnitIsANameWithoutControlCharacters() throws {
        XCTAssertNil(try load("").unit)
        XCTAssertEqual(try load("unit = \" 城管执法一中队 \"").unit, "城管执法一中队")
        for text in ["unit = \"\"", "unit = \"  \"", "unit = 7", "unit = \"一中队\\u0007\"", "unit = \"\(String(repeating: "队", count: 65))\""] {
            XCTAssertThrowsError(try load(text), text) { error in
                XCTAssertEqual((error as? CatalogError)?.key, "unit", "\(text): \(error)")
            }
        }
    }

    func testAnUploadWindowMayRunPastMidnight() throws {
        let shanghai = try XCTUnwrap(TimeZone(identifier: "Asia/Shanghai"))
        func at(_ hour: Int, _ minute: Int) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = shanghai
            return calendar.date(from: DateComponents(year: 2026, month: 12, day: 2, hour: hour, minute: minute))!
        }
        let night = try XCTUnwrap(UploadWindow("18:00-08:00"))
        XCTAssertTrue(night.contains(at(18, 0), in: shanghai), "the start is in")
        XCTAssertTrue(night.contains(at(23, 59), in: shanghai))
        XCTAssertTrue(night.contains(at(3, 0), in: shanghai))
        XCTAssertFalse(night.contains(at(8, 0), in: shanghai), "the end is out")
        XCTAssertFalse(night.contains(at(12, 0), in: shanghai))
        // The same instant is another local time elsewhere: the window is the unit's local time.
        XCTAssertTrue(night.contains(at(12, 0), in: TimeZone(identifier: "Europe/London")!), "noon in Shanghai is 04:00 in London")

        let lunch = try XCTUnwrap(UploadWindow("12:00-13:30"))
        XCTAssertTrue([lunch].allows(at(13, 29), in: shanghai))
        XCTAssertFalse([lunch].allows(at(13, 30), in: shanghai))
        XCTAssertTrue([UploadWindow]().allows(at(13, 30), in: shanghai), "no windows: upload at any time")
    }
}
