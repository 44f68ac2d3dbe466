import Foundation
import Server
import TestSupport
import XCTest

/// The console in a real browser: a recording collected and synced by the `fieldgate` binary
/// (a real, decodable video made by ffmpeg, named as a camera names it) is found, played and
/// traced by a viewer in headless Chromium driven by Selenium (`console_browser.py`); a
/// reviewer categorises and shares it, and a browser without an account plays the share.
/// Screenshots are kept under `.build/test-artifacts` (or `$FIELDGATE_TEST_ARTIFACTS`).
final class ConsoleBrowserTests: ServerTestCase {
    func testAViewerFindsPlaysAndTracesASyncedRecordingInChromium() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/ffmpeg"] where !FileManager.default.fileExists(atPath: tool) {
            if ProcessInfo.processInfo.environment["CI"] != nil { return XCTFail("\(tool) is missing (.ci/packages installs it)") }
            throw XCTSkip("\(tool) is not installed")
        }
        let volume = URL(fileURLWithPath: data.path + "-volume-A600101")
        let dcim = volume.appendingPathComponent("DCIM")
        try FileManager.default.createDirectory(at: dcim, withIntermediateDirectories: true)
        // Two seconds of VP9 in MP4: a codec every Chromium build decodes.
        let clip = dcim.appendingPathComponent("A600101_100001_20261125083000_0001.MP4")
        let encoded = try runProgram("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=15",
                                                         "-c:v", "libvpx-vp9", "-b:v", "200k", "-pix_fmt", "yuv420p", "-f", "mp4", clip.path], timeout: 120)
        XCTAssertEqual(encoded.status, 0, encoded.stderr)

        let home = URL(fileURLWithPath: data.path + "-gateway-home")
        addTeardownBlock { [volume, home] in
            try? FileManager.default.removeItem(at: volume)
            try? FileManager.default.removeItem(at: home)
        }
        func fieldgate(_ arguments: [String]) throws -> CommandResult {
            try runProgram(builtBinary("fieldgate").path, arguments + ["--home", home.path], timeout: 120)
        }
        let token = try await GatewayAdministration.add(name: "station-browser", dataDirectory: data, database: database)
        let enrolled = try fieldgate(["enroll", "--server", running.baseURL, "--token", token])
        XCTAssertEqual(enrolled.status, 0, enrolled.stderr)
        let collected = try fieldgate(["collect", "--from", volume.path, "--camera", "A600101", "--json"])
        XCTAssertEqual(collected.status, 0, collected.stderr)
        let synced = try fieldgate(["sync", "--json"])
        XCTAssertEqual(synced.status, 0, synced.stderr)

        let password = "correct horse battery"
        try await ConsoleAccounts.add(name: "viewer.lin", role: .viewer, password: password, dataDirectory: data, database: database)
        try await ConsoleAccounts.add(name: "rev.gao", role: .reviewer, password: password, dataDirectory: data, database: database)
        let artifacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FIELDGATE_TEST_ARTIFACTS"]
            ?? repositoryRoot.appendingPathComponent(".build/test-artifacts").path)
        let browser = try runProgram("/usr/bin/python3", [repositoryRoot.appendingPathComponent("Tests/ServerTests/console_browser.py").path,
                                                         running.baseURL, artifacts.path, "viewer.lin", password, "100001", "rev.gao"],
                                     environment: ["LD_PRELOAD": ""], timeout: 300)
        XCTAssertEqual(browser.status, 0, "the browser's steps:\n\(browser.stdout)\n\(browser.stderr)")
        for step in ["signed in", "played", "custody timeline", "receipt opened", "people page refused", "a fresh browser is sent to sign-in",
                     "categorised", "share made", "share opened and played without an account", "monthly report of", "printable report",
                     "reconciliation"] {
            XCTAssertTrue(browser.stdout.contains(step), "\(step) in:\n\(browser.stdout)")
        }
    }
}
