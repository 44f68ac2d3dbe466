import CUMockdev
import Foundation

/// Why emulated devices cannot be attached.
public enum EmulationError: Error, Sendable, CustomStringConvertible {
    /// The process runs without umockdev's preload library, so libusb would see the real bus.
    case notPreloaded
    case umockdev(String)

    public var description: String {
        switch self {
        case .notPreloaded:
            "emulated USB devices need umockdev's preload library: run the program under `umockdev-wrapper` "
                + "(Debian package umockdev), e.g. `umockdev-wrapper fieldgate …`"
        case .umockdev(let message): "umockdev: \(message)"
        }
    }
}

/// A device attached to the testbed.
public struct PluggedDevice: Sendable, Hashable {
    public let bus: UInt8
    public let address: UInt8
    /// The sysfs path, e.g. /sys/devices/pci0000:00/0000:00:14.0/usb1/1-3.
    public let sysPath: String
    public var deviceNode: String { "/dev/bus/usb/\(pad3(bus))/\(pad3(address))" }
    /// The usbdevfs minor number the kernel would give it (major 189).
    var minor: Int { (Int(bus) - 1) * 128 + Int(address) - 1 }
}

/// umockdev's testbed: a fake sysfs and /dev that libusb reads through the preload library.
/// One per process (umockdev keeps its location in a process-wide variable), hence `shared()`.
/// Programs started from this process inherit the testbed: their libusb sees the same devices,
/// answered by this process.
public final class USBTestbed: @unchecked Sendable {
    private let raw: UnsafeMutablePointer<UMockdevTestbed>
    private let lock = NSLock()
    private var nextAddress: [UInt8: UInt8] = [:]
    private var attached: [PluggedDevice: (node: USBDeviceNode?, handler: UnsafeMutablePointer<UMockdevIoctlBase>?)] = [:]
    /// Unplugged devices' handlers, by device node, still answering (ENODEV) any program that
    /// had the device open: detaching a handler with a client connected would abort that
    /// program inside umockdev's preload, where a real kernel just reports the device gone.
    private var retired: [String: (node: USBDeviceNode?, handler: UnsafeMutablePointer<UMockdevIoctlBase>)] = [:]
    /// Mount-table lines of emulated disks, by the device they belong to.
    private var mounts: [PluggedDevice: String] = [:]
    private var nextDisk = 1

    nonisolated(unsafe) private static var instance: USBTestbed?
    private static let instanceLock = NSLock()

    /// Whether the umockdev preload library is loaded into this process.
    public static var isPreloaded: Bool {
        (ProcessInfo.processInfo.environment["LD_PRELOAD"] ?? "").contains("libumockdev-preload")
    }

    /// The process's testbed, made on first use. Make it before the first libusb context.
    public static func shared() throws(EmulationError) -> USBTestbed {
        guard isPreloaded else { throw EmulationError.notPreloaded }
        instanceLock.lock()
        defer { instanceLock.unlock() }
        if let instance { return instance }
        guard let testbed = umockdev_testbed_new() else { throw EmulationError.umockdev("cannot create a testbed") }
        // Asked only after the testbed exists: umockdev caches the first answer.
        guard umockdev_in_mock_environment() != 0 else {
            g_object_unref(testbed)
            throw EmulationError.notPreloaded
        }
        let made = USBTestbed(raw: testbed)
        // Emulated disks are "mounted" in a mount table of the testbed's own, which this
        // process and every program it starts read instead of /proc/self/mountinfo.
        _ = FileManager.default.createFile(atPath: made.mountTablePath, contents: Data())
        setenv("FIELDGATE_MOUNTINFO", made.mountTablePath, 1)
        instance = made
        return made
    }

    private init(raw: UnsafeMutablePointer<UMockdevTestbed>) {
        self.raw = raw
    }

    /// The testbed's root folder (what UMOCKDEV_DIR names for child processes).
    public var rootDirectory: String { String(cString: umockdev_testbed_get_root_dir(raw)) }

    /// The emulated mount table, in /proc/self/mountinfo format.
    public var mountTablePath: String { rootDirectory + "/mountinfo" }

    /// Attaches a device and announces it (a udev "add" event), as plugging it in would.
    /// - Parameter volume: for a mass-storage device, the folder its disk holds: the device gets a
    ///   disk and partition in sysfs, and the partition is listed as mounted there (read-only)
    ///   unless `mounted` is false.
    @discardableResult
    public func plug(_ description: EmulatedDeviceDescription, behaviour: EmulatedDeviceBehaviour = PassiveDevice(),
                     bus: UInt8 = 1, volume: URL? = nil, mounted: Bool = true) throws(EmulationError) -> PluggedDevice {
        lock.lock()
        defer { lock.unlock() }
        let address = allocateAddress(bus: bus)
        let sysPath = "/sys/devices/pci0000:00/0000:00:14.0/usb\(bus)/\(bus)-\(Int(address) - 1)"
        let device = PluggedDevice(bus: bus, address: address, sysPath: sysPath)
        var error: UnsafeMutablePointer<GError>?
        // The node's handler goes in before the sysfs entry: adding the entry announces the
        // device, and a watcher that opens it at once must find the node answering.
        var node: USBDeviceNode?
        var handler: UnsafeMutablePointer<UMockdevIoctlBase>?
        if description.hasDeviceNode {
            if let old = retired.removeValue(forKey: device.deviceNode) {
                umockdev_testbed_detach_ioctl(raw, device.deviceNode, nil)
                g_object_unref(old.handler)
            }
            let deviceNode = USBDeviceNode(description: description, behaviour: behaviour)
            guard let made = umockdev_ioctl_base_new() else { throw EmulationError.umockdev("cannot create an ioctl handler") }
            g_signal_connect_data(made, "handle-ioctl", unsafeBitCast(handleIoctl, to: GCallback.self),
                                  Unmanaged.passUnretained(deviceNode).toOpaque(), nil, GConnectFlags(rawValue: 0))
            if umockdev_testbed_attach_ioctl(raw, device.deviceNode, made, &error) == 0 {
                g_object_unref(made)
                throw EmulationError.umockdev(takeMessage(error) ?? "cannot attach \(device.deviceNode)")
            }
            node = deviceNode
            handler = made
            try createDeviceNode(device)
        }
        if umockdev_testbed_add_from_string(raw, sysfsEntry(description, device), &error) == 0 {
            if let handler {
                umockdev_testbed_detach_ioctl(raw, device.deviceNode, nil)
                g_object_unref(handler)
                removeDeviceNode(device)
            }
            throw EmulationError.umockdev(takeMessage(error) ?? "cannot add \(sysPath)")
        }
        attached[device] = (node, handler)
        if let volume { try attachDisk(to: device, volume: volume, mounted: mounted) }
        return device
    }

    /// Announces the device's departure (a udev "remove" event) and removes it, as unplugging would.
    public func unplug(_ device: PluggedDevice) {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = attached.removeValue(forKey: device) else { return }
        if mounts.removeValue(forKey: device) != nil { writeMountTable() }
        umockdev_testbed_uevent(raw, device.sysPath, "remove")
        if let handler = entry.handler {
            entry.node?.disconnect()
            retired[device.deviceNode] = (entry.node, handler)
            removeDeviceNode(device)
        }
        umockdev_testbed_remove_device(raw, device.sysPath)
    }

    /// Unplugs every device this testbed attached.
    public func unplugAll() {
        let devices = lock.withLock { Array(attached.keys) }
        for device in devices { unplug(device) }
    }

    /// The devices attached now.
    public var pluggedDevices: [PluggedDevice] { lock.withLock { Array(attached.keys) } }

    /// Gives a storage device a disk and a partition under its interface, as usb-storage and
    /// the SCSI disk driver would, and lists the partition as mounted at `volume`.
    private func attachDisk(to device: PluggedDevice, volume: URL, mounted: Bool) throws(EmulationError) {
        let letter = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(nextDisk % 26)))
        let disk = "sd\(letter)", partition = "sd\(letter)1"
        let minor = 16 * nextDisk
        let host = nextDisk + 2
        nextDisk += 1
        let interface = device.sysPath.dropFirst("/sys".count) + "/\(bus(of: device))-\(port(of: device)):1.0"
        let diskPath = interface + "/host\(host)/target\(host):0:0/\(host):0:0:0/block/\(disk)"
        let entries = """
            P: \(interface)
            E: DEVTYPE=usb_interface
            E: SUBSYSTEM=usb
            A: bInterfaceClass=08\\n

            P: \(diskPath)
            N: \(disk)
            E: DEVNAME=/dev/\(disk)
            E: DEVTYPE=disk
            E: SUBSYSTEM=block
            A: dev=8:\(minor)

            P: \(diskPath)/\(partition)
            N: \(partition)
            E: DEVNAME=/dev/\(partition)
            E: DEVTYPE=partition
            E: SUBSYSTEM=block
            A: partition=1\\n
            A: dev=8:\(minor + 1)


            """
        // The mount line goes in before the disk appears: a gateway that finds the disk at once
        // must find it mounted too, as it would after the system's automounter.
        if mounted {
            let point = volume.path.replacingOccurrences(of: "\\", with: "\\134").replacingOccurrences(of: " ", with: "\\040")
            mounts[device] = "\(100 + minor) 1 8:\(minor + 1) / \(point) ro,nosuid,nodev,noexec,relatime - vfat /dev/\(partition) ro"
            writeMountTable()
        }
        var error: UnsafeMutablePointer<GError>?
        if umockdev_testbed_add_from_string(raw, entries, &error) == 0 {
            throw EmulationError.umockdev(takeMessage(error) ?? "cannot add a disk under \(device.sysPath)")
        }
    }

    private func bus(of device: PluggedDevice) -> UInt8 { device.bus }
    private func port(of device: PluggedDevice) -> String { String(device.sysPath.split(separator: "-").last ?? "1") }

    /// Replaces the table in one rename, so a reader never sees it half written.
    private func writeMountTable() {
        let text = mounts.values.sorted().joined(separator: "\n") + (mounts.isEmpty ? "" : "\n")
        let next = mountTablePath + ".next"
        _ = FileManager.default.createFile(atPath: next, contents: Data(text.utf8))
        rename(next, mountTablePath)
    }

    /// Makes the /dev node (an empty file, as umockdev's own `N:` lines make it) before the
    /// device is announced; umockdev records its major:minor from the `dev` attribute.
    private func createDeviceNode(_ device: PluggedDevice) throws(EmulationError) {
        let path = rootDirectory + device.deviceNode
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        } catch {
            throw EmulationError.umockdev("cannot create the folder of \(path): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data()) else {
            throw EmulationError.umockdev("cannot create the node \(path)")
        }
    }

    private func removeDeviceNode(_ device: PluggedDevice) {
        try? FileManager.default.removeItem(atPath: rootDirectory + device.deviceNode)
    }

    private func allocateAddress(bus: UInt8) -> UInt8 {
        let taken = Set(attached.keys.filter { $0.bus == bus }.map(\.address))
        var candidate = nextAddress[bus] ?? 2  // address 1 is the root hub
        while taken.contains(candidate) { candidate = candidate >= 127 ? 2 : candidate + 1 }
        nextAddress[bus] = candidate >= 127 ? 2 : candidate + 1
        return candidate
    }

    private func sysfsEntry(_ description: EmulatedDeviceDescription, _ device: PluggedDevice) -> String {
        var lines = ["P: " + device.sysPath.dropFirst("/sys".count)]
        // No `N:` line: the node was made (or, for a broken device, left out) before this entry.
        lines.append("E: DEVNAME=\(device.deviceNode)")
        lines += [
            "E: DEVTYPE=usb_device", "E: SUBSYSTEM=usb",
            "E: BUSNUM=\(pad3(device.bus))", "E: DEVNUM=\(pad3(device.address))",
            "A: busnum=\(device.bus)\\n", "A: devnum=\(device.address)\\n", "A: speed=\(description.speedMbps)\\n",
            "A: idVendor=\(hex4(description.vendorId))\\n", "A: idProduct=\(hex4(description.productId))\\n",
            "A: bConfigurationValue=1\\n", "A: dev=189:\(device.minor)",
            "H: descriptors=\(hexString(description.descriptors))",
        ]
        return lines.joined(separator: "\n") + "\n\n"
    }
}

private let handleIoctl: @convention(c) (gpointer?, gpointer?, gpointer?) -> gboolean = { _, client, node in
    guard let client, let node else { return 0 }
    let device = Unmanaged<USBDeviceNode>.fromOpaque(node).takeUnretainedValue()
    return device.handle(client.assumingMemoryBound(to: UMockdevIoctlClient.self)) ? 1 : 0
}

private func takeMessage(_ error: UnsafeMutablePointer<GError>?) -> String? {
    guard let error else { return nil }
    defer { g_error_free(error) }
    return String(cString: error.pointee.message)
}

func pad3(_ value: UInt8) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
