import Common
import Crypto
import Evidence
import Foundation
import GRDB

/// The central server this gateway is enrolled with, and the gateway's own signing key.
public struct SyncEnrolment: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public static let databaseTableName = "syncEnrolment"
    public var id: Int64 = 1
    public var serverURL: String
    public var gatewayId: String
    public var gatewayName: String
    /// `Authorization: Bearer` credential.
    public var credential: String
    /// The pinned server key (raw Ed25519, base64): receipts must verify against it.
    public var serverPublicKey: String
    /// The gateway's Ed25519 private key (raw): it signs every manifest.
    public var gatewayPrivateKey: Data
    /// The certificate authority (PEM) that signs an https server's certificate, when it is the
    /// bureau's own rather than one the system trusts.
    public var caCertificatePEM: String?
    public var enrolledAt: Date

    public init(serverURL: String, gatewayId: String, gatewayName: String, credential: String, serverPublicKey: String,
                gatewayPrivateKey: Data, caCertificatePEM: String? = nil, enrolledAt: Date) {
        self.serverURL = serverURL
        self.gatewayId = gatewayId
        self.gatewayName = gatewayName
        self.credential = credential
        self.serverPublicKey = serverPublicKey
        self.gatewayPrivateKey = gatewayPrivateKey
        self.caCertificatePEM = caCertificatePEM
        self.enrolledAt = enrolledAt
    }
}

/// A batch of items on its way to the server. `prepared`: kept, manifest not yet answered;
/// `open`: the server knows it; `committed`: receipted.
public struct SyncBatch: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, StoredDates {
    public static let databaseTableName = "syncBatch"
    public var id: Int64?
    public var batchKey: String
    public var serverBatchId: String?
    public var state: BatchState
    public var createdAt: Date
    public var committedAt: Date?
    /// The receipt exactly as signed, and its signature, so it can be verified again later.
    public var receiptPayload: Data?
    public var receiptSignature: String?
    public var serverTime: String?
    /// The manifest exactly as first signed and sent, and its signature (base64): a manifest
    /// sent again is these bytes, so the receipt's manifest hash names what the gateway holds.
    /// Nil for batches prepared before v6.
    public var manifestPayload: Data?
    public var manifestSignature: String?
    /// The RFC 3161 reply (TimeStampResp, DER) over the receipt payload, when the server's
    /// authority granted one (v8); when it says it stamped; the CA certificates (PEM) that verify it.
    public var timestampReply: Data?
    public var timestampedAt: String?
    public var timestampAuthority: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Where a batch is: kept before its manifest is sent, open on the server, committed with a receipt.
public enum BatchState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case prepared, open, committed
}

/// A tus upload in progress: where it is and what the server acknowledged.
public struct SyncUpload: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public static let databaseTableName = "syncUpload"
    public var sha256: String
    public var url: String
    public var offset: Int64
    public var length: Int64
    public var updatedAt: Date

    public init(sha256: String, url: String, offset: Int64, length: Int64, updatedAt: Date = Date()) {
        self.sha256 = sha256
        self.url = url
        self.offset = offset
        self.length = length
        self.updatedAt = updatedAt
    }
}

/// Where an item of evidence is on its way to the server.
public enum UploadState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// Stored, not yet in a batch.
    case pending
    /// In a batch the server has not receipted yet.
    case batched
    /// The server holds the blob; the receipt is still to come.
    case uploaded
    /// Retained online: the server signed a receipt for it.
    case receipted
    /// The server refused the bytes (they no longer match the hash): needs a person.
    case refused

    /// Still on its way: what a sync has ahead of it (refused items wait for a person).
    static let waiting: [UploadState] = [.pending, .batched, .uploaded]
}

/// What an item of evidence is.
public enum EvidenceKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case recording, printout, fingerprint
}

/// One item of evidence in the sync queue, whatever made it (a trigger queues every recording,
/// printout and fingerprint as it is stored).
public struct SyncItem: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public static let databaseTableName = "syncItem"
    public var id: Int64
    public var kind: EvidenceKind
    /// The row of `recording`, `printedDocument` or `fingerprintCapture`.
    public var sourceId: Int64
    public var sha256: String
    public var size: Int64
    public var important: Bool
    public var takenAt: Date?
    public var state: UploadState
    public var batchId: Int64?
    public var attempts: Int
    public var lastError: String?
    public var updatedAt: Date
}

/// An item of a batch with the record it stands for and its custody so far.
public struct SyncEntry: Sendable {
    public enum Source: Sendable {
        case recording(Recording)
        case printout(PrintedDocument)
        case fingerprint(FingerprintCapture)
    }

    public var item: SyncItem
    public var source: Source
    public var custody: [CustodyEvent]
    /// The unit of the recording's officer, as the roster has it.
    public var officerUnit: String?
}

/// One item's place in a batch, in the order it was batched (its rowid).
struct SyncBatchItem: Codable, Sendable, FetchableRecord, PersistableRecord, StoredDates {
    static let databaseTableName = "syncBatchItem"
    var batchId: Int64
    var itemId: Int64
    var sha256: String
}

extension SyncItem {
    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let kind = Column(CodingKeys.kind)
        static let sourceId = Column(CodingKeys.sourceId)
        static let sha256 = Column(CodingKeys.sha256)
        static let size = Column(CodingKeys.size)
        static let important = Column(CodingKeys.important)
        static let takenAt = Column(CodingKeys.takenAt)
        static let state = Column(CodingKeys.state)
        static let batchId = Column(CodingKeys.batchId)
        static let attempts = Column(CodingKeys.attempts)
        static let lastError = Column(CodingKeys.lastError)
        static let updatedAt = Column(CodingKeys.updatedAt)
    }

    static let batchMemberships = hasMany(SyncBatchItem.self, using: ForeignKey([SyncBatchItem.Columns.itemId]))

    /// The items of a batch in the order they were batched; only those of one blob when
    /// `sha256` is given. This is the one join between items and batches.
    static func inBatch(_ batchId: Int64, sha256: String? = nil) -> QueryInterfaceRequest<SyncItem> {
        let membership = TableAlias<SyncBatchItem>()
        var memberships = batchMemberships.aliased(membership).filter(SyncBatchItem.Columns.batchId == batchId)
        if let sha256 { memberships = memberships.filter(SyncBatchItem.Columns.sha256 == sha256) }
        return SyncItem.joining(required: memberships).order(membership[Column.rowID])
    }

    /// Items still on their way (refused ones wait for a person).
    static let waiting = SyncItem.filter(UploadState.waiting.contains(Columns.state))
}

extension SyncBatchItem {
    public enum Columns {
        static let batchId = Column(CodingKeys.batchId)
        static let itemId = Column(CodingKeys.itemId)
        static let sha256 = Column(CodingKeys.sha256)
    }
}

extension SyncBatch {
    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let serverBatchId = Column(CodingKeys.serverBatchId)
        static let state = Column(CodingKeys.state)
        static let committedAt = Column(CodingKeys.committedAt)
        static let receiptPayload = Column(CodingKeys.receiptPayload)
        static let receiptSignature = Column(CodingKeys.receiptSignature)
        static let serverTime = Column(CodingKeys.serverTime)
        static let manifestPayload = Column(CodingKeys.manifestPayload)
        static let manifestSignature = Column(CodingKeys.manifestSignature)
        static let timestampReply = Column(CodingKeys.timestampReply)
        static let timestampedAt = Column(CodingKeys.timestampedAt)
        static let timestampAuthority = Column(CodingKeys.timestampAuthority)
    }
}
