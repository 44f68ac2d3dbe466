import Foundation
import TextCodecs

/// A body camera that speaks the GA/T 947 USB binding (shared/protocols/gat947-usb.md) in
/// control mode and, after SET_MSDC, leaves the bus and returns as a mass-storage device
/// with the same serial. Written independently of the gateway's driver, so each checks the other.
public final class EmulatedGAT947Camera: EmulatedDeviceBehaviour, @unchecked Sendable {
    /// The officer record (ZFY_INFO) a camera carries.
    public struct Record: Sendable, Equatable {
        public var serial: String
        public var officerNumber: String
        public var officerName: String
        public var unitNumber: String
        public var unitName: String

        public init(serial: String, officerNumber: String, officerName: String, unitNumber: String, unitName: String) {
            self.serial = serial
            self.officerNumber = officerNumber
            self.officerName = officerName
            self.unitNumber = unitNumber
            self.unitName = unitName
        }
    }

    public enum Request: UInt8, Sendable {
        case auth = 0x01, getIdCode = 0x02, getInfo = 0x03, setInfo = 0x04
        case getTime = 0x05, setTime = 0x06, getBattery = 0x07, setMassStorage = 0x08
    }

    /// Example ids: pid.codes test PIDs, as in devices/body-cameras/example-gat947-zfy-x1.toml.
    public static let exampleVendorId: UInt16 = 0x1209
    public static let exampleControlProductId: UInt16 = 0x0001
    public static let exampleStorageProductId: UInt16 = 0x0002

    public let controlDescription: EmulatedDeviceDescription
    public let storageDescription: EmulatedDeviceDescription
    private let lock = NSLock()
    private let password: String
    private let idCode: String
    private var record: Record
    private var clockOffset: TimeInterval
    private var battery: UInt8
    private var authenticated = false
    private var requests: [Request] = []
    private var testbed: USBTestbed?
    private var plugged: PluggedDevice?
    /// The folder the camera's storage holds, seen once it switches to mass-storage mode.
    public let volume: URL?
    /// False leaves the storage unmounted, as on a machine that does not automount.
    public let volumeMounted: Bool

    /// - Parameter clockOffset: how far the camera's clock is ahead of real time, in seconds.
    public init(record: Record, password: String = "000000", idCode: String = "EXAMPLEVISION-ZFY-X1",
                manufacturer: String = "Example Vision", product: String = "ZFY-X1",
                vendorId: UInt16 = exampleVendorId, controlProductId: UInt16 = exampleControlProductId,
                storageProductId: UInt16 = exampleStorageProductId, clockOffset: TimeInterval = 0, battery: UInt8 = 87,
                volume: URL? = nil, volumeMounted: Bool = true) {
        self.record = record
        self.volume = volume
        self.volumeMounted = volumeMounted
        self.password = password
        self.idCode = idCode
        self.clockOffset = clockOffset
        self.battery = battery
        controlDescription = EmulatedDeviceDescription(
            vendorId: vendorId, productId: controlProductId, manufacturer: manufacturer, product: product,
            serialNumber: record.serial, interfaces: [EmulatedInterface(interfaceClass: 0xFF)])
        storageDescription = EmulatedDeviceDescription(
            vendorId: vendorId, productId: storageProductId, manufacturer: manufacturer, product: product,
            serialNumber: record.serial,
            interfaces: [EmulatedInterface(interfaceClass: 0x08, subclass: 0x06, interfaceProtocol: 0x50,
                                           endpoints: [EmulatedEndpoint(address: 0x81), EmulatedEndpoint(address: 0x02)])])
    }

    /// Docks the camera: it appears in control mode.
    @discardableResult
    public func dock(on testbed: USBTestbed, bus: UInt8 = 1) throws(EmulationError) -> PluggedDevice {
        let device = try testbed.plug(controlDescription, behaviour: self, bus: bus)
        lock.withLock {
            self.testbed = testbed
            plugged = device
        }
        return device
    }

    /// Takes the camera off the dock, whichever mode it is in.
    public func undock() {
        let (testbed, device) = lock.withLock { (self.testbed, plugged) }
        if let testbed, let device { testbed.unplug(device) }
        lock.withLock { plugged = nil }
    }

    /// Where the camera is on the bus now, if docked.
    public var pluggedDevice: PluggedDevice? { lock.withLock { plugged } }
    /// The record as the camera holds it now.
    public var currentRecord: Record { lock.withLock { record } }
    /// The camera's clock now.
    public var clock: Date { lock.withLock { Date().addingTimeInterval(clockOffset) } }
    /// Every request the camera accepted or refused, in order.
    public var requestLog: [Request] { lock.withLock { requests } }

    public func connectionOpened() {
        lock.withLock { authenticated = false }
    }

    public func control(_ setup: ControlSetup, data: [UInt8]) -> ControlReply {
        lock.lock()
        defer { lock.unlock() }
        guard setup.requestType & 0x60 == 0x40, let request = Request(rawValue: setup.request) else { return .stall }
        requests.append(request)
        if request == .auth {
            authenticated = !data.isEmpty && data == Array(password.utf8)
            return authenticated ? .ack : .stall
        }
        guard authenticated else { return .stall }
        switch (request, setup.isIn) {
        case (.getIdCode, true): return .data(padded(Array(idCode.utf8), 32))
        case (.getInfo, true): return (try? encode(record)).map(ControlReply.data) ?? .stall
        case (.setInfo, false):
            guard data.count == 94, let decoded = decode(data) else { return .stall }
            record = decoded
            return .ack
        case (.getTime, true):
            let seconds = Int64(Date().addingTimeInterval(clockOffset).timeIntervalSince1970.rounded(.down))
            return .data(withUnsafeBytes(of: seconds.littleEndian, Array.init))
        case (.setTime, false):
            guard data.count == 8 else { return .stall }
            let seconds = data.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            clockOffset = TimeInterval(seconds) - Date().timeIntervalSince1970
            return .ack
        case (.getBattery, true): return .data([battery])
        case (.setMassStorage, false):
            scheduleSwitchToStorage()
            return .ack
        default: return .stall
        }
    }

    /// Re-enumerates in mass-storage mode shortly after acknowledging SET_MSDC, as a real
    /// camera does once the host has its answer.
    private func scheduleSwitchToStorage() {
        guard let testbed, let control = plugged else { return }
        let storage = storageDescription
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { [self] in
            testbed.unplug(control)
            let device = try? testbed.plug(storage, behaviour: PassiveDevice(), bus: control.bus, volume: volume,
                                           mounted: volumeMounted)
            lock.withLock { plugged = device }
        }
    }

    private func encode(_ record: Record) throws -> [UInt8] {
        padded(Array(record.serial.utf8), 8) + padded(Array(record.officerNumber.utf8), 7)
            + padded(try ChineseEncoding.gbk.encode(record.officerName), 33)
            + padded(Array(record.unitNumber.utf8), 13) + padded(try ChineseEncoding.gbk.encode(record.unitName), 33)
    }

    private func decode(_ bytes: [UInt8]) -> Record? {
        func field(_ offset: Int, _ size: Int) -> [UInt8] { Array(bytes[offset..<offset + size].prefix { $0 != 0 }) }
        guard let name = try? ChineseEncoding.gbk.decode(field(15, 33)),
              let unitName = try? ChineseEncoding.gbk.decode(field(61, 33)) else { return nil }
        return Record(serial: String(decoding: field(0, 8), as: UTF8.self),
                      officerNumber: String(decoding: field(8, 7), as: UTF8.self), officerName: name,
                      unitNumber: String(decoding: field(48, 13), as: UTF8.self), unitName: unitName)
    }

    private func padded(_ bytes: [UInt8], _ size: Int) -> [UInt8] {
        Array(bytes.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - bytes.count))
    }
}
