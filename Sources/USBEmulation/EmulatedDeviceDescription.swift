/// A USB endpoint of an emulated device.
public struct EmulatedEndpoint: Sendable, Equatable {
    public enum TransferType: UInt8, Sendable { case control = 0, isochronous = 1, bulk = 2, interrupt = 3 }
    /// Endpoint address; bit 7 set means IN (device to host).
    public var address: UInt8
    public var type: TransferType
    public var maxPacketSize: UInt16

    public init(address: UInt8, type: TransferType = .bulk, maxPacketSize: UInt16 = 512) {
        self.address = address
        self.type = type
        self.maxPacketSize = maxPacketSize
    }
}

/// One interface (alternate setting 0) of an emulated device.
public struct EmulatedInterface: Sendable, Equatable {
    public var interfaceClass: UInt8
    public var subclass: UInt8
    public var interfaceProtocol: UInt8
    public var endpoints: [EmulatedEndpoint]

    public init(interfaceClass: UInt8, subclass: UInt8 = 0, interfaceProtocol: UInt8 = 0, endpoints: [EmulatedEndpoint] = []) {
        self.interfaceClass = interfaceClass
        self.subclass = subclass
        self.interfaceProtocol = interfaceProtocol
        self.endpoints = endpoints
    }
}

/// The fields of an emulated device, from which its descriptors and sysfs entry are generated,
/// so tests describe devices by meaning rather than hand-written hex.
public struct EmulatedDeviceDescription: Sendable, Equatable {
    public var vendorId: UInt16
    public var productId: UInt16
    public var deviceClass: UInt8
    public var deviceVersion: UInt16
    public var manufacturer: String?
    public var product: String?
    public var serialNumber: String?
    public var interfaces: [EmulatedInterface]
    /// Bus speed in Mbit/s as sysfs states it (480 = high speed).
    public var speedMbps: Int
    /// Replaces the generated descriptors, to emulate a broken device.
    public var rawDescriptors: [UInt8]?
    /// False emulates a device whose node cannot be opened.
    public var hasDeviceNode: Bool

    public init(vendorId: UInt16, productId: UInt16, deviceClass: UInt8 = 0, deviceVersion: UInt16 = 0x0100,
                manufacturer: String? = nil, product: String? = nil, serialNumber: String? = nil,
                interfaces: [EmulatedInterface], speedMbps: Int = 480, rawDescriptors: [UInt8]? = nil,
                hasDeviceNode: Bool = true) {
        self.vendorId = vendorId
        self.productId = productId
        self.deviceClass = deviceClass
        self.deviceVersion = deviceVersion
        self.manufacturer = manufacturer
        self.product = product
        self.serialNumber = serialNumber
        self.interfaces = interfaces
        self.speedMbps = speedMbps
        self.rawDescriptors = rawDescriptors
        self.hasDeviceNode = hasDeviceNode
    }

    /// String descriptor indexes: 1 manufacturer, 2 product, 3 serial (0 when absent).
    public var strings: [UInt8: String] {
        var strings: [UInt8: String] = [:]
        if let manufacturer { strings[1] = manufacturer }
        if let product { strings[2] = product }
        if let serialNumber { strings[3] = serialNumber }
        return strings
    }

    /// The device descriptor followed by the one configuration descriptor, as sysfs `descriptors` holds them.
    public var descriptors: [UInt8] {
        if let rawDescriptors { return rawDescriptors }
        var device: [UInt8] = [18, 1]
        device += le16(0x0200)
        device += [deviceClass, 0, 0, 64]
        device += le16(vendorId) + le16(productId) + le16(deviceVersion)
        device += [manufacturer == nil ? 0 : 1, product == nil ? 0 : 2, serialNumber == nil ? 0 : 3, 1]

        var body: [UInt8] = []
        for (number, interface) in interfaces.enumerated() {
            body += [9, 4, UInt8(number), 0, UInt8(interface.endpoints.count),
                     interface.interfaceClass, interface.subclass, interface.interfaceProtocol, 0]
            for endpoint in interface.endpoints {
                body += [7, 5, endpoint.address, endpoint.type.rawValue] + le16(endpoint.maxPacketSize)
                body.append(endpoint.type == .interrupt ? 10 : 0)
            }
        }
        var configuration: [UInt8] = [9, 2]
        configuration += le16(UInt16(9 + body.count))
        configuration += [UInt8(interfaces.count), 1, 0, 0x80, 50]
        return device + configuration + body
    }

    /// The string descriptor a device answers for `index` (index 0: the language list, US English).
    func stringDescriptor(_ index: UInt8) -> [UInt8]? {
        if index == 0 { return [4, 3, 0x09, 0x04] }
        guard let text = strings[index] else { return nil }
        let units = Array(text.utf16)
        return [UInt8(2 + 2 * units.count), 3] + units.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
    }
}

func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }

func hexString(_ bytes: [UInt8]) -> String {
    let digits: [Character] = Array("0123456789ABCDEF")
    var text = ""
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return text
}
