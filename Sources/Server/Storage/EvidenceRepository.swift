import Evidence
import Foundation
import SyncProtocol

/// Everything the server records except the blobs' bytes: gateways, batches, uploads, and which
/// blobs are held. SQLite (``SQLiteEvidenceRepository``) is the default; PostgreSQL
/// (``PostgresEvidenceRepository``) lets several server instances share one database.
protocol EvidenceRepository: ConsoleRepository, ReportRepository {
    /// Makes the store ready for requests: reaches it and brings its schema up to date. Throws a
    /// ``ServerSetupError`` saying what is wrong (unreachable, refused password, newer schema).
    func prepare() async throws
    /// Locks that keep two requests from writing one upload, as wide as the records are shared:
    /// this process for SQLite, every server on the database for PostgreSQL.
    func makeUploadLocks() -> any UploadLocks
    /// Where this database keeps the server's key, when it does (one that several instances
    /// share); nil when the data folder keeps it.
    var serverKeyStore: (any ServerKeyStore)? { get }

    // MARK: Gateways

    /// Creates an invited gateway holding the hash of its one-time enrolment token.
    func createGateway(name: String, tokenHash: String) async throws -> GatewayRecord
    func gateways() async throws -> [GatewayRecord]
    func gateway(id: String) async throws -> GatewayRecord?
    /// Marks the gateway revoked; nil when no gateway has that name.
    func revokeGateway(name: String) async throws -> GatewayRecord?
    /// Spends a token: the gateway it belongs to becomes active with this key and secret.
    func enroll(tokenHash: String, publicKey: String, secretHash: String) async throws -> EnrolmentOutcome
    func recordSeen(gatewayId: String, at: Date) async throws

    // MARK: Batches

    /// Stores a new batch with its items, or returns the batch the gateway already sent with
    /// this key (`created` false).
    func createBatch(_ batch: BatchRecord, items: [BatchItemRecord]) async throws -> (batch: BatchRecord, created: Bool)
    func batch(id: String) async throws -> BatchRecord?
    func items(batchId: String) async throws -> [BatchItemRecord]
    /// Commits an open batch: marks withdrawn items and stores the receipt. When the batch was
    /// committed in the meantime, returns the stored batch unchanged.
    func commitBatch(id: String, withdrawn: Set<String>, receipt: String, at: Date) async throws -> BatchRecord

    // MARK: Receipts' time-stamps

    /// Committed batches whose receipt has no time-stamp yet, oldest first, with the receipt.
    func receiptsAwaitingTimestamp(limit: Int) async throws -> [(batchId: String, receipt: String)]
    /// Keeps the TSA's reply for the batch's receipt; a reply kept already stays.
    func storeTimestamp(batchId: String, reply: Data, stampedAt: Date, at: Date) async throws
    func timestamp(batchId: String) async throws -> ReceiptTimestampRecord?

    // MARK: Blobs and uploads

    /// Which of these hashes name blobs held completely and verified.
    func heldBlobs(among hashes: [String]) async throws -> Set<String>
    /// The sizes of the blobs among these hashes that are held.
    func heldBlobSizes(among hashes: [String]) async throws -> [String: Int64]
    func blobSize(sha256: String) async throws -> Int64?
    func recordBlob(sha256: String, size: Int64, at: Date) async throws
    /// The gateway delivered this blob (uploaded it whole, or proved it holds it).
    func recordPossession(gatewayId: String, sha256: String, at: Date) async throws
    /// Which of these hashes the gateway delivered.
    func possessed(gatewayId: String, among hashes: [String]) async throws -> Set<String>

    func createUpload(_ upload: UploadRecord, at: Date) async throws
    func upload(id: String) async throws -> UploadRecord?
    func updateUpload(id: String, offset: Int64, state: UploadRecord.State, at: Date) async throws
    /// Uploads whose every byte is acknowledged but which are not yet complete: a crash came
    /// between the last chunk and the blob's recording.
    func uploadsAwaitingCompletion() async throws -> [UploadRecord]
    func deleteUpload(id: String) async throws
    /// The gateway's uploads receiving now: how many, and their declared lengths together.
    func uploadsInFlight(gatewayId: String) async throws -> (count: Int, bytes: Int64)
    /// Deletes uploads receiving and untouched since `abandonedBefore` (returning their ids, whose
    /// part files go next) and completed ones untouched since `completedBefore` (returning how many).
    func sweepUploads(abandonedBefore: Date, completedBefore: Date) async throws -> (expired: [String], pruned: Int)

    // MARK: Evidence

    /// The committed, non-withdrawn items of this gateway's batches with this hash.
    func evidenceEntries(sha256: String, gatewayId: String) async throws -> [EvidenceRecord.Entry]

    // MARK: Bundles

    /// The committed, not withdrawn items `scope` names (the time window is the caller's), in
    /// commit order. An item named by hash that no committed item has is in `unknown`.
    func exportableItems(_ scope: ExportSelection.Scope) async throws -> (items: [ExportableItem], unknown: [String])
    func recordExport(_ export: BundleExportRecord) async throws
    func bundleExports() async throws -> [BundleExportRecord]
    func recordImport(_ record: BundleImportRecord) async throws
    func bundleImports() async throws -> [BundleImportRecord]
}

/// What became of an enrolment token.
enum EnrolmentOutcome: Sendable {
    case enrolled(GatewayRecord)
    case unknownToken
    case tokenAlreadyUsed
    case revoked(GatewayRecord)
}
