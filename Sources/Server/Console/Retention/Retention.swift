import Foundation

/// How long evidence is kept and what keeps it for good. An item expires only when every one
/// of these holds: a reviewer gave it a category, its category's period (or the default, at
/// least six months) has passed since the server receipted it, it belongs to no case (neither
/// bound on the console nor sent with one by its gateway), it is not marked important, and it
/// is under no legal hold. Uncategorised items are kept.
public enum RetentionPolicy {
    /// The period of a category that names none: six months and a few days.
    public static let defaultDays = 183
    /// How long an expired item waits, restorable, before its bytes are deleted.
    public static let recycleDays = 7
    /// The console's page of deletions due looks this far ahead.
    public static let dueWindowDays = 30
}

/// Where an item stands in retention.
enum RetentionState: String, Sendable {
    /// Expired and waiting, restorable, until `purgeAfter`.
    case recycled
    /// Its bytes are gone (when no other item holds them); its record and custody stay.
    case deleted
}

/// What retention needs to know of a categorised (or already recycled) item.
struct RetentionCandidate: Sendable, Equatable {
    var batchId: String
    var position: Int
    var sha256: String
    var committedAt: Date
    var category: String?
    var retentionDays: Int?
    var metadataCase: String?
    var reviewedCase: String?
    var important: Bool
    var held: Bool
    var state: RetentionState?
    var purgeAfter: Date?
    /// The last link of the gateway's chain, which the item's first server event names.
    var gatewayChainHash: String

    var item: ShareRecord.Item { ShareRecord.Item(batchId: batchId, position: position) }

    /// Why the item is kept for good, or nil.
    var permanentBecause: String? {
        if reviewedCase != nil || metadataCase != nil { return "bound to a case" }
        if important { return "marked important" }
        if held { return "under legal hold" }
        return nil
    }

    func expiresAt() -> Date? {
        guard category != nil, permanentBecause == nil else { return nil }
        return committedAt.addingTimeInterval(TimeInterval(retentionDays ?? RetentionPolicy.defaultDays) * 86400)
    }
}

/// What a run did, or (a dry run) would do.
public struct RetentionReport: Sendable, Codable, Equatable {
    public struct Entry: Sendable, Codable, Equatable {
        public var item: String
        public var sha256: String
        public var detail: String
    }

    public var applied: Bool
    /// Expired items moved to the recycle state (restorable for ``RetentionPolicy/recycleDays``).
    public var recycled: [Entry] = []
    /// Recycled items whose wait is over: deleted (their bytes too, when no other item holds them).
    public var deleted: [Entry] = []
    /// Recycled items that became permanent meanwhile (a case, a hold, an important mark): restored.
    public var restored: [Entry] = []
    /// Bytes removed from the blob store (a blob shared with a live item stays).
    public var blobsRemoved: Int = 0
}

public enum RetentionError: Error, CustomStringConvertible, Equatable {
    case unknownItem(String)
    case notRecycled(String)

    public var description: String {
        switch self {
        case .unknownItem(let item): "no committed item \(item) (give BATCH/POSITION as the console's item page names it)"
        case .notRecycled(let item): "item \(item) is not in the recycle state: nothing to restore"
        }
    }
}

/// One step of retention for one item.
enum RetentionStep: Sendable, Equatable {
    case recycle(purgeAfter: Date)
    case restore(reason: String)
    case delete

    var custodyKind: ServerCustodyKind {
        switch self {
        case .recycle: .recycled
        case .restore: .restored
        case .delete: .purged
        }
    }

    var details: [String: String] {
        switch self {
        case .recycle(let purgeAfter): ["purgeAfter": purgeAfter.formatted(AccessEvent.timeFormat)]
        case .restore(let reason): ["reason": reason]
        case .delete: [:]
        }
    }
}

enum RetentionConflict: Error {
    /// The item's state changed since it was read (another run, a restore): the step was not taken.
    case stateChanged
}
