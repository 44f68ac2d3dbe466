import Foundation

/// What one gateway may have open at once, and how long the server keeps what it left behind.
/// The defaults fit a 25-bay station syncing with a few uploads in flight per gateway process.
public struct UploadQuotas: Sendable, Equatable {
    /// Uploads a gateway may have receiving at once (abandoned ones count until they expire).
    public var uploadsInFlight: Int
    /// The declared lengths of those uploads together, in bytes.
    public var bytesInFlight: Int64
    /// Items one manifest may carry; the gateway's `--batch-size` stays within it.
    public var itemsPerManifest: Int
    /// The bytes of one item's metadata (its keys and values together).
    public var metadataBytesPerItem: Int
    /// An upload nobody wrote to for this long is deleted with its part file.
    public var abandonedUploadExpiry: TimeInterval
    /// A completed upload's row is kept this long (a gateway resuming after a crash asks HEAD), then pruned.
    public var completedUploadRetention: TimeInterval

    public static let defaultUploadsInFlight = 64
    public static let defaultBytesInFlight: Int64 = 2 << 40
    public static let defaultItemsPerManifest = 10_000
    public static let defaultMetadataBytesPerItem = 16 << 10
    public static let defaultAbandonedUploadExpiry: TimeInterval = 7 * 86_400
    public static let defaultCompletedUploadRetention: TimeInterval = 86_400

    public init(uploadsInFlight: Int = defaultUploadsInFlight, bytesInFlight: Int64 = defaultBytesInFlight,
                itemsPerManifest: Int = defaultItemsPerManifest, metadataBytesPerItem: Int = defaultMetadataBytesPerItem,
                abandonedUploadExpiry: TimeInterval = defaultAbandonedUploadExpiry,
                completedUploadRetention: TimeInterval = defaultCompletedUploadRetention) {
        self.uploadsInFlight = uploadsInFlight
        self.bytesInFlight = bytesInFlight
        self.itemsPerManifest = itemsPerManifest
        self.metadataBytesPerItem = metadataBytesPerItem
        self.abandonedUploadExpiry = abandonedUploadExpiry
        self.completedUploadRetention = completedUploadRetention
    }
}

/// What a sweep removed.
public struct SweepSummary: Sendable, Equatable {
    /// Abandoned uploads deleted, with their part files.
    public var expiredUploads: Int
    /// Completed uploads' rows pruned.
    public var prunedUploads: Int
    /// Part files without an upload row (left by a crash of an older server) removed.
    public var orphanedParts: Int

    public init(expiredUploads: Int, prunedUploads: Int, orphanedParts: Int = 0) {
        self.expiredUploads = expiredUploads
        self.prunedUploads = prunedUploads
        self.orphanedParts = orphanedParts
    }
}
