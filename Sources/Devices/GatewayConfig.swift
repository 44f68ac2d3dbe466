import Foundation
import TOMLKit

/// When a recording may be deleted from its camera.
public enum FreePolicy: String, Sendable, Codable, CaseIterable {
    /// Never delete from the camera.
    case never
    /// Once the stored copy's hash is verified.
    case afterVerify = "after-verify"
    /// Once the central server has receipted it (the default: only a receipt means "retained online").
    case afterReceipt = "after-receipt"
}

/// The gateway's own settings, from a TOML file that must not be readable by others (it
/// holds camera passwords):
///
/// ```toml
/// free_policy = "after-receipt"
/// storage_timeout_seconds = 20
/// time_zone = "Asia/Shanghai"
/// [passwords.models]
/// "ZFY-X1" = "123456"
/// [passwords.serials]
/// "A123456" = "654321"
/// ```
public struct GatewayConfig: Sendable, Equatable {
    public var freePolicy: FreePolicy = .afterReceipt
    public var storageTimeoutSeconds: Double = 20
    public var modelPasswords: [String: String] = [:]
    public var serialPasswords: [String: String] = [:]
    /// The time zone cameras name their files in (their clocks show the unit's local time).
    public var timeZone: TimeZone = .current
    /// The file it came from, if any.
    public var path: String?

    public init() {}

    public static let environmentVariable = "FIELDGATE_CONFIG"

    /// The password for a camera: its serial's, else its model's, else the profile's factory password.
    public func password(serial: String, profile: DeviceProfile?) -> String? {
        serialPasswords[serial] ?? profile.flatMap { modelPasswords[$0.model] } ?? profile?.password
    }

    /// Loads `path` (FIELDGATE_CONFIG, else `<home>/config.toml`); a missing file means defaults.
    public static func load(path: String) throws(CatalogError) -> GatewayConfig {
        var config = GatewayConfig()
        var info = stat()
        guard stat(path, &info) == 0 else { return config }
        if info.st_mode & 0o077 != 0 {
            throw CatalogError(file: path, message: "holds camera passwords but is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))): run chmod 600 \(path)")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CatalogError(file: path, message: "cannot be read: \(error.localizedDescription)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch {
            throw CatalogError(file: path, message: "not valid TOML: \(error)")
        }
        config.path = path
        for key in table.keys {
            switch key {
            case "free_policy":
                guard let value = table[key]?.string, let policy = FreePolicy(rawValue: value) else {
                    throw CatalogError(file: path, key: key, message: "must be one of: never, after-verify, after-receipt")
                }
                config.freePolicy = policy
            case "storage_timeout_seconds":
                guard let value = table[key]?.int ?? table[key]?.double.map({ Int($0) }), value > 0, value <= 600 else {
                    throw CatalogError(file: path, key: key, message: "must be a number of seconds from 1 to 600")
                }
                config.storageTimeoutSeconds = Double(value)
            case "time_zone":
                guard let name = table[key]?.string, let zone = TimeZone(identifier: name) else {
                    throw CatalogError(file: path, key: key, message: "must be a time zone name such as \"Asia/Shanghai\"")
                }
                config.timeZone = zone
            case "passwords":
                guard let passwords = table[key]?.table else { throw CatalogError(file: path, key: key, message: "must be a table") }
                for group in passwords.keys {
                    guard group == "models" || group == "serials", let entries = passwords[group]?.table else {
                        throw CatalogError(file: path, key: "passwords.\(group)", message: "must be [passwords.models] or [passwords.serials]")
                    }
                    for name in entries.keys {
                        guard let password = entries[name]?.string else {
                            throw CatalogError(file: path, key: "passwords.\(group).\(name)", message: "must be a text value in quotes")
                        }
                        if group == "models" { config.modelPasswords[name] = password } else { config.serialPasswords[name] = password }
                    }
                }
            default:
                throw CatalogError(file: path, key: key, message: "unknown setting (known: free_policy, storage_timeout_seconds, time_zone, passwords)")
            }
        }
        return config
    }
}
