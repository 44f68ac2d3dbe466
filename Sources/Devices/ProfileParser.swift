import Foundation
import TOMLKit

/// Reads one profile file strictly: every missing, mistyped or unknown key is an error that
/// names the file and the key, so a typo cannot silently drop a model from the catalog.
enum ProfileParser {
    static let commonKeys: Set<String> = ["kind", "vendor", "model", "driver", "example", "description", "usb"]
    static let usbKeys: Set<String> = ["vendor_id", "product_id", "mode"]

    static func parse(_ text: String, path: String) throws(CatalogError) -> DeviceProfile {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw CatalogError(file: path, message: "not valid TOML (\(error.source.begin.debugDescription)): \(error.description)")
        } catch {
            throw CatalogError(file: path, message: "not valid TOML: \(error)")
        }
        let kind: DeviceKind = try enumValue(table, "kind", path: path)
        let driver: DriverFamily = try enumValue(table, "driver", path: path)
        let allowed = commonKeys.union(driver.extraKeys)
        if let unknown = table.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw CatalogError(file: path, key: unknown,
                               message: "unknown key for driver \(driver.rawValue) (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }

        var identities: [USBIdentity] = []
        if let value = table["usb"] {
            guard let array = value.array else {
                throw CatalogError(file: path, key: "usb", message: "must be an array of tables: write [[usb]]")
            }
            for (index, element) in array.enumerated() {
                let key = "usb[\(index + 1)]"
                guard let usb = element.table else { throw CatalogError(file: path, key: key, message: "must be a table") }
                if let unknown = usb.keys.sorted().first(where: { !usbKeys.contains($0) }) {
                    throw CatalogError(file: path, key: "\(key).\(unknown)", message: "unknown key (allowed: mode, product_id, vendor_id)")
                }
                identities.append(USBIdentity(
                    vendorId: try usbId(usb, "vendor_id", prefix: key, path: path),
                    productId: try usbId(usb, "product_id", prefix: key, path: path),
                    mode: try enumValue(usb, "mode", prefix: key, path: path)))
            }
        }
        if identities.isEmpty && driver.needsUSBIds {
            throw CatalogError(file: path, key: "usb", message: "driver \(driver.rawValue) needs at least one [[usb]] table with vendor_id, product_id and mode")
        }
        var seen: Set<USBIdentity> = []
        for (index, identity) in identities.enumerated() where !seen.insert(identity).inserted {
            throw CatalogError(file: path, key: "usb[\(index + 1)]", message: "repeats an earlier [[usb]] table")
        }

        let password: String? = try optionalString(table, "password", path: path)
        if let password, password.isEmpty || password.utf8.count > 16 || !password.allSatisfy(\.isASCII) {
            throw CatalogError(file: path, key: "password", message: "must be 1 to 16 ASCII characters")
        }
        var paperWidth: Int?
        if let value = table["paper_width_mm"] {
            guard let width = value.int, width == 58 || width == 80 else {
                throw CatalogError(file: path, key: "paper_width_mm", message: "must be 58 or 80")
            }
            paperWidth = width
        }
        let codepage: String? = try optionalString(table, "codepage", path: path)
        if let codepage, codepage != "gb18030" {
            throw CatalogError(file: path, key: "codepage", message: "must be \"gb18030\"")
        }
        var example = false
        if let value = table["example"] {
            guard let flag = value.bool else { throw CatalogError(file: path, key: "example", message: "must be true or false") }
            example = flag
        }
        return DeviceProfile(
            kind: kind, vendor: try requiredString(table, "vendor", path: path),
            model: try requiredString(table, "model", path: path), driver: driver, example: example,
            description: try optionalString(table, "description", path: path), usb: identities,
            password: password, paperWidthMillimetres: paperWidth, codepage: codepage, path: path)
    }

    private static func fullKey(_ prefix: String?, _ key: String) -> String {
        prefix.map { "\($0).\(key)" } ?? key
    }

    private static func requiredString(_ table: TOMLTable, _ key: String, path: String) throws(CatalogError) -> String {
        guard let string = try optionalString(table, key, path: path) else {
            throw CatalogError(file: path, key: key, message: "missing (a text value is required)")
        }
        guard !string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw CatalogError(file: path, key: key, message: "must not be empty") }
        return string
    }

    private static func optionalString(_ table: TOMLTable, _ key: String, path: String) throws(CatalogError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw CatalogError(file: path, key: key, message: "must be a text value in quotes") }
        return string
    }

    private static func enumValue<Value: RawRepresentable & CaseIterable>(
        _ table: TOMLTable, _ key: String, prefix: String? = nil, path: String
    ) throws(CatalogError) -> Value where Value.RawValue == String {
        let name = fullKey(prefix, key)
        let choices = Value.allCases.map(\.rawValue).joined(separator: ", ")
        guard let value = table[key] else { throw CatalogError(file: path, key: name, message: "missing (one of: \(choices))") }
        guard let string = value.string, let parsed = Value(rawValue: string) else {
            throw CatalogError(file: path, key: name, message: "\(value.debugDescription) is not one of: \(choices)")
        }
        return parsed
    }

    /// Accepts a TOML integer (write it in hex: 0x04b8) or a string of 4 hex digits.
    private static func usbId(_ table: TOMLTable, _ key: String, prefix: String, path: String) throws(CatalogError) -> UInt16 {
        let name = fullKey(prefix, key)
        guard let value = table[key] else { throw CatalogError(file: path, key: name, message: "missing (e.g. \(key) = 0x04b8)") }
        if let int = value.int, let id = UInt16(exactly: int) { return id }
        if let string = value.string, string.count == 4, let id = UInt16(string, radix: 16) { return id }
        throw CatalogError(file: path, key: name, message: "\(value.debugDescription) is not a 16-bit USB id (e.g. \(key) = 0x04b8)")
    }
}
