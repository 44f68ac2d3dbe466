import USB

/// An ESC/POS printer on the USB bus (printer class 0x07), driven through libusb: the
/// printer interface is claimed (detaching the kernel's usblp where bound), its port status
/// is read, and the job goes out on the bulk OUT endpoint with a timeout per transfer.
public struct USBPrinter: Sendable {
    public static let printerClass: UInt8 = 0x07
    public let name: String
    public let device: USBDevice

    public init(name: String, device: USBDevice) {
        self.name = name
        self.device = device
    }

    /// The printer-class devices on the bus with their serial numbers (nil when unreadable).
    public static func attached(context: USBContext) throws(PrintError) -> [(device: USBDevice, serial: String?)] {
        let devices: [USBDevice]
        do {
            devices = try context.devices()
        } catch {
            throw PrintError.absent("(USB)", "cannot list USB devices: \(error)")
        }
        return devices.filter { $0.interfaceClasses.contains(printerClass) }.map { device in
            var serial: String?
            if let index = device.descriptor?.serialNumberIndex, index != 0, let handle = try? device.open() {
                serial = try? handle.string(at: index)
            }
            return (device, serial)
        }
    }

    /// Sends every byte, or fails naming the printer.
    public func send(_ bytes: [UInt8], timeoutMilliseconds: UInt32 = 5000) throws(PrintError) {
        guard let (interface, endpoint) = device.bulkOutEndpoint(interfaceClass: Self.printerClass) else {
            throw PrintError.refused(name, "USB device \(device.busAddress) has no printer interface with a bulk OUT endpoint")
        }
        let handle: USBDeviceHandle
        do {
            handle = try device.open()
            try handle.claimInterface(interface)
        } catch {
            throw map(error)
        }
        defer { handle.releaseInterface(interface) }
        // GET_PORT_STATUS (USB printer class 1.1): bit 5 paper empty, bit 3 set when there is no error.
        if let status = try? handle.controlIn(requestType: 0xA1, request: 0x01, index: UInt16(interface) << 8, length: 1),
           let flags = status.first {
            if flags & 0x20 != 0 { throw PrintError.refused(name, "it reports that it is out of paper") }
            if flags & 0x08 == 0 { throw PrintError.refused(name, "it reports an error (cover open, overheated?)") }
        }
        var offset = 0
        while offset < bytes.count {
            let chunk = Array(bytes[offset..<min(offset + 4096, bytes.count)])
            do {
                let sent = try handle.bulkOut(endpoint: endpoint, data: chunk, timeout: timeoutMilliseconds)
                guard sent > 0 else { throw PrintError.timedOut(name, "it took no bytes at \(offset) of \(bytes.count)") }
                offset += sent
            } catch let error as PrintError {
                throw error
            } catch let error as USBError {
                throw map(error, at: offset, of: bytes.count, timeout: timeoutMilliseconds)
            } catch {
                throw PrintError.refused(name, "\(error)")
            }
        }
    }

    private func map(_ error: USBError, at offset: Int? = nil, of total: Int = 0, timeout: UInt32 = 0) -> PrintError {
        let progress = offset.map { " after \($0) of \(total) bytes" } ?? ""
        switch error.code {
        case .noDevice, .notFound: return .absent(name, "USB device \(device.busAddress) is gone\(progress)")
        case .access: return .noAccess(name, "\(error) (install devices/udev/70-fieldgate.rules, see README: USB permissions)")
        case .timeout: return .timedOut(name, "USB device \(device.busAddress) took no bytes for \(timeout) ms\(progress)")
        case .pipe: return .refused(name, "USB device \(device.busAddress) stalled the transfer\(progress)")
        default: return .refused(name, "\(error)\(progress)")
        }
    }
}
