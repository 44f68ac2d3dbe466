import Foundation

/// What an export made.
public struct BundleSummary: Sendable, Codable, Equatable {
    public var bundleId: String
    public var destination: String
    public var items: Int
    public var bytes: Int64
    public var receipted: Int
    public var signedByGateway: Int
    public var exportedOnly: Int
    /// Items whose content the gateway no longer holds (freed after the server's receipt).
    public var withoutContent: Int
    public var tagManifestSha256: String
}
