import Devices
import Fingerprint
import Foundation
import Print
import Scan
import Store
import USB

/// A device the gateway knows of that the USB catalog does not find: a printer registered by
/// device path (Bluetooth, /dev/usb/lpN), or a fingerprint reader libfprint sees.
public struct OtherDevice: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case printer
        case fingerprintReader = "fingerprint-reader"
    }

    public enum State: String, Sendable, Codable {
        /// A registered device path that is there now.
        case present
        /// A registered device path that is not there: the hint says what to do.
        case absent
        /// A reader libfprint opened.
        case ready
    }

    public var kind: Kind
    public var vendor: String?
    public var model: String?
    public var driver: DriverFamily
    public var mode: USBMode?
    public var state: State
    public var hint: String?
    public var profile: String?
    public var name: String?
    public var path: String?
    public var deviceId: String?
}

/// Everything attached that the gateway can use: catalogued USB devices, then registered
/// serial printers, then libfprint's readers.
public struct DeviceInventory: Sendable {
    public var usb: [ScannedDevice]
    public var others: [OtherDevice]

    public var isEmpty: Bool { usb.isEmpty && others.isEmpty }

    /// Takes stock now. `store` is read only when given (scan never creates a store).
    public static func take(context: USBContext, catalog: DeviceCatalog, store: EvidenceStore?,
                            includeUnknown: Bool) throws -> DeviceInventory {
        let usb = try DeviceScanner(context: context, catalog: catalog).scan(includeUnknown: includeUnknown)
        let printers = try store.map { try registeredPrinters($0, catalog: catalog) } ?? []
        return DeviceInventory(usb: usb, others: printers + FingerprintReaders.list().map(OtherDevice.init))
    }

    /// Printers registered by device path, present or not, with their catalog profile.
    static func registeredPrinters(_ store: EvidenceStore, catalog: DeviceCatalog) throws -> [OtherDevice] {
        try store.printers().filter { $0.transport == .serial }.map { printer in
            let profile = catalog.profiles.first { $0.kind == .printer && $0.model == printer.model }
            let present = SerialPrinter.isPresent(path: printer.path ?? "")
            return OtherDevice(
                kind: .printer, vendor: profile?.vendor, model: printer.model, driver: .escposSerial, mode: .printer,
                state: present ? .present : .absent,
                hint: present ? nil : "\(printer.path ?? "") is not there: switch the printer on and bind it (`sudo rfcomm bind …`)",
                profile: profile?.path, name: printer.name, path: printer.path, deviceId: nil)
        }
    }
}

extension OtherDevice {
    init(_ reader: FingerprintReaderInfo) {
        self.init(kind: .fingerprintReader, vendor: nil, model: reader.name, driver: .libfprint, mode: .sensor,
                  state: .ready, hint: nil, profile: nil, name: reader.driver, path: nil, deviceId: reader.deviceId)
    }
}
