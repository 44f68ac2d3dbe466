import Foundation

/// One value of a record being moved, typed as both databases keep it.
enum MigratedValue: Sendable, Equatable {
    case text(String?)
    case integer(Int64?)
    case real(Double?)
    case boolean(Bool?)
    case date(Date?)
    case bytes(Data?)
    /// Text that PostgreSQL keeps as `jsonb` (items' metadata).
    case json(String)
}

/// A table of the server's records as `migrate` moves it: its name and columns in the
/// embedded (SQLite, camelCase) schema and in PostgreSQL's (snake_case), and what makes a row
/// the same row, so that moving it twice stores it once.
struct MigratedTable: Sendable {
    enum Kind: Sendable { case text, integer, real, boolean, date, bytes, json }

    struct Column: Sendable {
        let postgres: String
        let sqlite: String
        let kind: Kind
    }

    let postgres: String
    let sqlite: String
    let columns: [Column]
    /// The PostgreSQL key that a row already moved collides on.
    let conflictKey: String

    init(_ postgres: String, sqlite: String, key: String, _ columns: [(String, String, Kind)]) {
        self.postgres = postgres
        self.sqlite = sqlite
        conflictKey = key
        self.columns = columns.map { Column(postgres: $0.0, sqlite: $0.1, kind: $0.2) }
    }

    static let gateway = MigratedTable("gateway", sqlite: "gateway", key: "id", [
        ("id", "id", .text), ("name", "name", .text), ("state", "state", .text), ("token_hash", "tokenHash", .text),
        ("token_used_at", "tokenUsedAt", .date), ("public_key", "publicKey", .text), ("secret_hash", "secretHash", .text),
        ("created_at", "createdAt", .date), ("enrolled_at", "enrolledAt", .date), ("last_seen_at", "lastSeenAt", .date),
        ("revoked_at", "revokedAt", .date),
    ])
    static let batch = MigratedTable("batch", sqlite: "batch", key: "id", [
        ("id", "id", .text), ("gateway_id", "gatewayId", .text), ("batch_key", "batchKey", .text), ("state", "state", .text),
        ("envelope", "envelope", .text), ("created_at", "createdAt", .text), ("received_at", "receivedAt", .date),
        ("committed_at", "committedAt", .date), ("receipt", "receipt", .text),
    ])
    static let batchItem = MigratedTable("batch_item", sqlite: "batchItem", key: "batch_id, position", [
        ("batch_id", "batchId", .text), ("position", "position", .integer), ("sha256", "sha256", .text), ("size", "size", .integer),
        ("kind", "kind", .text), ("metadata", "metadata", .json), ("custody", "custody", .text), ("withdrawn", "withdrawn", .boolean),
    ])
    static let blob = MigratedTable("blob", sqlite: "blob", key: "sha256", [
        ("sha256", "sha256", .text), ("size", "size", .integer), ("verified_at", "verifiedAt", .date),
    ])
    static let possession = MigratedTable("possession", sqlite: "possession", key: "gateway_id, sha256", [
        ("gateway_id", "gatewayId", .text), ("sha256", "sha256", .text), ("proven_at", "provenAt", .date),
    ])
    static let receiptTimestamp = MigratedTable("receipt_timestamp", sqlite: "receiptTimestamp", key: "batch_id", [
        ("batch_id", "batchId", .text), ("reply", "reply", .bytes), ("stamped_at", "stampedAt", .date), ("received_at", "receivedAt", .date),
    ])
    static let bundleExport = MigratedTable("bundle_export", sqlite: "bundleExport", key: "id", [
        ("id", "id", .text), ("selection", "selection", .text), ("destination", "destination", .text), ("items", "items", .integer),
        ("bytes", "bytes", .integer), ("tag_manifest_sha256", "tagManifestSha256", .text), ("exported_at", "exportedAt", .date),
    ])
    // Its id is a sequence in both; kept as it was, so a second run collides on it.
    static let bundleImport = MigratedTable("bundle_import", sqlite: "bundleImport", key: "id", [
        ("id", "id", .integer), ("bundle_id", "bundleId", .text), ("gateway_id", "gatewayId", .text), ("batch_id", "batchId", .text),
        ("source", "source", .text), ("tag_manifest_sha256", "tagManifestSha256", .text), ("imported", "imported", .integer),
        ("new_blobs", "newBlobs", .integer), ("already_receipted", "alreadyReceipted", .integer), ("imported_at", "importedAt", .date),
    ])

    // A person already on the target under the same name is kept as they are there. Sessions
    // are not moved: people sign in again.
    static let consoleUser = MigratedTable("console_user", sqlite: "consoleUser", key: "name", [
        ("id", "id", .text), ("name", "name", .text), ("role", "role", .text), ("password_hash", "passwordHash", .text),
        ("created_at", "createdAt", .date), ("password_changed_at", "passwordChangedAt", .date), ("disabled_at", "disabledAt", .date),
    ])

    // The chain moves entry for entry (seq, text and hashes as written), so it verifies there.
    static let accessEvent = MigratedTable("access_event", sqlite: "accessEvent", key: "seq", [
        ("seq", "seq", .integer), ("at", "at", .text), ("actor", "actor", .text), ("address", "address", .text), ("action", "action", .text),
        ("subject", "subject", .text), ("detail", "detail", .text), ("previous_hash", "previousHash", .text), ("hash", "hash", .text),
    ])

    // The seeded list is on both sides; a category the bureau added moves, one there stays.
    static let category = MigratedTable("category", sqlite: "category", key: "code", [
        ("code", "code", .text), ("zh", "zh", .text), ("en", "en", .text), ("retention_days", "retentionDays", .integer), ("position", "position", .integer),
    ])
    static let itemReview = MigratedTable("item_review", sqlite: "itemReview", key: "batch_id, position", [
        ("batch_id", "batchId", .text), ("position", "position", .integer), ("category", "category", .text), ("case_number", "caseNumber", .text),
        ("reviewed_at", "reviewedAt", .date), ("reviewed_by", "reviewedBy", .text), ("withheld", "withheld", .boolean),
        ("held", "held", .boolean),
    ])
    static let itemRetention = MigratedTable("item_retention", sqlite: "itemRetention", key: "batch_id, position", [
        ("batch_id", "batchId", .text), ("position", "position", .integer), ("state", "state", .text), ("recycled_at", "recycledAt", .date),
        ("purge_after", "purgeAfter", .date), ("deleted_at", "deletedAt", .date),
    ])
    static let share = MigratedTable("share", sqlite: "share", key: "id", [
        ("id", "id", .text), ("token_hash", "tokenHash", .text), ("recipient", "recipient", .text), ("purpose", "purpose", .text),
        ("created_by", "createdBy", .text), ("created_at", "createdAt", .date), ("expires_at", "expiresAt", .date),
        ("allow_download", "allowDownload", .boolean), ("revoked_at", "revokedAt", .date),
    ])
    static let shareItem = MigratedTable("share_item", sqlite: "shareItem", key: "share_id, ordinal", [
        ("share_id", "shareId", .text), ("ordinal", "ordinal", .integer), ("batch_id", "batchId", .text), ("position", "position", .integer),
    ])
    static let itemEvent = MigratedTable("item_event", sqlite: "itemEvent", key: "batch_id, position, seq", [
        ("batch_id", "batchId", .text), ("position", "position", .integer), ("seq", "seq", .integer), ("at", "at", .text), ("actor", "actor", .text),
        ("kind", "kind", .text), ("details", "details", .text), ("previous_hash", "previousHash", .text), ("hash", "hash", .text),
    ])

    // The reports' counts move as they were counted (a second run collides and adds nothing).
    static let reportTally = MigratedTable("report_tally", sqlite: "reportTally", key: "month, unit, kind, document_type", [
        ("month", "month", .text), ("unit", "unit", .text), ("kind", "kind", .text), ("document_type", "documentType", .text),
        ("items", "items", .integer), ("seconds", "seconds", .real), ("flagged", "flagged", .integer), ("late", "late", .integer),
    ])
    static let cameraSighting = MigratedTable("camera_sighting", sqlite: "cameraSighting", key: "serial", [
        ("serial", "serial", .text), ("unit", "unit", .text), ("gateway_id", "gatewayId", .text), ("last_recorded_at", "lastRecordedAt", .text),
        ("last_receipted_at", "lastReceiptedAt", .date),
    ])
    static let lateItem = MigratedTable("late_item", sqlite: "lateItem", key: "batch_id, position", [
        ("batch_id", "batchId", .text), ("position", "position", .integer), ("month", "month", .text), ("unit", "unit", .text),
        ("kind", "kind", .text), ("officer", "officer", .text), ("camera", "camera", .text), ("recorded_at", "recordedAt", .text),
    ])
    static let gatewayBacklog = MigratedTable("gateway_backlog", sqlite: "gatewayBacklog", key: "gateway_id", [
        ("gateway_id", "gatewayId", .text), ("unit", "unit", .text), ("reported_at", "reportedAt", .text), ("items", "items", .integer),
        ("bytes", "bytes", .integer), ("oldest_recorded_at", "oldestRecordedAt", .text), ("by_month", "byMonth", .text),
        ("received_at", "receivedAt", .date),
    ])

    /// Every table but `blob` (moved with its bytes), parents before children.
    static let records: [MigratedTable] = [.gateway, .consoleUser, .accessEvent, .category, .batch, .batchItem, .itemReview, .itemEvent, .itemRetention, .share, .shareItem, .possession, .receiptTimestamp, .bundleExport, .bundleImport, .reportTally, .cameraSighting, .lateItem, .gatewayBacklog]
}
