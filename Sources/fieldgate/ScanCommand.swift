import ArgumentParser
import Console
import Devices
import Foundation
import Scan
import Inventory
import Store
import USB

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List the cameras, fingerprint pads and printers attached now.",
        discussion: """
            Each catalogued device is opened to read its manufacturer, product and serial. A \
            device that cannot be opened is still listed, with state no-access and a hint. \
            Uncatalogued devices are left alone unless --all is given. Zero devices is not an error.

            Then the printers registered with `fieldgate printers add` that are not on the USB \
            bus (kind printer, state present or absent), and the fingerprint readers libfprint \
            sees (kind fingerprint-reader).
            """)

    @Flag(help: "Also list (and identify) devices the catalog does not know, as kind 'unknown'.")
    var all = false

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let home = store.homeURL.appendingPathComponent("fieldgate.sqlite").path
        let inventory = try DeviceInventory.take(context: try USBContext(), catalog: catalog.load(),
                                                 store: FileManager.default.fileExists(atPath: home) ? try store.openStore() : nil,
                                                 includeUnknown: all)
        if output.json {
            print(try jsonString(inventory.usb.map(ScanEntry.usb) + inventory.others.map(ScanEntry.other)))
            return
        }
        guard !inventory.isEmpty else {
            print(all ? "No USB devices found." : "No catalogued devices attached (use --all to list every USB device).")
            return
        }
        print(Self.table(inventory.usb, inventory.others))
    }

    static func table(_ devices: [ScannedDevice], _ others: [OtherDevice] = []) -> String {
        var table = TextTable("BUS:ADDR", "ID", "KIND", "VENDOR", "MODEL", "MODE", "SERIAL", "STATE")
        for device in devices {
            table.add([device.busAddress, device.ids, device.kind, device.vendor ?? device.manufacturer,
                       device.model ?? device.product, device.mode, device.serial, device.state.rawValue])
        }
        for other in others {
            table.add(["-", other.path ?? other.deviceId, other.kind.rawValue, other.vendor, other.model ?? other.name,
                       other.mode?.rawValue, nil, other.state.rawValue])
        }
        var text = table.render()
        for device in devices {
            if let hint = device.hint { text += "\n\(device.busAddress): \(hint)" }
        }
        for other in others {
            if let hint = other.hint { text += "\n\(other.name ?? other.kind.rawValue): \(hint)" }
        }
        return text
    }
}

/// One line of `scan --json`: every key of a USB device's entry, plus `name`, `path` and
/// `deviceId`; every key present, null when unknown.
enum ScanEntry: Encodable {
    case usb(ScannedDevice)
    case other(OtherDevice)

    enum Keys: String, CodingKey {
        case bus, address, port, speed, vendorId, productId, kind, vendor, model, driver, mode, serial
        case manufacturer, product, state, hint, profile, interfaceClasses, name, path, deviceId
    }

    func encode(to encoder: Encoder) throws {
        switch self {
        case .usb(let device):
            try device.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeNil(forKey: .name)
            try container.encodeNil(forKey: .path)
            try container.encodeNil(forKey: .deviceId)
        case .other(let other):
            var container = encoder.container(keyedBy: Keys.self)
            for key in [Keys.bus, .address, .port, .speed, .vendorId, .productId, .serial, .manufacturer, .product, .interfaceClasses] {
                try container.encodeNil(forKey: key)
            }
            try container.encode(other.kind, forKey: .kind)
            try container.encode(other.vendor, forKey: .vendor)
            try container.encode(other.model, forKey: .model)
            try container.encode(other.driver, forKey: .driver)
            try container.encode(other.mode, forKey: .mode)
            try container.encode(other.state, forKey: .state)
            try container.encode(other.hint, forKey: .hint)
            try container.encode(other.profile, forKey: .profile)
            try container.encode(other.name, forKey: .name)
            try container.encode(other.path, forKey: .path)
            try container.encode(other.deviceId, forKey: .deviceId)
        }
    }
}
