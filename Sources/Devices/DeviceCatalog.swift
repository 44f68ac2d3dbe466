import Common
import Foundation

/// What the catalog says about one device on the bus.
public struct CatalogMatch: Sendable, Equatable {
    public var kind: DeviceKind
    public var driver: DriverFamily
    public var mode: USBMode
    /// The matching profile; nil for a fallback match by USB class.
    public var profile: DeviceProfile?

    public var vendor: String? { profile?.vendor }
    public var model: String? { profile?.model }
}

/// All device profiles, loaded from folders in order; a later folder's profile takes over
/// the USB ids of an earlier one. Loading never stops at a bad file: errors are collected
/// so `fieldgate devices check` can name them all, and the good profiles still work.
public struct DeviceCatalog: Sendable {
    /// Every profile that loaded, in load order.
    public private(set) var profiles: [DeviceProfile] = []
    /// Every file or folder that could not be loaded.
    public private(set) var errors: [CatalogError] = []
    /// The folders read, in order.
    public private(set) var folders: [String] = []
    private var byId: [UInt32: (profile: Int, mode: USBMode)] = [:]

    /// USB interface class of printers (USB Printer Class 1.1).
    public static let printerInterfaceClass: UInt8 = 0x07

    public init() {}

    /// Loads `folders` in order. A folder that does not exist is an error, except the
    /// installed one, which callers only pass when present.
    public static func load(folders: [String]) -> DeviceCatalog {
        var catalog = DeviceCatalog()
        for folder in folders { catalog.add(folder: folder) }
        return catalog
    }

    /// Adds every `*.toml` under `folder` (sorted by path, so loading is deterministic).
    public mutating func add(folder: String) {
        folders.append(folder)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            errors.append(CatalogError(file: folder, message: "no such folder of device profiles"))
            return
        }
        var seenInFolder: [UInt32: String] = [:]
        for path in Self.profileFiles(in: folder) {
            let profile: DeviceProfile
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                guard let text = String(data: data, encoding: .utf8) else {
                    errors.append(CatalogError(file: path, message: "not UTF-8 text"))
                    continue
                }
                profile = try ProfileParser.parse(text, path: path)
            } catch let error as CatalogError {
                errors.append(error)
                continue
            } catch {
                errors.append(CatalogError(file: path, message: "cannot be read: \(error.localizedDescription)"))
                continue
            }
            // Two files in one folder claiming the same ids is a mistake; across folders it is an override.
            if let clash = profile.usb.first(where: { seenInFolder[Self.key($0.vendorId, $0.productId)] != nil }) {
                let other = seenInFolder[Self.key(clash.vendorId, clash.productId)]!
                errors.append(CatalogError(file: path, key: "usb",
                                           message: "\(USBIdFormat.pair(clash.vendorId, clash.productId)) is also claimed by \(other) in the same folder"))
                continue
            }
            for identity in profile.usb { seenInFolder[Self.key(identity.vendorId, identity.productId)] = path }
            add(profile)
        }
    }

    /// Adds one profile; it takes over any ids an earlier profile claimed.
    public mutating func add(_ profile: DeviceProfile) {
        profiles.append(profile)
        for identity in profile.usb {
            byId[Self.key(identity.vendorId, identity.productId)] = (profiles.count - 1, identity.mode)
        }
    }

    /// Profiles that still own at least one of their ids (or have none to own), i.e. not
    /// wholly overridden by a later folder.
    public var effectiveProfiles: [DeviceProfile] {
        profiles.enumerated().filter { index, profile in
            profile.usb.isEmpty || profile.usb.contains { byId[Self.key($0.vendorId, $0.productId)]?.profile == index }
        }.map(\.element)
    }

    /// The later profile that took `profile`'s ids over, if any.
    public func overridingProfile(of profile: DeviceProfile) -> DeviceProfile? {
        guard let index = profiles.firstIndex(of: profile), let first = profile.usb.first,
              let owner = byId[Self.key(first.vendorId, first.productId)], owner.profile != index else { return nil }
        return profiles[owner.profile]
    }

    /// Matches a device by ids, else by class (an uncatalogued printer-class device is a
    /// generic printer); nil means the device is not one the gateway knows.
    public func match(vendorId: UInt16, productId: UInt16, deviceClass: UInt8 = 0, interfaceClasses: [UInt8] = []) -> CatalogMatch? {
        if let entry = byId[Self.key(vendorId, productId)] {
            let profile = profiles[entry.profile]
            return CatalogMatch(kind: profile.kind, driver: profile.driver, mode: entry.mode, profile: profile)
        }
        if deviceClass == Self.printerInterfaceClass || interfaceClasses.contains(Self.printerInterfaceClass) {
            return CatalogMatch(kind: .printer, driver: .escposUSB, mode: .printer, profile: nil)
        }
        return nil
    }

    private static func key(_ vendorId: UInt16, _ productId: UInt16) -> UInt32 {
        UInt32(vendorId) << 16 | UInt32(productId)
    }

    private static func profileFiles(in folder: String) -> [String] {
        let root = URL(fileURLWithPath: folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var files: [String] = []
        for case let url as URL in walker where url.pathExtension == "toml" {
            files.append(url.path)
        }
        return files.sorted()
    }
}

/// USB ids as the catalog and `scan --json` print them: four lower-case hex digits.
public enum USBIdFormat {
    public static func id(_ value: UInt16) -> String { Hex.word(value) }

    public static func pair(_ vendorId: UInt16, _ productId: UInt16) -> String { id(vendorId) + ":" + id(productId) }
}
