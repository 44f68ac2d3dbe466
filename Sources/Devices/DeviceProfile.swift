/// What a device is for the gateway.
public enum DeviceKind: String, Sendable, Codable, CaseIterable {
    case bodyCamera = "body-camera"
    case fingerprintPad = "fingerprint-pad"
    case printer
}

/// A driver family: one protocol, many models. Each family documents its keys in
/// devices/<family>/README.md.
public enum DriverFamily: String, Sendable, Codable, CaseIterable {
    case gat947
    case usbMassStorage = "usb-mass-storage"
    case escposUSB = "escpos-usb"
    case escposSerial = "escpos-serial"
    case libfprint

    /// Profile keys this family adds to the common ones.
    public var extraKeys: Set<String> {
        switch self {
        case .gat947: ["password"]
        case .escposUSB, .escposSerial: ["paper_width_mm", "codepage"]
        case .usbMassStorage, .libfprint: []
        }
    }

    /// Families whose devices are not on the USB bus and so may have no `[[usb]]` table.
    public var needsUSBIds: Bool { self != .escposSerial }
}

/// The role of one USB identity of a model: a GA/T 947 camera has a control and a storage identity.
public enum USBMode: String, Sendable, Codable, CaseIterable {
    case control, storage, printer, sensor
}

/// One `[[usb]]` table of a profile.
public struct USBIdentity: Sendable, Codable, Hashable {
    public var vendorId: UInt16
    public var productId: UInt16
    public var mode: USBMode

    public init(vendorId: UInt16, productId: UInt16, mode: USBMode) {
        self.vendorId = vendorId
        self.productId = productId
        self.mode = mode
    }
}

/// One device model, as read from `devices/<kind>/<model>.toml`.
public struct DeviceProfile: Sendable, Codable, Equatable {
    public var kind: DeviceKind
    public var vendor: String
    public var model: String
    public var driver: DriverFamily
    /// True when the ids are examples, not a real product's.
    public var example: Bool
    public var description: String?
    public var usb: [USBIdentity]
    /// The factory password of a GA/T 947 camera, if the profile names one.
    public var password: String?
    public var paperWidthMillimetres: Int?
    public var codepage: String?
    /// The file the profile was read from.
    public var path: String

    public init(kind: DeviceKind, vendor: String, model: String, driver: DriverFamily, example: Bool = false,
                description: String? = nil, usb: [USBIdentity], password: String? = nil,
                paperWidthMillimetres: Int? = nil, codepage: String? = nil, path: String) {
        self.kind = kind
        self.vendor = vendor
        self.model = model
        self.driver = driver
        self.example = example
        self.description = description
        self.usb = usb
        self.password = password
        self.paperWidthMillimetres = paperWidthMillimetres
        self.codepage = codepage
        self.path = path
    }
}
