import Foundation
import USB

/// A camera's storage as the operating system mounted it.
public struct MountedVolume: Sendable, Equatable {
    /// The block device, e.g. /dev/sdb1.
    public var device: String
    public var mountPoint: String
    public var readOnly: Bool
}

/// A block device found under a USB device in sysfs.
public struct BlockDevice: Sendable, Equatable {
    public var name: String
    /// "major:minor", as sysfs and mountinfo write it.
    public var number: String
    public var node: String { "/dev/\(name)" }
}

public enum VolumeError: Error, Sendable, Equatable, CustomStringConvertible {
    case noBlockDevice(serial: String, sysfs: String)
    case notMounted(serial: String, device: String, reason: String)

    public var description: String {
        switch self {
        case .noBlockDevice(let serial, let sysfs):
            "camera \(serial) is in mass-storage mode but the system shows no disk for it (nothing under \(sysfs)); is the usb-storage module loaded? Re-dock the camera"
        case .notMounted(let serial, let device, let reason):
            "camera \(serial)'s storage \(device) is not mounted (\(reason)). Mount it read-only and collect it as a folder: "
                + "sudo mkdir -p /mnt/\(serial) && sudo mount -o ro,nosuid,nodev,noexec \(device) /mnt/\(serial) && fieldgate collect --from /mnt/\(serial) --camera \(serial)"
        }
    }
}

/// Finds a storage-mode camera's volume: the block devices under its USB device in sysfs,
/// then their mount points in the mount table.
public enum VolumeLocator {
    /// Tests (and the emulated docking station) point this at a mount table of their own.
    public static let mountTableVariable = "FIELDGATE_MOUNTINFO"

    public static var mountTablePath: String {
        ProcessInfo.processInfo.environment[mountTableVariable] ?? "/proc/self/mountinfo"
    }

    /// The sysfs folder of a USB device, named by its port path (e.g. /sys/bus/usb/devices/1-3).
    public static func sysfsPath(of device: USBDevice) -> String { "/sys/bus/usb/devices/\(device.portPath)" }

    /// Disks and partitions under `sysfs`, partitions first (they hold the file system).
    /// Walked folder by folder (sysfs is shallow; symlinks other than the start are not followed).
    public static func blockDevices(under sysfs: String) -> [BlockDevice] {
        var disks: [BlockDevice] = []
        var partitions: [BlockDevice] = []
        func walk(_ path: String, depth: Int) {
            guard depth < 10, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
            for name in names.sorted() {
                let child = path + "/" + name
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: child, isDirectory: &isFolder), isFolder.boolValue,
                      (try? FileManager.default.destinationOfSymbolicLink(atPath: child)) == nil else { continue }
                if name == "block" {
                    for disk in ((try? FileManager.default.contentsOfDirectory(atPath: child)) ?? []).sorted() {
                        let diskPath = child + "/" + disk
                        if let found = readBlock(diskPath, name: disk) { disks.append(found) }
                        for part in ((try? FileManager.default.contentsOfDirectory(atPath: diskPath)) ?? []).sorted()
                        where part.hasPrefix(disk) {
                            if let found = readBlock(diskPath + "/" + part, name: part) { partitions.append(found) }
                        }
                    }
                } else {
                    walk(child, depth: depth + 1)
                }
            }
        }
        walk(sysfs, depth: 0)
        return partitions + disks
    }

    private static func readBlock(_ folder: String, name: String) -> BlockDevice? {
        guard let number = try? String(contentsOfFile: folder + "/dev", encoding: .utf8) else { return nil }
        return BlockDevice(name: name, number: number.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The mount point and options of the device numbered `number` in a mountinfo table.
    public static func mount(of number: String, table: String) -> (mountPoint: String, readOnly: Bool)? {
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[2] == number else { continue }
            let options = fields[5].split(separator: ",")
            return (unescape(String(fields[4])), options.contains("ro"))
        }
        return nil
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (\040 …).
    static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "\\"), input.count >= 3, let value = UInt8(String(decoding: input.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                input = input.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The camera's mounted volume, mounting it read-only under `mountRoot` when the gateway
    /// runs as root and it is not mounted yet.
    public static func locate(serial: String, device: USBDevice, mountRoot: URL?) throws(VolumeError) -> MountedVolume {
        let sysfs = sysfsPath(of: device)
        var candidates = blockDevices(under: sysfs)
        // A disk is announced before the kernel has read its partition table: one that shows no
        // partition yet is looked at again for a moment before it is taken as it is (a disk
        // formatted without partitions).
        let settled = Date().addingTimeInterval(2)
        while !candidates.isEmpty && !hasPartition(candidates) && Date() < settled {
            usleep(50_000)
            candidates = blockDevices(under: sysfs)
        }
        guard !candidates.isEmpty else { throw VolumeError.noBlockDevice(serial: serial, sysfs: sysfs) }
        let table = (try? String(contentsOfFile: mountTablePath, encoding: .utf8)) ?? ""
        for candidate in candidates {
            if let found = mount(of: candidate.number, table: table) {
                return MountedVolume(device: candidate.node, mountPoint: found.mountPoint, readOnly: found.readOnly)
            }
        }
        let target = candidates[0]
        guard getuid() == 0, let mountRoot else {
            throw VolumeError.notMounted(serial: serial, device: target.node, reason: "fieldgate is not running as root, so it does not mount disks")
        }
        let point = mountRoot.appendingPathComponent(serial)
        do {
            try mountReadOnly(target.node, at: point)
        } catch {
            throw VolumeError.notMounted(serial: serial, device: target.node, reason: error.reason)
        }
        return MountedVolume(device: target.node, mountPoint: point.path, readOnly: true)
    }

    /// Whether a partition is among the devices: a name that extends another's (sdb1 of sdb).
    private static func hasPartition(_ devices: [BlockDevice]) -> Bool {
        devices.contains { device in devices.contains { $0.name != device.name && device.name.hasPrefix($0.name) } }
    }

    /// Why a mount failed, in mount's own words.
    public struct MountFailure: Error, Sendable { public var reason: String }

    /// Mounts a block device read-only (and nosuid, nodev, noexec) at `point`, as root: the
    /// gateway never writes to a camera's file system except to free files by policy.
    public static func mountReadOnly(_ node: String, at point: URL) throws(MountFailure) {
        try? FileManager.default.createDirectory(at: point, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-o", "ro,nosuid,nodev,noexec", node, point.path]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            throw MountFailure(reason: "cannot run mount: \(error.localizedDescription)")
        }
        guard process.terminationStatus == 0 else {
            let reason = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw MountFailure(reason: "mount failed: \(reason)")
        }
    }
}
