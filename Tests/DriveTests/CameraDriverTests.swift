import Devices
import Drivers
import Foundation
import TestSupport
import USB
import USBEmulation
import XCTest

/// Docking through the CameraDriver protocol, for each camera family, over libusb.
final class CameraDriverTests: XCTestCase {
    private let catalog = DeviceCatalog.load(folders: [repositoryRoot.appendingPathComponent("devices").path])

    /// Keeps what docking reports, in order.
    final class Recorder: CameraEventRecorder, @unchecked Sendable {
        private let lock = NSLock()
        private var kept: [(CameraEvent, String)] = []
        func record(_ event: CameraEvent, camera serial: String) throws { lock.withLock { kept.append((event, serial)) } }
        var events: [CameraEvent] { lock.withLock { kept.map(\.0) } }
    }

    func testEveryCameraFamilyInTheCatalogHasADriver() {
        let families = Set(catalog.profiles.filter { $0.kind == .bodyCamera }.map(\.driver))
        XCTAssertEqual(families, [.gat947, .usbMassStorage])
        for family in families {
            XCTAssertEqual(CameraDrivers.driver(for: family)?.family, family, "no driver for \(family)")
        }
        XCTAssertNil(CameraDrivers.driver(for: .escposUSB), "a printer family is not a camera driver")
    }

    func testAGAT947CameraIsDockedThroughItsDriverAndItsClockEventsAreReported() async throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let volume = try temporaryFolder(self)
        let emulated = EmulatedModels.gat947Camera(serial: "A616161", officerNumber: "010203", clockOffset: 600, volume: volume)
        try emulated.dock(on: testbed)
        let recorder = Recorder()
        let docking = Docking(finder: CameraFinder(context: try USBContext(), catalog: catalog), config: GatewayConfig(),
                              events: recorder, mountRoot: try temporaryFolder(self))
        // Its own scope: the session's USB handle must be closed before the camera re-enumerates.
        do {
            let driver = try docking.open(try docking.camera(serial: "A616161"))
            XCTAssertTrue(driver is GAT947Driver)
            XCTAssertEqual(driver.capabilities, [.identity, .officerRecord, .clock, .battery, .storageSwitch])
        }

        let info = try await docking.prepare(try docking.camera(serial: "A616161"))
        XCTAssertEqual(info.record?.officerNumber, "010203")
        XCTAssertEqual(info.volume, volume.path)
        XCTAssertTrue(info.clockCorrected)
        let drift = try XCTUnwrap(info.clockDriftSeconds)
        XCTAssertEqual(recorder.events, [.clockDrift(seconds: Int(drift), allowedPerDaySeconds: 3), .clockCorrected(bySeconds: -Int(drift))])
        XCTAssertEqual(emulated.clock.timeIntervalSinceNow, 0, accuracy: 2, "the camera's clock was set to the gateway's")
        XCTAssertEqual(emulated.requestLog.last, .setMassStorage)

        // Docked again, now in storage mode: the same driver can ask it nothing, and says why.
        let again = try docking.open(try docking.camera(serial: "A616161"))
        XCTAssertEqual(again.capabilities, [])
        XCTAssertThrowsError(try again.record()) { error in
            guard case .unsupported(let serial, let family, let what) = error as? CameraError else { return XCTFail("\(error)") }
            XCTAssertEqual(serial, "A616161")
            XCTAssertEqual(family, .gat947)
            XCTAssertTrue(what.contains("mass-storage mode"), what)
        }
    }

    func testAControlModeCameraWithoutAPasswordIsRefusedBeforeAnythingIsSent() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let emulated = EmulatedModels.gat947Camera(serial: "A626262")
        try emulated.dock(on: testbed)
        let docked = try XCTUnwrap(try CameraFinder(context: try USBContext(), catalog: catalog).dockedCameras().first { $0.serial == "A626262" })
        XCTAssertThrowsError(try CameraDrivers.open(docked, password: nil)) { error in
            XCTAssertEqual(error as? CameraError, .noPassword(serial: "A626262", model: "ZFY-X1"))
        }
        XCTAssertEqual(emulated.requestLog, [], "no request reached the camera")
    }

    func testAMassStorageCameraIsReadAsADiskAndCanBeAskedNothing() async throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let volume = try temporaryFolder(self)
        try testbed.plug(EmulatedModels.massStorageCamera(serial: "M636363"), volume: volume)
        let recorder = Recorder()
        let docking = Docking(finder: CameraFinder(context: try USBContext(), catalog: catalog), config: GatewayConfig(),
                              events: recorder, mountRoot: try temporaryFolder(self))
        let docked = try docking.camera(serial: "M636363")
        let driver = try docking.open(docked)
        XCTAssertTrue(driver is MassStorageDriver)
        XCTAssertEqual(driver.capabilities, [])
        XCTAssertThrowsError(try driver.write(CameraRecord(serial: "M636363", officerNumber: "010203", officerName: "",
                                                           unitNumber: "", unitName: ""))) { error in
            XCTAssertEqual(error as? CameraError, .unsupported(serial: "M636363", family: .usbMassStorage, what: "be assigned an officer"))
        }
        let info = try await docking.prepare(docked)
        XCTAssertEqual(info.volume, volume.path)
        XCTAssertNil(info.clockDriftSeconds)
        XCTAssertNil(info.record)
        XCTAssertEqual(recorder.events, [], "nothing was done to the camera that custody should show")
    }
}
