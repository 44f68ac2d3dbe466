import CLibUSB

/// The negotiated bus speed of a device.
public enum USBSpeed: String, Sendable, Codable {
    case low, full, high, `super`, superPlus = "super-plus", unknown

    init(_ raw: Int32) {
        switch raw {
        case Int32(LIBUSB_SPEED_LOW.rawValue): self = .low
        case Int32(LIBUSB_SPEED_FULL.rawValue): self = .full
        case Int32(LIBUSB_SPEED_HIGH.rawValue): self = .high
        case Int32(LIBUSB_SPEED_SUPER.rawValue): self = .super
        case Int32(LIBUSB_SPEED_SUPER_PLUS.rawValue): self = .superPlus
        default: self = .unknown
        }
    }
}

/// What the device descriptor says, read without opening the device.
public struct USBDeviceDescriptor: Sendable, Equatable {
    public var vendorId: UInt16
    public var productId: UInt16
    public var deviceClass: UInt8
    public var usbVersion: UInt16
    public var deviceVersion: UInt16
    public var manufacturerIndex: UInt8
    public var productIndex: UInt8
    public var serialNumberIndex: UInt8
}

/// A device on the bus as libusb sees it. Holds a libusb reference until released.
public final class USBDevice: @unchecked Sendable {
    let raw: OpaquePointer
    let context: USBContext

    public let bus: UInt8
    public let address: UInt8
    /// Port numbers from the root hub down, e.g. [1, 4] for "1-1.4".
    public let portNumbers: [UInt8]
    public let speed: USBSpeed
    /// `nil` when the descriptor could not be parsed (a malformed device); see `descriptorError`.
    public let descriptor: USBDeviceDescriptor?
    public let descriptorError: USBError?
    /// The interface classes of the active configuration (first alternate settings), in order.
    public let interfaceClasses: [UInt8]
    /// Set when the configuration descriptor could not be read or parsed.
    public let configurationError: USBError?

    init(retaining device: OpaquePointer, context: USBContext) {
        raw = libusb_ref_device(device)
        self.context = context
        bus = libusb_get_bus_number(device)
        address = libusb_get_device_address(device)
        speed = USBSpeed(libusb_get_device_speed(device))

        var ports = [UInt8](repeating: 0, count: 8)
        let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
        portNumbers = depth > 0 ? Array(ports.prefix(Int(depth))) : []

        var raw = libusb_device_descriptor()
        let name = formatBusAddress(bus, address)
        let status = libusb_get_device_descriptor(device, &raw)
        if status < 0 {
            descriptor = nil
            descriptorError = USBError(raw: status, operation: "read device descriptor of \(name)")
        } else {
            descriptor = USBDeviceDescriptor(
                vendorId: raw.idVendor, productId: raw.idProduct, deviceClass: raw.bDeviceClass,
                usbVersion: raw.bcdUSB, deviceVersion: raw.bcdDevice,
                manufacturerIndex: raw.iManufacturer, productIndex: raw.iProduct,
                serialNumberIndex: raw.iSerialNumber)
            descriptorError = nil
        }

        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        var configStatus = libusb_get_active_config_descriptor(device, &config)
        if configStatus == LIBUSB_ERROR_NOT_FOUND.rawValue {
            // Unconfigured device: the first configuration is what it would use.
            configStatus = libusb_get_config_descriptor(device, 0, &config)
        }
        if configStatus < 0 || config == nil {
            interfaceClasses = []
            configurationError = USBError(raw: configStatus, operation: "read configuration descriptor of \(name)")
        } else {
            defer { libusb_free_config_descriptor(config) }
            let cfg = config!.pointee
            var classes: [UInt8] = []
            for i in 0..<Int(cfg.bNumInterfaces) {
                let interface = cfg.interface[i]
                if interface.num_altsetting > 0 { classes.append(interface.altsetting[0].bInterfaceClass) }
            }
            interfaceClasses = classes
            configurationError = nil
        }
    }

    deinit { libusb_unref_device(raw) }

    /// "bus:address" as lsusb prints it, e.g. "001:004".
    public var busAddress: String { formatBusAddress(bus, address) }

    /// The kernel's name for the port, e.g. "1-1.4"; the root hub itself is "usb1".
    public var portPath: String {
        portNumbers.isEmpty ? "usb\(bus)" : "\(bus)-" + portNumbers.map(String.init).joined(separator: ".")
    }

    /// Opens the device for requests. Fails with `.access` when the user lacks permission
    /// (see the udev rule in devices/udev/), `.busy` or `.noDevice` when it cannot be reached.
    public func open() throws(USBError) -> USBDeviceHandle {
        var handle: OpaquePointer?
        try check(libusb_open(raw, &handle), "open USB device \(busAddress)")
        guard let handle else { throw USBError(code: .other(0), operation: "open USB device \(busAddress)") }
        return USBDeviceHandle(raw: handle, device: self)
    }
}

/// "001:004": zero-padded as lsusb and /dev/bus/usb name them.
func formatBusAddress(_ bus: UInt8, _ address: UInt8) -> String {
    func pad(_ value: UInt8) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
    return pad(bus) + ":" + pad(address)
}

extension USBDevice {
    /// The first interface of class `interfaceClass` in the active configuration that has a
    /// bulk OUT endpoint, and that endpoint's address (e.g. a printer's, class 0x07).
    public func bulkOutEndpoint(interfaceClass: UInt8) -> (interface: Int32, endpoint: UInt8)? {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        var status = libusb_get_active_config_descriptor(raw, &config)
        if status == LIBUSB_ERROR_NOT_FOUND.rawValue { status = libusb_get_config_descriptor(raw, 0, &config) }
        guard status == 0, let config else { return nil }
        defer { libusb_free_config_descriptor(config) }
        for i in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[i]
            guard interface.num_altsetting > 0 else { continue }
            let setting = interface.altsetting[0]
            guard setting.bInterfaceClass == interfaceClass else { continue }
            for e in 0..<Int(setting.bNumEndpoints) {
                let endpoint = setting.endpoint[e]
                if endpoint.bEndpointAddress & 0x80 == 0 && endpoint.bmAttributes & 0x03 == 2 {
                    return (Int32(setting.bInterfaceNumber), endpoint.bEndpointAddress)
                }
            }
        }
        return nil
    }
}
