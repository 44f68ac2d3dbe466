import Evidence
import Foundation
import SyncProtocol

/// A gateway as the server knows it: invited (token issued), active (enrolled) or revoked.
public struct GatewayRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case invited, active, revoked
    }

    public var id: String
    public var name: String
    public var state: State
    /// Ed25519 public key, raw 32 bytes in base64; set by enrolment.
    public var publicKey: String?
    /// Lower-case hex SHA-256 of the credential's secret part; set by enrolment.
    public var secretHash: String?
    public var createdAt: Date
    public var enrolledAt: Date?
    public var lastSeenAt: Date?
    public var revokedAt: Date?
}

/// A batch as stored: the manifest's identity, the exact signed envelope, and its state.
struct BatchRecord: Sendable, Equatable {
    enum State: String, Sendable {
        case open, committed
    }

    var id: String
    var gatewayId: String
    var batchKey: String
    var state: State
    /// The signed envelope as the gateway sent it, JSON; the payload keeps its original bytes,
    /// so the gateway's signature can be re-checked later.
    var envelope: String
    var createdAt: String
    var receivedAt: Date
    var committedAt: Date?
    /// The signed receipt, JSON; set by the commit.
    var receipt: String?
}

/// One item of a stored batch, in manifest order.
struct BatchItemRecord: Sendable, Equatable {
    var position: Int
    var sha256: String
    var size: Int64
    var kind: String
    var metadata: [String: String]
    var custody: [CustodyEvent]
    var withdrawn: Bool
}

/// A tus upload: where its bytes stand, for one gateway.
struct UploadRecord: Sendable, Equatable {
    enum State: String, Sendable {
        case receiving, complete
    }

    var id: String
    var gatewayId: String
    var length: Int64
    var offset: Int64
    /// The `Upload-Metadata` header as received, returned by HEAD.
    var metadata: String
    var sha256: String
    var state: State
}

/// A committed item a bundle may take, with the batch that holds it.
struct ExportableItem: Sendable, Equatable {
    var batchId: String
    var item: BatchItemRecord
}

/// An evidence bundle the server exported: what, where, and the hash of its signed tag manifest.
public struct BundleExportRecord: Codable, Sendable, Equatable {
    public var id: String
    public var selection: String
    public var destination: String
    public var items: Int
    public var bytes: Int64
    public var tagManifestSha256: String
    public var exportedAt: Date
}

/// A bundle carried by hand and taken in (`import-bundle`), even when nothing in it was new.
public struct BundleImportRecord: Codable, Sendable, Equatable {
    public var bundleId: String
    public var gatewayId: String
    /// The batch that receipts what was taken in; nil when nothing was new.
    public var batchId: String?
    public var source: String
    public var tagManifestSha256: String
    public var imported: Int
    public var newBlobs: Int
    public var alreadyReceipted: Int
    public var importedAt: Date
}

/// A time-stamping authority's reply over a batch's receipt (RFC 3161 TimeStampResp, DER).
struct ReceiptTimestampRecord: Sendable, Equatable {
    var batchId: String
    var reply: Data
    /// The time the authority signed (its genTime).
    var stampedAt: Date
    var receivedAt: Date
}
