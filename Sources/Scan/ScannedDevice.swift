import Devices

/// Whether the gateway can talk to a device.
public enum DeviceState: String, Sendable, Codable {
    /// Opened and identified.
    case ready
    /// Listed from sysfs but could not be opened (permissions, busy, node missing).
    case noAccess = "no-access"
    /// Opened, but it answered wrongly or its descriptors are malformed.
    case error
    /// Not opened on purpose (an uncatalogued device seen while watching, or one that left).
    case notOpened = "not-opened"
}

/// One device on the bus, matched against the catalog: what `scan` and `watch` report.
public struct ScannedDevice: Sendable, Equatable, Encodable {
    public var bus: Int
    public var address: Int
    public var port: String
    public var speed: String
    public var vendorId: String
    public var productId: String
    /// "body-camera", "fingerprint-pad", "printer", or "unknown" for an uncatalogued device.
    public var kind: String
    public var vendor: String?
    public var model: String?
    public var driver: String?
    public var mode: String?
    public var serial: String?
    public var manufacturer: String?
    public var product: String?
    public var state: DeviceState
    /// What went wrong and what to do, when the state is not `ready`.
    public var hint: String?
    /// The profile file that matched, if any.
    public var profile: String?
    public var interfaceClasses: [String]

    public var isCatalogued: Bool { kind != "unknown" }
    public var busAddress: String { "\(pad(bus, 3)):\(pad(address, 3))" }
    public var ids: String { "\(vendorId):\(productId)" }

    enum CodingKeys: String, CodingKey {
        case bus, address, port, speed, vendorId, productId, kind, vendor, model, driver, mode, serial
        case manufacturer, product, state, hint, profile, interfaceClasses
    }

    /// Every key is always present (null when unknown), so scripts can rely on the shape.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bus, forKey: .bus)
        try container.encode(address, forKey: .address)
        try container.encode(port, forKey: .port)
        try container.encode(speed, forKey: .speed)
        try container.encode(vendorId, forKey: .vendorId)
        try container.encode(productId, forKey: .productId)
        try container.encode(kind, forKey: .kind)
        try container.encode(vendor, forKey: .vendor)
        try container.encode(model, forKey: .model)
        try container.encode(driver, forKey: .driver)
        try container.encode(mode, forKey: .mode)
        try container.encode(serial, forKey: .serial)
        try container.encode(manufacturer, forKey: .manufacturer)
        try container.encode(product, forKey: .product)
        try container.encode(state, forKey: .state)
        try container.encode(hint, forKey: .hint)
        try container.encode(profile, forKey: .profile)
        try container.encode(interfaceClasses, forKey: .interfaceClasses)
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
