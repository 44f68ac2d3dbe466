import Common
import Devices
import Foundation
import USB

/// Scan: lists the devices on the bus and says what each is, by the catalog.
public struct DeviceScanner: Sendable {
    public let context: USBContext
    public let catalog: DeviceCatalog

    /// The udev rule shipped for device access; named in every permission hint.
    public static let udevRule = "devices/udev/70-fieldgate.rules"

    public init(context: USBContext, catalog: DeviceCatalog) {
        self.context = context
        self.catalog = catalog
    }

    /// The devices attached now: catalogued ones, and with `includeUnknown` every other one.
    /// Catalogued devices are opened to read their strings; unknown ones only when included.
    public func scan(includeUnknown: Bool = false) throws(USBError) -> [ScannedDevice] {
        try context.devices().compactMap { device in
            let scanned = describe(device, open: true, openUnknown: includeUnknown)
            return scanned.isCatalogued || includeUnknown ? scanned : nil
        }
    }

    /// Describes one device. `open` reads its string descriptors (catalogued devices only,
    /// unless `openUnknown`); otherwise the state is `not-opened`.
    public func describe(_ device: USBDevice, open: Bool, openUnknown: Bool = false) -> ScannedDevice {
        var scanned = ScannedDevice(
            bus: Int(device.bus), address: Int(device.address), port: device.portPath, speed: device.speed.rawValue,
            vendorId: "????", productId: "????", kind: "unknown", state: .notOpened,
            interfaceClasses: device.interfaceClasses.map(Hex.byte))
        guard let descriptor = device.descriptor else {
            scanned.state = .error
            scanned.hint = "malformed device descriptor (\(device.descriptorError?.description ?? "unreadable")); the device may be faulty"
            return scanned
        }
        scanned.vendorId = USBIdFormat.id(descriptor.vendorId)
        scanned.productId = USBIdFormat.id(descriptor.productId)
        if let match = catalog.match(vendorId: descriptor.vendorId, productId: descriptor.productId,
                                     deviceClass: descriptor.deviceClass, interfaceClasses: device.interfaceClasses) {
            scanned.kind = match.kind.rawValue
            scanned.vendor = match.vendor
            scanned.model = match.model ?? "generic USB printer"
            scanned.driver = match.driver.rawValue
            scanned.mode = match.mode.rawValue
            scanned.profile = match.profile?.path
        }
        if let error = device.configurationError {
            scanned.state = .error
            scanned.hint = "malformed configuration descriptor (\(error.code.explanation)); the device may be faulty"
            return scanned
        }
        guard open, scanned.isCatalogued || openUnknown else { return scanned }
        readStrings(of: device, descriptor: descriptor, into: &scanned)
        return scanned
    }

    private func readStrings(of device: USBDevice, descriptor: USBDeviceDescriptor, into scanned: inout ScannedDevice) {
        let handle: USBDeviceHandle
        do {
            handle = try device.open()
        } catch {
            scanned.state = .noAccess
            scanned.hint = Self.hint(for: error, device: device)
            return
        }
        do {
            scanned.manufacturer = try handle.string(at: descriptor.manufacturerIndex)
            scanned.product = try handle.string(at: descriptor.productIndex)
            scanned.serial = try handle.string(at: descriptor.serialNumberIndex)
            scanned.state = .ready
        } catch {
            scanned.state = .error
            scanned.hint = "opened, but \(error.description); unplug and re-dock the device"
        }
    }

    /// A hint that says what to do about a device that would not open.
    public static func hint(for error: USBError, device: USBDevice) -> String {
        switch error.code {
        case .access:
            "permission denied on \(device.busAddress): install the udev rule \(udevRule) and join group fieldgate (README: USB permissions)"
        case .busy:
            "\(device.busAddress) is busy: another program or kernel driver holds it; close it and re-dock"
        case .noDevice:
            "\(device.busAddress) has no device node (unplugged, or udev has not created it): re-dock; if it persists, check \(udevRule)"
        default:
            "cannot open \(device.busAddress) (\(error.code.explanation)); if it persists, check \(udevRule)"
        }
    }
}
