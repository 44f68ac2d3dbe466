/// A profile that cannot be used, named by file and key so it can be fixed.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    /// The offending key, e.g. "usb[1].product_id"; nil when the whole file is at fault.
    public let key: String?
    public let message: String

    public init(file: String, key: String? = nil, message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(file): \(key): \(message)" }
        return "\(file): \(message)"
    }
}
