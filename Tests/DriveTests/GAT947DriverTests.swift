import Devices
import Drivers
import Foundation
import TestSupport
import USB
import USBEmulation
import XCTest

final class GAT947DriverTests: XCTestCase {
    private var bed: USBTestbed?
    private let catalog = DeviceCatalog.load(folders: [repositoryRoot.appendingPathComponent("devices").path])

    /// The emulated bus, asked for only by the tests that use it: the rest need no USB and never skip.
    private var testbed: USBTestbed {
        get throws {
            if let bed { return bed }
            let opened = try emulationTestbed()
            bed = opened
            return opened
        }
    }

    override func tearDown() {
        bed?.unplugAll()
    }

    private func open(_ serial: String) throws -> (GAT947Camera, CameraFinder.DockedCamera) {
        let finder = CameraFinder(context: try USBContext(), catalog: catalog)
        let docked = try XCTUnwrap(try finder.dockedCameras().first { $0.serial == serial })
        return (GAT947Camera(handle: try docked.device.open(), serial: serial), docked)
    }

    func testReadsTheRecordClockAndBatteryAndWritesTheOfficer() throws {
        let emulated = EmulatedModels.gat947Camera(serial: "A123456", officerNumber: "010203", officerName: "张伟",
                                                   clockOffset: 3 * 3600 + 17)
        try emulated.dock(on: try testbed)
        let (camera, docked) = try open("A123456")
        XCTAssertEqual(docked.match.mode, .control)
        XCTAssertEqual(docked.match.profile?.password, "000000")
        try camera.authenticate(password: "000000")
        XCTAssertEqual(try camera.idCode(), "EXAMPLEVISION-ZFY-X1")
        let record = try camera.record()
        XCTAssertEqual(record, CameraRecord(serial: "A123456", officerNumber: "010203", officerName: "张伟",
                                            unitNumber: "330100000001", unitName: "城市管理综合执法大队"))
        let drift = try camera.clock().timeIntervalSinceNow
        XCTAssertEqual(drift, 3 * 3600 + 17, accuracy: 2)
        try camera.setClock(Date())
        XCTAssertEqual(emulated.clock.timeIntervalSinceNow, 0, accuracy: 2)
        XCTAssertEqual(try camera.battery(), 87)

        var assigned = record
        assigned.officerNumber = "020304"
        assigned.officerName = "李娜"
        try camera.write(assigned)
        XCTAssertEqual(emulated.currentRecord.officerName, "李娜")
        XCTAssertEqual(try camera.record().officerNumber, "020304")
    }

    func testAWrongPasswordIsAClearErrorAndTheCameraIsUntouched() throws {
        let emulated = EmulatedModels.gat947Camera(serial: "A222222", password: "right1")
        try emulated.dock(on: try testbed)
        let (camera, _) = try open("A222222")
        XCTAssertThrowsError(try camera.authenticate(password: "wrong1")) { error in
            XCTAssertEqual(error as? CameraError, .wrongPassword(serial: "A222222"))
            XCTAssertTrue("\(error)".contains("left untouched"), "\(error)")
        }
        XCTAssertThrowsError(try camera.record()) { error in
            XCTAssertEqual(error as? CameraError, .refused(serial: "A222222", request: "GET_INFO"))
        }
        XCTAssertEqual(emulated.requestLog, [.auth, .getInfo], "nothing but the refused requests reached the camera")
    }

    func testSwitchesToStorageAndFindsTheMountedVolume() async throws {
        let volume = try temporaryFolder(self)
        let emulated = EmulatedModels.gat947Camera(serial: "A333333", volume: volume)
        try emulated.dock(on: try testbed)
        let (camera, _) = try open("A333333")
        try camera.authenticate(password: "000000")
        try camera.switchToMassStorage()
        let finder = CameraFinder(context: try USBContext(), catalog: catalog)
        let storage = try await finder.waitFor(serial: "A333333", mode: .storage, timeout: 10)
        XCTAssertEqual(storage.match.driver, .gat947)
        let found = try VolumeLocator.locate(serial: "A333333", device: storage.device, mountRoot: nil)
        XCTAssertEqual(found.mountPoint, volume.path)
        XCTAssertTrue(found.readOnly)
        XCTAssertTrue(found.device.hasPrefix("/dev/sd"), found.device)
    }

    func testAnUnmountedVolumeSaysExactlyWhatToDo() async throws {
        let emulated = EmulatedModels.gat947Camera(serial: "A444444", volume: try temporaryFolder(self), volumeMounted: false)
        try emulated.dock(on: try testbed)
        let (camera, _) = try open("A444444")
        try camera.authenticate(password: "000000")
        try camera.switchToMassStorage()
        let storage = try await CameraFinder(context: try USBContext(), catalog: catalog)
            .waitFor(serial: "A444444", mode: .storage, timeout: 10)
        XCTAssertThrowsError(try VolumeLocator.locate(serial: "A444444", device: storage.device, mountRoot: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("mount -o ro"), text)
            XCTAssertTrue(text.contains("fieldgate collect --from /mnt/A444444 --camera A444444"), text)
        }
    }

    func testWaitingForStorageModeIsBounded() async throws {
        try EmulatedModels.gat947Camera(serial: "A555555").dock(on: try testbed)
        let finder = CameraFinder(context: try USBContext(), catalog: catalog)
        do {
            _ = try await finder.waitFor(serial: "A555555", mode: .storage, timeout: 0.5)
            XCTFail("the camera never switched")
        } catch let error as CameraError {
            XCTAssertEqual(error, .storageModeTimeout(serial: "A555555", seconds: 0.5))
        }
        // The wait gave up; the camera is still there, in control mode, untouched.
        let still = try XCTUnwrap(try finder.dockedCameras().first { $0.serial == "A555555" })
        XCTAssertEqual(still.match.mode, .control)
    }

    func testMountTableEscapesAreDecoded() {
        let table = "36 25 8:17 / /media/cam\\040one ro,relatime - vfat /dev/sdb1 ro\n"
        XCTAssertEqual(VolumeLocator.mount(of: "8:17", table: table)?.mountPoint, "/media/cam one")
        XCTAssertEqual(VolumeLocator.mount(of: "8:17", table: table)?.readOnly, true)
        XCTAssertNil(VolumeLocator.mount(of: "8:33", table: table))
    }

    func testConfigPasswordsOverrideTheProfileAndAReadableConfigIsRefused() throws {
        let folder = try temporaryFolder(self)
        let path = folder.appendingPathComponent("config.toml").path
        try "free_policy = \"after-verify\"\n[passwords.models]\n\"ZFY-X1\" = \"m0del\"\n[passwords.serials]\n\"A123456\" = \"s3rial\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        XCTAssertThrowsError(try GatewayConfig.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
        }
        chmod(path, 0o600)
        let config = try GatewayConfig.load(path: path)
        let profile = catalog.match(vendorId: 0x1209, productId: 0x0001)?.profile
        XCTAssertEqual(config.freePolicy, .afterVerify)
        XCTAssertEqual(config.password(serial: "A123456", profile: profile), "s3rial")
        XCTAssertEqual(config.password(serial: "A999999", profile: profile), "m0del")
        XCTAssertEqual(GatewayConfig().password(serial: "A999999", profile: profile), "000000")
        XCTAssertEqual(try GatewayConfig.load(path: folder.appendingPathComponent("none.toml").path), GatewayConfig())
    }
}
