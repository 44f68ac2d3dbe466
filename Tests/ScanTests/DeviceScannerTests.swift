import Devices
import Scan
import TestSupport
import USB
import USBEmulation
import XCTest

final class DeviceScannerTests: XCTestCase {
    private var testbed: USBTestbed!
    private let catalog = DeviceCatalog.load(folders: [repositoryRoot.appendingPathComponent("devices").path])

    override func setUpWithError() throws {
        testbed = try emulationTestbed()
    }

    override func tearDown() {
        testbed?.unplugAll()
    }

    func testIdentifiesEachKindAndReadsSerialsOverUSB() throws {
        try EmulatedModels.gat947Camera(serial: "A123456").dock(on: testbed)
        try testbed.plug(EmulatedModels.massStorageCamera(serial: "M000009"))
        try testbed.plug(EmulatedModels.fingerprintPad(serial: "FP00042"))
        let printer = EmulatedPrinter(serialNumber: "PRN0001")
        try testbed.plug(printer.description, behaviour: printer)
        try testbed.plug(EmulatedModels.unknownGadget())

        let scanner = DeviceScanner(context: try USBContext(), catalog: catalog)
        let devices = try scanner.scan()
        XCTAssertEqual(devices.map(\.serial), ["A123456", "M000009", "FP00042", "PRN0001"], "unknown devices are left out")
        XCTAssertEqual(devices.map(\.kind), ["body-camera", "body-camera", "fingerprint-pad", "printer"])
        XCTAssertEqual(devices.map(\.driver), ["gat947", "usb-mass-storage", "libfprint", "escpos-usb"])
        XCTAssertEqual(devices.map(\.mode), ["control", "storage", "sensor", "printer"])
        XCTAssertEqual(devices[0].model, "ZFY-X1")
        XCTAssertEqual(devices[2].product, "捺印板 S1")
        XCTAssertTrue(devices.allSatisfy { $0.state == .ready && $0.hint == nil })

        let all = try scanner.scan(includeUnknown: true)
        XCTAssertEqual(all.count, 5)
        let unknown = try XCTUnwrap(all.last)
        XCTAssertEqual(unknown.kind, "unknown")
        XCTAssertEqual(unknown.ids, "1209:000b")
        XCTAssertEqual(unknown.serial, "GADGET1")
        XCTAssertNil(unknown.model)
    }

    func testUncataloguedPrinterClassDeviceIsAGenericPrinter() throws {
        let printer = EmulatedPrinter(vendorId: 0x1209, productId: 0x0009, manufacturer: "NoName", product: "Thermal")
        try testbed.plug(printer.description, behaviour: printer)
        let devices = try DeviceScanner(context: try USBContext(), catalog: catalog).scan()
        XCTAssertEqual(devices.count, 1)
        XCTAssertEqual(devices.first?.kind, "printer")
        XCTAssertEqual(devices.first?.model, "generic USB printer")
        XCTAssertNil(devices.first?.profile)
    }

    func testADeviceThatCannotBeOpenedIsListedWithAHint() throws {
        var camera = EmulatedModels.gat947Camera(serial: "A999999").controlDescription
        camera.hasDeviceNode = false
        try testbed.plug(camera)
        let devices = try DeviceScanner(context: try USBContext(), catalog: catalog).scan()
        let device = try XCTUnwrap(devices.first)
        XCTAssertEqual(device.kind, "body-camera")
        XCTAssertEqual(device.state, .noAccess)
        XCTAssertNil(device.serial)
        XCTAssertTrue(device.hint?.contains("devices/udev/70-fieldgate.rules") ?? false, device.hint ?? "no hint")
    }

    func testAMalformedDeviceIsListedAsAnError() throws {
        var broken = EmulatedModels.fingerprintPad()
        var bytes = broken.descriptors
        bytes[18 + 9] = 2
        broken.rawDescriptors = bytes
        try testbed.plug(broken)
        let device = try XCTUnwrap(try DeviceScanner(context: try USBContext(), catalog: catalog).scan().first)
        XCTAssertEqual(device.kind, "fingerprint-pad")
        XCTAssertEqual(device.state, .error)
        XCTAssertTrue(device.hint?.contains("malformed configuration descriptor") ?? false, device.hint ?? "")
    }

    func testHostileStringsAreKeptExactly() throws {
        var pad = EmulatedModels.fingerprintPad(serial: "../\u{1b}[2J\u{7}")
        pad.product = "evil\nname"
        try testbed.plug(pad)
        let device = try XCTUnwrap(try DeviceScanner(context: try USBContext(), catalog: catalog).scan().first)
        XCTAssertEqual(device.serial, "../\u{1b}[2J\u{7}")
        XCTAssertEqual(device.product, "evil\nname")
    }

    func testWatcherReportsArrivalAndDepartureWithStrings() async throws {
        let scanner = DeviceScanner(context: try USBContext(), catalog: catalog)
        let events = try DeviceWatcher(scanner: scanner).events()
        let collector = Task { () -> [DeviceEvent] in
            var seen: [DeviceEvent] = []
            for await event in events {
                seen.append(event)
                if seen.count == 2 { break }
            }
            return seen
        }
        try await Task.sleep(for: .milliseconds(300))
        try testbed.plug(EmulatedModels.unknownGadget())  // ignored: not catalogued
        let camera = EmulatedModels.gat947Camera(serial: "C000001")
        try camera.dock(on: testbed)
        try await Task.sleep(for: .milliseconds(500))
        camera.undock()
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            collector.cancel()
        }
        let seen = await collector.value
        timeout.cancel()
        XCTAssertEqual(seen.map(\.event), [.arrived, .left])
        XCTAssertEqual(seen.map(\.device.serial), ["C000001", "C000001"])
        XCTAssertEqual(seen.first?.device.state, .ready)
    }
}
