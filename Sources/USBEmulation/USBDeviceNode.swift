import CUMockdev
import Foundation

/// Linux usbdevfs ioctl numbers (linux/usbdevice_fs.h), as libusb issues them on x86-64/arm64.
enum USBDevFS {
    private static func ioc(_ direction: UInt, _ number: UInt, _ size: UInt) -> UInt {
        (direction << 30) | (size << 16) | (UInt(UInt8(ascii: "U")) << 8) | number
    }
    static let setInterface = ioc(2, 4, 8)
    static let setConfiguration = ioc(2, 5, 4)
    static let getDriver = ioc(1, 8, 260)
    static let submitURB = ioc(2, 10, 56)
    static let discardURB = ioc(0, 11, 0)
    static let reapURB = ioc(1, 12, 8)
    static let reapURBNoDelay = ioc(1, 13, 8)
    static let claimInterface = ioc(2, 15, 4)
    static let releaseInterface = ioc(2, 16, 4)
    static let reset = ioc(0, 20, 0)
    static let clearHalt = ioc(2, 21, 4)
    static let getCapabilities = ioc(2, 26, 4)
    static let disconnectClaim = ioc(2, 27, 264)

    // struct usbdevfs_urb field offsets (64-bit).
    static let urbSize = 56
    static let urbType = 0, urbEndpoint = 1, urbStatus = 4, urbBuffer = 16, urbBufferLength = 24, urbActualLength = 28
    static let typeInterrupt: UInt8 = 1, typeControl: UInt8 = 2, typeBulk: UInt8 = 3
}

/// Serves one emulated device's node: turns libusb's usbdevfs ioctls (submitted URBs, reaps,
/// claims) into calls on an `EmulatedDeviceBehaviour`, in whatever order the host asks.
///
/// URBs belong to the open file they were submitted on, as in the kernel: a program reaps only
/// its own, and what a program left behind when it closed the device goes with it. (Handing one
/// program a URB another submitted makes umockdev write it through a closed connection and
/// abort the reaping program.)
final class USBDeviceNode: @unchecked Sendable {
    let description: EmulatedDeviceDescription
    let behaviour: EmulatedDeviceBehaviour
    private let lock = NSLock()
    /// One open file of the device: a program's connection to umockdev's socket.
    private final class OpenFile {
        let client: UnsafeMutablePointer<UMockdevIoctlClient>
        /// Completed URBs waiting for this program to reap them.
        var completed: [UnsafeMutablePointer<UMockdevIoctlData>] = []
        init(_ client: UnsafeMutablePointer<UMockdevIoctlClient>) {
            self.client = client
            g_object_ref(client)  // kept until it has disconnected, so its address names no other
        }
        var isConnected: Bool { umockdev_ioctl_client_get_connected(client) != 0 }
    }
    private var openFiles: [UnsafeMutableRawPointer: OpenFile] = [:]
    /// IN URBs waiting for the device to have data, and OUT URBs the device NAKs for now, in
    /// the order they were submitted, each with the open file it belongs to.
    private var waiting: [(file: OpenFile, urb: UnsafeMutablePointer<UMockdevIoctlData>)] = []
    /// Unplugged: every request fails with ENODEV, as the kernel answers for a device that has
    /// gone while a program still holds it open.
    private var disconnected = false

    init(description: EmulatedDeviceDescription, behaviour: EmulatedDeviceBehaviour) {
        self.description = description
        self.behaviour = behaviour
    }

    deinit {
        for entry in waiting { g_object_unref(entry.urb) }
        for file in openFiles.values {
            for urb in file.completed { g_object_unref(urb) }
            // A client still connected is left alone: dropping the last reference to it would
            // close a program's connection under it.
            if !file.isConnected { g_object_unref(file.client) }
        }
    }

    /// Unplugged: URBs still waiting complete with -ENODEV (and can be reaped, as the kernel
    /// gives them back); every later request fails with ENODEV.
    func disconnect() {
        lock.withLock {
            disconnected = true
            for entry in waiting {
                finish(entry.urb, status: -ENODEV, actual: 0)
                entry.file.completed.append(entry.urb)
            }
            waiting.removeAll()
        }
    }

    /// The open file `client` is, made on its first request; files whose program has closed
    /// the device are dropped with their URBs, as closing it drops them in the kernel.
    private func openFile(for client: UnsafeMutablePointer<UMockdevIoctlClient>) -> OpenFile {
        let key = UnsafeMutableRawPointer(client)
        if let file = openFiles[key] { return file }
        for (closedKey, closed) in openFiles where !closed.isConnected {
            waiting.removeAll { entry in
                guard entry.file === closed else { return false }
                g_object_unref(entry.urb)
                return true
            }
            for urb in closed.completed { g_object_unref(urb) }
            closed.completed.removeAll()
            openFiles[closedKey] = nil
            g_object_unref(closed.client)
        }
        let file = OpenFile(client)
        openFiles[key] = file
        return file
    }

    func handle(_ client: UnsafeMutablePointer<UMockdevIoctlClient>) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let file = openFile(for: client)
        let request = umockdev_ioctl_client_get_request(client)
        let reaping = request == USBDevFS.reapURB || request == USBDevFS.reapURBNoDelay
        if disconnected && !(reaping && !file.completed.isEmpty) {
            umockdev_ioctl_client_complete(client, -1, ENODEV)
            return true
        }
        guard let argument = umockdev_ioctl_client_get_arg(client) else {
            umockdev_ioctl_client_complete(client, -1, EFAULT)
            return true
        }
        switch request {
        case USBDevFS.getCapabilities:
            behaviour.connectionOpened()
            if let capabilities = resolve(argument, 0, 4) {
                capabilities.pointee.data.withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee = 0 }
                g_object_unref(capabilities)
            }
            umockdev_ioctl_client_complete(client, 0, 0)
        case USBDevFS.claimInterface, USBDevFS.releaseInterface, USBDevFS.setInterface, USBDevFS.setConfiguration,
             USBDevFS.clearHalt, USBDevFS.reset, USBDevFS.disconnectClaim:
            umockdev_ioctl_client_complete(client, 0, 0)
        case USBDevFS.getDriver:
            umockdev_ioctl_client_complete(client, -1, ENODATA)  // no kernel driver bound
        case USBDevFS.submitURB:
            submit(argument, from: file)
            umockdev_ioctl_client_complete(client, 0, 0)
        case USBDevFS.reapURB, USBDevFS.reapURBNoDelay:
            if !disconnected { serviceWaiting() }
            guard !file.completed.isEmpty else {
                umockdev_ioctl_client_complete(client, -1, EAGAIN)
                return true
            }
            let urb = file.completed.removeFirst()
            if let slot = resolve(argument, 0, 8) {
                umockdev_ioctl_data_set_ptr(slot, 0, urb)  // the caller's `void *` now points at the reaped URB
                g_object_unref(slot)
            }
            g_object_unref(urb)
            umockdev_ioctl_client_complete(client, 0, 0)
        case USBDevFS.discardURB:
            discard(argument, from: file)
            umockdev_ioctl_client_complete(client, 0, 0)
        default:
            umockdev_ioctl_client_complete(client, -1, ENOTTY)
        }
        return true
    }

    private func resolve(_ data: UnsafeMutablePointer<UMockdevIoctlData>, _ offset: Int, _ length: Int) -> UnsafeMutablePointer<UMockdevIoctlData>? {
        var error: UnsafeMutablePointer<GError>?
        let resolved = umockdev_ioctl_data_resolve(data, gsize(offset), gsize(length), &error)
        if let error { g_error_free(error) }
        return resolved
    }

    private func submit(_ argument: UnsafeMutablePointer<UMockdevIoctlData>, from file: OpenFile) {
        guard let urb = resolve(argument, 0, USBDevFS.urbSize) else { return }  // owned until reaped
        let fields = UnsafeMutableRawPointer(urb.pointee.data!)
        let type = fields.load(fromByteOffset: USBDevFS.urbType, as: UInt8.self)
        let endpoint = fields.load(fromByteOffset: USBDevFS.urbEndpoint, as: UInt8.self)
        if type == USBDevFS.typeControl {
            runControl(urb)
            file.completed.append(urb)
        } else if endpoint & 0x80 == 0 {
            if send(urb) { file.completed.append(urb) } else { waiting.append((file, urb)) }
        } else if !fill(urb) {
            waiting.append((file, urb))
        } else {
            file.completed.append(urb)
        }
    }

    /// Hands an OUT URB's bytes to the device; false while the device NAKs (the URB waits,
    /// and the host's timeout discards it).
    private func send(_ urb: UnsafeMutablePointer<UMockdevIoctlData>) -> Bool {
        let fields = UnsafeMutableRawPointer(urb.pointee.data!)
        let endpoint = fields.load(fromByteOffset: USBDevFS.urbEndpoint, as: UInt8.self)
        if behaviour.naks(endpoint: endpoint) { return false }
        let length = Int(fields.load(fromByteOffset: USBDevFS.urbBufferLength, as: Int32.self))
        var accepted = false
        if let buffer = resolve(urb, USBDevFS.urbBuffer, length) {
            accepted = behaviour.bulkOut(endpoint: endpoint, data: Array(UnsafeBufferPointer(start: buffer.pointee.data, count: length)))
            g_object_unref(buffer)
        }
        finish(urb, status: accepted ? 0 : -EPIPE, actual: accepted ? length : 0)
        return true
    }

    /// Tries to answer a waiting URB; true when it completed.
    private func fill(_ urb: UnsafeMutablePointer<UMockdevIoctlData>) -> Bool {
        let fields = UnsafeMutableRawPointer(urb.pointee.data!)
        let endpoint = fields.load(fromByteOffset: USBDevFS.urbEndpoint, as: UInt8.self)
        if endpoint & 0x80 == 0 { return send(urb) }
        let length = Int(fields.load(fromByteOffset: USBDevFS.urbBufferLength, as: Int32.self))
        guard let reply = behaviour.bulkIn(endpoint: endpoint, maxLength: length) else { return false }
        if let buffer = resolve(urb, USBDevFS.urbBuffer, length) {
            let count = min(reply.count, length)
            for index in 0..<count { buffer.pointee.data[index] = reply[index] }
            g_object_unref(buffer)
            finish(urb, status: 0, actual: count)
        }
        return true
    }

    private func serviceWaiting() {
        var stillWaiting: [(file: OpenFile, urb: UnsafeMutablePointer<UMockdevIoctlData>)] = []
        for entry in waiting {
            if fill(entry.urb) { entry.file.completed.append(entry.urb) } else { stillWaiting.append(entry) }
        }
        waiting = stillWaiting
    }

    private func discard(_ argument: UnsafeMutablePointer<UMockdevIoctlData>, from file: OpenFile) {
        guard argument.pointee.data_len >= 8 else { return }
        let address = UnsafeRawPointer(argument.pointee.data!).loadUnaligned(as: UInt.self)
        if let index = waiting.firstIndex(where: { $0.file === file && $0.urb.pointee.client_addr == address }) {
            let urb = waiting.remove(at: index).urb
            finish(urb, status: -ENOENT, actual: 0)  // cancelled, as the kernel reports it
            file.completed.append(urb)
        }
    }

    private func runControl(_ urb: UnsafeMutablePointer<UMockdevIoctlData>) {
        let fields = UnsafeMutableRawPointer(urb.pointee.data!)
        let length = Int(fields.load(fromByteOffset: USBDevFS.urbBufferLength, as: Int32.self))
        guard length >= 8, let bufferData = resolve(urb, USBDevFS.urbBuffer, length) else {
            finish(urb, status: -EPIPE, actual: 0)
            return
        }
        defer { g_object_unref(bufferData) }
        let buffer = UnsafeMutableBufferPointer(start: bufferData.pointee.data, count: length)
        let setup = ControlSetup(
            requestType: buffer[0], request: buffer[1],
            value: UInt16(buffer[2]) | UInt16(buffer[3]) << 8, index: UInt16(buffer[4]) | UInt16(buffer[5]) << 8,
            length: UInt16(buffer[6]) | UInt16(buffer[7]) << 8)
        let reply: ControlReply
        if setup.requestType == 0x80, setup.request == 0x06, setup.value >> 8 == 3 {
            reply = description.stringDescriptor(UInt8(setup.value & 0xff)).map(ControlReply.data) ?? .stall
        } else {
            let payload = setup.isIn ? [] : Array(buffer[8..<min(length, 8 + Int(setup.length))])
            reply = behaviour.control(setup, data: payload)
        }
        switch reply {
        case .stall:
            finish(urb, status: -EPIPE, actual: 0)
        case .data(let bytes):
            let count = setup.isIn ? min(bytes.count, Int(setup.length), length - 8) : Int(setup.length)
            if setup.isIn { for index in 0..<count { buffer[8 + index] = bytes[index] } }
            finish(urb, status: 0, actual: count)
        }
    }

    private func finish(_ urb: UnsafeMutablePointer<UMockdevIoctlData>, status: Int32, actual: Int) {
        let fields = UnsafeMutableRawPointer(urb.pointee.data!)
        fields.storeBytes(of: status, toByteOffset: USBDevFS.urbStatus, as: Int32.self)
        fields.storeBytes(of: Int32(actual), toByteOffset: USBDevFS.urbActualLength, as: Int32.self)
    }
}
