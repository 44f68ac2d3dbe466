import CLibUSB
import Common

/// An open device. Requests are synchronous with a timeout; libusb makes them safe to issue
/// from any thread, including while another thread handles hotplug events. One handle is
/// used by one thread at a time.
public final class USBDeviceHandle: @unchecked Sendable {
    let raw: OpaquePointer
    public let device: USBDevice
    /// The device's first string language, asked once per handle.
    private var language: UInt16?

    init(raw: OpaquePointer, device: USBDevice) {
        self.raw = raw
        self.device = device
    }

    deinit { libusb_close(raw) }

    /// Default timeout for requests, in milliseconds.
    public static let defaultTimeout: UInt32 = 1000

    /// Reads string descriptor `index` in the device's first language, decoded from UTF-16
    /// (so Chinese manufacturer names survive). Index 0 means "no string" and returns nil.
    public func string(at index: UInt8, timeout: UInt32 = defaultTimeout) throws(USBError) -> String? {
        guard index != 0 else { return nil }
        if language == nil {
            let languages = try getDescriptor(type: 3, index: 0, language: 0, timeout: timeout)
            language = languages.count >= 4 ? UInt16(languages[2]) | UInt16(languages[3]) << 8 : 0x0409
        }
        let language = language ?? 0x0409
        let bytes = try getDescriptor(type: 3, index: index, language: language, timeout: timeout)
        guard bytes.count >= 2, bytes[1] == 3 else {
            throw USBError(code: .io, operation: "read string descriptor \(index) of \(device.busAddress)")
        }
        let length = min(Int(bytes[0]), bytes.count)
        var units: [UInt16] = []
        var offset = 2
        while offset + 1 < length {
            units.append(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
            offset += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    private func getDescriptor(type: UInt8, index: UInt8, language: UInt16, timeout: UInt32) throws(USBError) -> [UInt8] {
        try controlIn(requestType: 0x80, request: 0x06, value: UInt16(type) << 8 | UInt16(index),
                      index: language, length: 255, timeout: timeout)
    }

    /// A control request that reads up to `length` bytes from the device.
    public func controlIn(requestType: UInt8, request: UInt8, value: UInt16 = 0, index: UInt16 = 0,
                          length: Int, timeout: UInt32 = defaultTimeout) throws(USBError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: length)
        let count = try check(
            libusb_control_transfer(raw, requestType, request, value, index, &buffer, UInt16(length), timeout),
            "control request 0x\(Hex.byte(request)) to \(device.busAddress)")
        return Array(buffer.prefix(Int(count)))
    }

    /// A control request that sends `data` to the device.
    public func controlOut(requestType: UInt8, request: UInt8, value: UInt16 = 0, index: UInt16 = 0,
                           data: [UInt8], timeout: UInt32 = defaultTimeout) throws(USBError) {
        var buffer = data
        try check(
            libusb_control_transfer(raw, requestType, request, value, index, &buffer, UInt16(data.count), timeout),
            "control request 0x\(Hex.byte(request)) to \(device.busAddress)")
    }

    /// Sends `data` on bulk OUT `endpoint`; returns how many bytes the device took.
    @discardableResult
    public func bulkOut(endpoint: UInt8, data: [UInt8], timeout: UInt32 = defaultTimeout) throws(USBError) -> Int {
        var buffer = data
        var sent: Int32 = 0
        try check(libusb_bulk_transfer(raw, endpoint, &buffer, Int32(data.count), &sent, timeout),
                  "bulk transfer to endpoint 0x\(Hex.byte(endpoint)) of \(device.busAddress)")
        return Int(sent)
    }

    /// Reads up to `length` bytes from bulk IN `endpoint`.
    public func bulkIn(endpoint: UInt8, length: Int, timeout: UInt32 = defaultTimeout) throws(USBError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: length)
        var received: Int32 = 0
        try check(libusb_bulk_transfer(raw, endpoint, &buffer, Int32(length), &received, timeout),
                  "bulk transfer from endpoint 0x\(Hex.byte(endpoint)) of \(device.busAddress)")
        return Array(buffer.prefix(Int(received)))
    }

    /// Claims `interface`, first detaching a kernel driver (e.g. usblp) where one is bound.
    public func claimInterface(_ interface: Int32) throws(USBError) {
        if libusb_kernel_driver_active(raw, interface) == 1 {
            try check(libusb_detach_kernel_driver(raw, interface),
                      "detach kernel driver from interface \(interface) of \(device.busAddress)")
        }
        try check(libusb_claim_interface(raw, interface), "claim interface \(interface) of \(device.busAddress)")
    }

    public func releaseInterface(_ interface: Int32) {
        _ = libusb_release_interface(raw, interface)
    }
}

