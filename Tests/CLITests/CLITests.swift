import Foundation
import TestSupport
import USBEmulation
import XCTest

/// The `fieldgate` binary as a user runs it: a separate process on the emulated bus.
final class CLITests: XCTestCase {
    private func decodeArray(_ text: String) throws -> [[String: Any]] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], text)
    }

    func testScanJSONListsEmulatedDevicesWithAllKeys() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        try EmulatedModels.gat947Camera(serial: "A123456").dock(on: testbed)
        let printer = EmulatedPrinter()
        try testbed.plug(printer.description, behaviour: printer)
        let result = try runFieldgate(["scan", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let devices = try decodeArray(result.stdout)
        XCTAssertEqual(devices.count, 2)
        let keys = ["bus", "address", "vendorId", "productId", "kind", "vendor", "model", "driver", "mode", "serial",
                    "manufacturer", "product", "state"]
        for device in devices { XCTAssertTrue(Set(device.keys).isSuperset(of: keys), "\(device.keys)") }
        XCTAssertEqual(devices[0]["vendorId"] as? String, "1209")
        XCTAssertEqual(devices[0]["productId"] as? String, "0001")
        XCTAssertEqual(devices[0]["kind"] as? String, "body-camera")
        XCTAssertEqual(devices[0]["model"] as? String, "ZFY-X1")
        XCTAssertEqual(devices[0]["serial"] as? String, "A123456")
        XCTAssertEqual(devices[1]["kind"] as? String, "printer")
        XCTAssertEqual(devices[1]["serial"] as? String, "PRN0001")

        let table = try runFieldgate(["scan"])
        XCTAssertEqual(table.status, 0)
        XCTAssertTrue(table.stdout.contains("A123456") && table.stdout.contains("ZFY-X1"), table.stdout)
    }

    func testAProfileAddedThroughTheEnvironmentIsPickedUpWithoutRebuilding() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        try testbed.plug(EmulatedModels.unknownGadget(serial: "NEWCAM1"))
        let before = try runFieldgate(["scan", "--json"])
        XCTAssertEqual(try decodeArray(before.stdout).count, 0, "not catalogued yet")

        let folder = try temporaryFolder(self)
        try """
            # Example profile written by a test.
            kind = "body-camera"
            vendor = "Field Added"
            model = "FA-1"
            driver = "usb-mass-storage"
            example = true
            [[usb]]
            vendor_id = 0x1209
            product_id = 0x000b
            mode = "storage"
            """.write(to: folder.appendingPathComponent("fa-1.toml"), atomically: true, encoding: .utf8)
        let after = try runFieldgate(["scan", "--json"], environment: ["FIELDGATE_DEVICES": folder.path])
        XCTAssertEqual(after.status, 0, after.stderr)
        let devices = try decodeArray(after.stdout)
        XCTAssertEqual(devices.first?["model"] as? String, "FA-1")
        XCTAssertEqual(devices.first?["serial"] as? String, "NEWCAM1")

        let flag = try runFieldgate(["scan", "--json", "--devices", folder.path])
        XCTAssertEqual(try decodeArray(flag.stdout).first?["model"] as? String, "FA-1")
    }

    func testZeroDevicesIsNotAnError() throws {
        let testbed = try emulationTestbed()
        testbed.unplugAll()
        let result = try runFieldgate(["scan"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("No catalogued devices"), result.stdout)
        XCTAssertEqual(try runFieldgate(["scan", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[\n\n]")
    }

    func testWatchReportsArrivalAndDepartureAsJSONLines() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let camera = EmulatedModels.gat947Camera(serial: "W000001")
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) {
            _ = try? camera.dock(on: testbed)
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.7) { camera.undock() }
        }
        let result = try runFieldgate(["watch", "--json", "--count", "2", "--timeout", "20"], timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, 2, result.stdout)
        XCTAssertEqual(lines.map { $0?["event"] as? String }, ["arrived", "left"])
        XCTAssertEqual(lines.map { $0?["serial"] as? String }, ["W000001", "W000001"])
        XCTAssertEqual(lines.first??["kind"] as? String, "body-camera")
    }

    func testWatchTimeoutAndSignalEndCleanly() throws {
        _ = try emulationTestbed()
        let timedOut = try runFieldgate(["watch", "--timeout", "0.5"])
        XCTAssertEqual(timedOut.status, 0, timedOut.stderr)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("fieldgate")
        process.arguments = ["watch"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1)
        process.interrupt()  // SIGINT, as Ctrl-C sends
        XCTAssertTrue(waitForExit(process, timeout: 30), "watch did not end on SIGINT")
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testDevicesCheckPassesOnTheShippedCatalogAndFailsOnABadProfile() throws {
        let good = try runFieldgate(["devices", "check"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.contains("0 error(s)"), good.stdout)

        let folder = try temporaryFolder(self)
        try "kind = \"printer\"\nvendor = \"X\"\nmodel = \"Y\"\ndriver = \"escpos-usb\"\n[[usb]]\nvendor_id = \"zz\"\nproduct_id = 1\nmode = \"printer\"\n"
            .write(to: folder.appendingPathComponent("bad.toml"), atomically: true, encoding: .utf8)
        let bad = try runFieldgate(["devices", "check", "--devices", folder.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stdout.contains("bad.toml: usb[1].vendor_id"), bad.stdout)

        let list = try runFieldgate(["devices", "list", "--json"])
        XCTAssertEqual(list.status, 0)
        XCTAssertGreaterThanOrEqual(try decodeArray(list.stdout).count, 5)
    }

    func testEmulateRequiresACommand() throws {
        let result = try runFieldgateLab(["emulate"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("name the command to run"), result.stderr)
    }
}
