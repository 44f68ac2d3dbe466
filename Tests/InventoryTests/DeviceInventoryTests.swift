import Devices
@testable import Inventory
import Store
import TestSupport
import XCTest

/// Registered serial printers in the inventory: present when their character device is there,
/// absent (with what to do) when not, with the catalog's profile for their model.
final class DeviceInventoryTests: XCTestCase {
    func testRegisteredSerialPrintersArePresentOrAbsentWithAHint() throws {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        let catalog = DeviceCatalog.load(folders: [repositoryRoot.appendingPathComponent("devices").path])
        let bluetooth = try XCTUnwrap(catalog.profiles.first { $0.kind == .printer && $0.driver == .escposSerial })
        try store.add(Printer(name: "here", transport: .serial, path: "/dev/null", usbSerial: nil, model: bluetooth.model,
                              paperWidthMillimetres: 58))
        try store.add(Printer(name: "gone", transport: .serial, path: "/dev/rfcomm-nowhere", usbSerial: nil, model: nil,
                              paperWidthMillimetres: 80))
        try store.add(Printer(name: "usb", transport: .usb, path: nil, usbSerial: "PRN0001", model: nil, paperWidthMillimetres: 58))
        let printers = try DeviceInventory.registeredPrinters(store, catalog: catalog)
        XCTAssertEqual(Set(printers.compactMap(\.name)), ["gone", "here"])
        let here = try XCTUnwrap(printers.first { $0.name == "here" })
        XCTAssertEqual(here.state, .present)
        XCTAssertEqual(here.kind, .printer)
        XCTAssertEqual(here.driver, .escposSerial)
        XCTAssertEqual(here.profile, bluetooth.path)
        XCTAssertNil(here.hint)
        let gone = try XCTUnwrap(printers.first { $0.name == "gone" })
        XCTAssertEqual(gone.state, .absent)
        XCTAssertTrue(gone.hint?.contains("/dev/rfcomm-nowhere is not there") == true, "\(gone.hint ?? "")")
        XCTAssertNil(printers.first { $0.name == "usb" }, "a USB printer is found on the bus, not listed here")
    }
}
