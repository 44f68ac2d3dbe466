import Common
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
/// max_parallel_bays = 8             # the station: cameras collected at once
/// limit_rate = "10M"                # the station's background sync: bytes per second
/// upload_windows = ["18:00-08:00"]  # …and when it may upload (local time; none: always)
/// keep_free = "15%"                 # the station removes receipted local copies below this
/// keep_important_days = 30          # …but never an important one younger than this
/// silent_camera_days = 3            # registered cameras not docked for longer are listed
/// unit = "城管执法一中队"            # the unit its items count for on the centre's reports
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
    /// The station collects at most this many cameras at once.
    public var maxParallelBays = 8
    /// The station's background sync sends at most this many bytes per second.
    public var limitRate: Int64?
    /// When the station's background sync may upload (none: at any time).
    public var uploadWindows: [UploadWindow] = []
    /// Free space the station keeps on the store's disk by removing receipted local copies (none: never removes).
    public var keepFree: SpaceReserve?
    /// An important recording's local copy is kept at least this many days, receipted or not.
    public var keepImportantDays = 30
    /// The station lists registered cameras not docked for longer than this many days.
    public var silentCameraDays = 3
    /// The unit (执法单位) the gateway's items count for in the centre's reports, unless the
    /// recording's officer belongs to another in the roster.
    public var unit: String?
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
            case "max_parallel_bays", "limit_rate", "upload_windows", "keep_free", "keep_important_days", "silent_camera_days":
                try config.readStationSetting(key, table[key], file: path)
            case "unit":
                guard let unit = table[key]?.string?.trimmingCharacters(in: .whitespaces), !unit.isEmpty, unit.count <= 64,
                      !unit.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw CatalogError(file: path, key: key, message: "must be the unit's name, 1 to 64 characters without control characters")
                }
                config.unit = unit
            case "passwords":
                try config.readPasswords(table[key], file: path)
            default:
                throw CatalogError(file: path, key: key, message: "unknown setting (known: free_policy, storage_timeout_seconds, time_zone, max_parallel_bays, limit_rate, upload_windows, keep_free, keep_important_days, silent_camera_days, unit, passwords)")
            }
        }
        return config
    }

    /// The docking station's settings.
    private mutating func readStationSetting(_ key: String, _ value: (any TOMLValueConvertible)?, file path: String) throws(CatalogError) {
        func fail(_ message: String) -> CatalogError { CatalogError(file: path, key: key, message: message) }
        switch key {
        case "max_parallel_bays":
            guard let bays = value?.int, (1...64).contains(bays) else { throw fail("must be a whole number of cameras from 1 to 64") }
            maxParallelBays = bays
        case "limit_rate":
            guard let text = value?.string, let rate = ByteCount.parse(text) else {
                throw fail("must be bytes per second in quotes, e.g. \"10M\" or \"512k\"")
            }
            limitRate = rate
        case "upload_windows":
            guard let array = value?.array else { throw fail("must be a list such as [\"18:00-08:00\"]") }
            uploadWindows = try array.map { element throws(CatalogError) in
                guard let text = element.string, let window = UploadWindow(text) else {
                    throw fail("\(element) is not a time range such as \"18:00-08:00\"")
                }
                return window
            }
        case "keep_free":
            guard let text = value?.string, let reserve = SpaceReserve(text) else {
                throw fail("must be a share or a size in quotes, e.g. \"15%\" or \"200G\"")
            }
            keepFree = reserve
        case "keep_important_days":
            guard let days = value?.int, (0...3650).contains(days) else { throw fail("must be a whole number of days from 0 to 3650") }
            keepImportantDays = days
        case "silent_camera_days":
            guard let days = value?.int, (1...365).contains(days) else { throw fail("must be a whole number of days from 1 to 365") }
            silentCameraDays = days
        default:
            break
        }
    }

    /// `[passwords.models]` and `[passwords.serials]`.
    private mutating func readPasswords(_ value: (any TOMLValueConvertible)?, file path: String) throws(CatalogError) {
        guard let passwords = value?.table else { throw CatalogError(file: path, key: "passwords", message: "must be a table") }
        for group in passwords.keys {
            guard group == "models" || group == "serials", let entries = passwords[group]?.table else {
                throw CatalogError(file: path, key: "passwords.\(group)", message: "must be [passwords.models] or [passwords.serials]")
            }
            for name in entries.keys {
                guard let password = entries[name]?.string else {
                    throw CatalogError(file: path, key: "passwords.\(group).\(name)", message: "must be a text value in quotes")
                }
                if group == "models" { modelPasswords[name] = password } else { serialPasswords[name] = password }
            }
        }
    }
}

/// A daily span of local time, e.g. `18:00-08:00` (it may run past midnight).
public struct UploadWindow: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after local midnight.
    public var start: Int
    public var end: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Self.minutes(parts[0]), let end = Self.minutes(parts[1]), start != end else { return nil }
        self.start = start
        self.end = end
    }

    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60 else { return nil }
        return hours * 60 + minutes
    }

    /// Whether `date`, in `timeZone`, falls in the window (its start included, its end not).
    public func contains(_ date: Date, in timeZone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        return start < end ? (minute >= start && minute < end) : (minute >= start || minute < end)
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60)
    }
}

extension Array where Element == UploadWindow {
    /// True when there are no windows (upload at any time) or `date` is in one of them.
    public func allows(_ date: Date, in timeZone: TimeZone) -> Bool {
        isEmpty || contains { $0.contains(date, in: timeZone) }
    }
}

/// Free space to keep on a disk: a share of it (`"15%"`) or a size (`"200G"`).
public enum SpaceReserve: Sendable, Equatable, CustomStringConvertible {
    case share(Double)
    case bytes(Int64)

    public init?(_ text: String) {
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent > 0, percent < 100 else { return nil }
            self = .share(percent / 100)
        } else {
            guard let bytes = ByteCount.parse(text) else { return nil }
            self = .bytes(bytes)
        }
    }

    /// The bytes to keep free on a disk of `total` bytes.
    public func bytes(ofDisk total: Int64) -> Int64 {
        switch self {
        case .share(let share): Int64(Double(total) * share)
        case .bytes(let bytes): bytes
        }
    }

    public var description: String {
        switch self {
        case .share(let share): "\(Int((share * 100).rounded()))%"
        case .bytes(let bytes): "\(bytes) bytes"
        }
    }
}
