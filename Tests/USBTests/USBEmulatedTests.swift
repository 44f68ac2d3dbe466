import Foundation
import TestSupport
import USB
import USBEmulation
import XCTest

/// The USB module against emulated devices, through the real libusb code path.
final class USBEmulatedTests: XCTestCase {
    private var testbed: USBTestbed!

    override func setUpWithError() throws {
        testbed = try emulationTestbed()
    }

    override func tearDown() {
        testbed?.unplugAll()
    }

    private func device(_ plugged: PluggedDevice, in context: USBContext) throws -> USBDevice {
        try XCTUnwrap(context.devices().first { $0.bus == plugged.bus && $0.address == plugged.address },
                      "device \(plugged.deviceNode) not enumerated")
    }

    func testEnumeratesDescriptorsWithoutOpening() throws {
        let printer = EmulatedPrinter()
        let plugged = try testbed.plug(printer.description, behaviour: printer)
        let pad = try testbed.plug(EmulatedModels.fingerprintPad())
        let context = try USBContext()
        let devices = try context.devices()
        XCTAssertEqual(devices.count, 2)
        let found = try device(plugged, in: context)
        XCTAssertEqual(found.descriptor?.vendorId, 0x0416)
        XCTAssertEqual(found.descriptor?.productId, 0x5011)
        XCTAssertEqual(found.interfaceClasses, [0x07])
        XCTAssertEqual(found.speed, .full)
        XCTAssertEqual(found.busAddress, "001:" + String(format: "%03d", Int(plugged.address)))
        XCTAssertTrue(found.portPath.hasPrefix("1-"), found.portPath)
        XCTAssertEqual(try device(pad, in: context).interfaceClasses, [0xff])
    }

    func testReadsStringDescriptorsIncludingChinese() throws {
        let plugged = try testbed.plug(EmulatedModels.fingerprintPad(serial: "FP-001"))
        let context = try USBContext()
        let found = try device(plugged, in: context)
        let handle = try found.open()
        let descriptor = try XCTUnwrap(found.descriptor)
        // Asked out of order: the emulated device answers in any order.
        XCTAssertEqual(try handle.string(at: descriptor.serialNumberIndex), "FP-001")
        XCTAssertEqual(try handle.string(at: descriptor.productIndex), "捺印板 S1")
        XCTAssertEqual(try handle.string(at: descriptor.manufacturerIndex), "Example Sign")
        XCTAssertNil(try handle.string(at: 0))
        XCTAssertThrowsError(try handle.string(at: 9)) { error in
            XCTAssertEqual((error as? USBError)?.code, .pipe)
        }
    }

    func testControlTransfersReachTheCameraAndAStallIsTyped() throws {
        let camera = EmulatedModels.gat947Camera(serial: "A777777", password: "secret")
        let plugged = try camera.dock(on: testbed)
        let handle = try device(plugged, in: try USBContext()).open()
        // Before AUTH every request is refused.
        XCTAssertThrowsError(try handle.controlIn(requestType: 0xC0, request: 0x07, length: 1)) { error in
            XCTAssertEqual((error as? USBError)?.code, .pipe)
            XCTAssertTrue("\(error)".contains("refused"), "\(error)")
        }
        XCTAssertThrowsError(try handle.controlOut(requestType: 0x40, request: 0x01, data: Array("wrong".utf8)))
        try handle.controlOut(requestType: 0x40, request: 0x01, data: Array("secret".utf8))
        XCTAssertEqual(try handle.controlIn(requestType: 0xC0, request: 0x07, length: 1), [87])
        let info = try handle.controlIn(requestType: 0xC0, request: 0x03, length: 94)
        XCTAssertEqual(info.count, 94)
        XCTAssertEqual(Array(info.prefix(7)), Array("A777777".utf8))
        XCTAssertEqual(camera.requestLog.first, .getBattery)
    }

    func testBulkTransfersReachThePrinter() throws {
        let printer = EmulatedPrinter()
        let plugged = try testbed.plug(printer.description, behaviour: printer)
        let handle = try device(plugged, in: try USBContext()).open()
        try handle.claimInterface(0)
        defer { handle.releaseInterface(0) }
        let job: [UInt8] = [0x1b, 0x40] + Array("fieldgate".utf8) + [0x1d, 0x56, 0x00]
        XCTAssertEqual(try handle.bulkOut(endpoint: EmulatedPrinter.bulkOutEndpoint, data: job), job.count)
        XCTAssertEqual(printer.received, job)
        XCTAssertThrowsError(try handle.bulkOut(endpoint: 0x05, data: [1]))
    }

    func testMalformedDescriptorsAreReportedNotFatal() throws {
        var broken = EmulatedModels.unknownGadget(serial: "BROKEN")
        var bytes = broken.descriptors
        bytes[18 + 9] = 2  // the interface descriptor claims to be 2 bytes long (it must be 9)
        broken.rawDescriptors = bytes
        let bad = try testbed.plug(broken)
        var truncated = EmulatedModels.unknownGadget(serial: "SHORT")
        truncated.rawDescriptors = Array(truncated.descriptors.prefix(10))
        try testbed.plug(truncated)
        let good = try testbed.plug(EmulatedModels.fingerprintPad())

        let context = try USBContext()
        let devices = try context.devices()
        XCTAssertNotNil(devices.first { $0.address == good.address }?.descriptor, "a good device beside broken ones still works")
        let found = try XCTUnwrap(devices.first { $0.address == bad.address })
        XCTAssertEqual(found.descriptor?.vendorId, 0x1209)
        XCTAssertEqual(found.interfaceClasses, [])
        let error = try XCTUnwrap(found.configurationError, "a malformed configuration must surface as an error")
        XCTAssertTrue(error.operation.contains(found.busAddress), "\(error)")
    }

    func testADeviceWithoutANodeFailsToOpenWithATypedError() throws {
        var description = EmulatedModels.fingerprintPad()
        description.hasDeviceNode = false
        let plugged = try testbed.plug(description)
        let found = try device(plugged, in: try USBContext())
        XCTAssertNotNil(found.descriptor, "still enumerated from sysfs")
        XCTAssertThrowsError(try found.open()) { error in
            let usbError = error as? USBError
            XCTAssertNotNil(usbError)
            XCTAssertTrue([.noDevice, .access, .io, .notFound].contains(usbError?.code), "\(error)")
            XCTAssertTrue("\(error)".contains(found.busAddress), "the error names the device: \(error)")
        }
    }

    func testHotplugReportsArrivalThenDeparture() async throws {
        let context = try USBContext()
        XCTAssertTrue(context.supportsHotplug)
        let events = try context.hotplugEvents()
        let collector = Task { () -> [String] in
            var seen: [String] = []
            for await event in events {
                switch event {
                case .arrived(let device): seen.append("arrived \(device.busAddress) \(device.descriptor.map { String($0.productId, radix: 16) } ?? "?")")
                case .left(let device): seen.append("left \(device.busAddress)")
                }
                if seen.count == 2 { break }
            }
            return seen
        }
        try await Task.sleep(for: .milliseconds(300))
        let plugged = try testbed.plug(EmulatedModels.fingerprintPad())
        try await Task.sleep(for: .milliseconds(300))
        testbed.unplug(plugged)
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            collector.cancel()
        }
        let seen = await collector.value
        timeout.cancel()
        let address = String(format: "001:%03d", Int(plugged.address))
        XCTAssertEqual(seen, ["arrived \(address) 4", "left \(address)"])
    }
}
