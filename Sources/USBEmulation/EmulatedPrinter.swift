import Foundation

/// A USB printer-class device (class 0x07, bidirectional) that keeps every byte it receives,
/// so tests can decode exactly what the gateway printed.
public final class EmulatedPrinter: EmulatedDeviceBehaviour, @unchecked Sendable {
    /// The ids of the common 58 mm POS printers, as in devices/printers/pos-58.toml.
    public static let pos58VendorId: UInt16 = 0x0416
    public static let pos58ProductId: UInt16 = 0x5011
    public static let bulkOutEndpoint: UInt8 = 0x01
    public static let bulkInEndpoint: UInt8 = 0x82

    public let description: EmulatedDeviceDescription
    private let deviceId: String
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var outOfPaper = false
    private var isJammed = false
    private var isBusy = false

    public init(vendorId: UInt16 = pos58VendorId, productId: UInt16 = pos58ProductId,
                manufacturer: String = "Generic", product: String = "POS-58", serialNumber: String? = "PRN0001") {
        deviceId = "MFG:\(manufacturer);MDL:\(product);CMD:ESC/POS;CLS:PRINTER;"
        description = EmulatedDeviceDescription(
            vendorId: vendorId, productId: productId, manufacturer: manufacturer, product: product,
            serialNumber: serialNumber,
            interfaces: [EmulatedInterface(interfaceClass: 0x07, subclass: 0x01, interfaceProtocol: 0x02, endpoints: [
                EmulatedEndpoint(address: Self.bulkOutEndpoint, maxPacketSize: 64),
                EmulatedEndpoint(address: Self.bulkInEndpoint, maxPacketSize: 64),
            ])],
            speedMbps: 12)
    }

    /// Everything received on the bulk OUT endpoint so far.
    public var received: [UInt8] { lock.withLock { bytes } }

    /// Out of paper: the port status says so (paper empty, error) and bulk OUT stalls.
    public var paperOut: Bool {
        get { lock.withLock { outOfPaper } }
        set { lock.withLock { outOfPaper = newValue } }
    }

    /// Busy (its buffer full, the head stuck): bulk OUT is NAKed, so transfers time out.
    public var busy: Bool {
        get { lock.withLock { isBusy } }
        set { lock.withLock { isBusy = newValue } }
    }

    public func naks(endpoint: UInt8) -> Bool { endpoint == Self.bulkOutEndpoint && busy }

    /// Jammed without saying so: the port status looks fine, but bulk OUT stalls.
    public var jammed: Bool {
        get { lock.withLock { isJammed } }
        set { lock.withLock { isJammed = newValue } }
    }

    public func control(_ setup: ControlSetup, data: [UInt8]) -> ControlReply {
        switch (setup.requestType, setup.request) {
        case (0xA1, 0x00):  // GET_DEVICE_ID: IEEE 1284 id, big-endian length first
            let id = Array(deviceId.utf8)
            return .data([UInt8((id.count + 2) >> 8), UInt8((id.count + 2) & 0xff)] + id)
        case (0xA1, 0x01):  // GET_PORT_STATUS: selected, no error, paper present; or paper empty and error
            return .data([paperOut ? 0x30 : 0x18])
        case (0x21, 0x02): return .ack  // SOFT_RESET
        default: return .stall
        }
    }

    public func bulkOut(endpoint: UInt8, data: [UInt8]) -> Bool {
        guard endpoint == Self.bulkOutEndpoint else { return false }
        return lock.withLock {
            if outOfPaper || isJammed { return false }
            bytes += data
            return true
        }
    }
}
