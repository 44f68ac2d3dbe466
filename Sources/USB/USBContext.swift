import CLibUSB

/// One libusb session. libusb contexts are thread-safe, so a context may be shared freely;
/// devices and handles keep their context alive.
public final class USBContext: @unchecked Sendable {
    let raw: OpaquePointer

    /// Opens a libusb session. libusb's own log output stays off: errors reach the caller as `USBError`.
    public init() throws(USBError) {
        var context: OpaquePointer?
        try check(libusb_init(&context), "initialise libusb")
        guard let context else { throw USBError(code: .other(0), operation: "initialise libusb") }
        raw = context
        _ = fieldgate_libusb_set_log_level(context, Int32(LIBUSB_LOG_LEVEL_NONE.rawValue))
    }

    deinit { libusb_exit(raw) }

    /// Every device on every bus now, in bus/address order. Reading this never opens a device.
    public func devices() throws(USBError) -> [USBDevice] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try check(Int32(truncatingIfNeeded: libusb_get_device_list(raw, &list)), "list USB devices")
        defer { libusb_free_device_list(list, 1) }
        var devices: [USBDevice] = []
        for index in 0..<Int(count) {
            guard let device = list?[index] else { continue }
            devices.append(USBDevice(retaining: device, context: self))
        }
        return devices.sorted { ($0.bus, $0.address) < ($1.bus, $1.address) }
    }

    /// Whether this libusb can report hotplug events on this system.
    public var supportsHotplug: Bool { libusb_has_capability(UInt32(LIBUSB_CAP_HAS_HOTPLUG.rawValue)) != 0 }
}
