import Evidence
import Foundation
import GRDB
import SyncProtocol

/// The default ``EvidenceRepository``: one SQLite database in WAL mode, so the
/// `fieldgate-server gateways` commands can change it while the server runs.
final class SQLiteEvidenceRepository: EvidenceRepository {
    let database: DatabasePool

    /// Opens, creating and migrating when needed, the database at `path`.
    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // FULL: an acknowledged upload offset or receipt survives power loss.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        database = try DatabasePool(path: path, configuration: configuration)
        try ServerSchema.migrator.migrate(database)
    }

    /// Opening the database already migrated it.
    func prepare() async throws {}

    func makeUploadLocks() -> any UploadLocks { InProcessUploadLocks() }

    /// The key stays in the data folder, beside this database.
    var serverKeyStore: (any ServerKeyStore)? { nil }

    // MARK: Gateways

    func createGateway(name: String, tokenHash: String) async throws -> GatewayRecord {
        let gateway = GatewayRecord(id: UUID().uuidString.lowercased(), name: name, state: .invited, publicKey: nil,
                                    secretHash: nil, createdAt: Date(), enrolledAt: nil, lastSeenAt: nil, revokedAt: nil)
        try await database.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM gateway WHERE name = ?", arguments: [name]) != nil {
                throw AdministrationError.duplicateName(name)
            }
            try db.execute(sql: """
                INSERT INTO gateway (id, name, state, tokenHash, createdAt) VALUES (?, ?, ?, ?, ?)
                """, arguments: [gateway.id, name, gateway.state.rawValue, tokenHash, gateway.createdAt])
        }
        return gateway
    }

    func gateways() async throws -> [GatewayRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM gateway ORDER BY name").map(Self.gateway(from:))
        }
    }

    func gateway(id: String) async throws -> GatewayRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM gateway WHERE id = ?", arguments: [id]).map(Self.gateway(from:))
        }
    }

    func revokeGateway(name: String) async throws -> GatewayRecord? {
        try await database.write { db in
            try db.execute(sql: "UPDATE gateway SET state = 'revoked', revokedAt = coalesce(revokedAt, ?) WHERE name = ?",
                           arguments: [Date(), name])
            return try Row.fetchOne(db, sql: "SELECT * FROM gateway WHERE name = ?", arguments: [name]).map(Self.gateway(from:))
        }
    }

    func enroll(tokenHash: String, publicKey: String, secretHash: String) async throws -> EnrolmentOutcome {
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM gateway WHERE tokenHash = ?", arguments: [tokenHash]) else {
                return .unknownToken
            }
            let gateway = try Self.gateway(from: row)
            if gateway.state == .revoked { return .revoked(gateway) }
            if row["tokenUsedAt"] as Date? != nil { return .tokenAlreadyUsed }
            let now = Date()
            try db.execute(sql: """
                UPDATE gateway SET state = 'active', tokenUsedAt = ?, enrolledAt = ?, publicKey = ?, secretHash = ?
                WHERE id = ?
                """, arguments: [now, now, publicKey, secretHash, gateway.id])
            var enrolled = gateway
            enrolled.state = .active
            enrolled.enrolledAt = now
            enrolled.publicKey = publicKey
            enrolled.secretHash = secretHash
            return .enrolled(enrolled)
        }
    }

    func recordSeen(gatewayId: String, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE gateway SET lastSeenAt = ? WHERE id = ?", arguments: [date, gatewayId])
        }
    }

    private static func gateway(from row: Row) throws -> GatewayRecord {
        let stateText: String = row["state"]
        guard let state = GatewayRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("gateway \(row["name"] as String) has unknown state \(stateText)")
        }
        return GatewayRecord(id: row["id"], name: row["name"], state: state, publicKey: row["publicKey"],
                             secretHash: row["secretHash"], createdAt: row["createdAt"], enrolledAt: row["enrolledAt"],
                             lastSeenAt: row["lastSeenAt"], revokedAt: row["revokedAt"])
    }

    // MARK: Batches

    func createBatch(_ batch: BatchRecord, items: [BatchItemRecord]) async throws -> (batch: BatchRecord, created: Bool) {
        let encoder = WireCoding.encoder
        let encodedItems = try items.map { item in
            (item, String(decoding: try encoder.encode(item.metadata), as: UTF8.self),
             String(decoding: try encoder.encode(item.custody), as: UTF8.self))
        }
        return try await database.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE gatewayId = ? AND batchKey = ?",
                                          arguments: [batch.gatewayId, batch.batchKey]) {
                return (try Self.batch(from: row), false)
            }
            try db.execute(sql: """
                INSERT INTO batch (id, gatewayId, batchKey, state, envelope, createdAt, receivedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [batch.id, batch.gatewayId, batch.batchKey, batch.state.rawValue, batch.envelope,
                                 batch.createdAt, batch.receivedAt])
            for (item, metadata, custody) in encodedItems {
                try db.execute(sql: """
                    INSERT INTO batchItem (batchId, position, sha256, size, kind, metadata, custody, withdrawn)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [batch.id, item.position, item.sha256, item.size, item.kind, metadata, custody,
                                     item.withdrawn])
            }
            return (batch, true)
        }
    }

    func batch(id: String) async throws -> BatchRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [id]).map(Self.batch(from:))
        }
    }

    func items(batchId: String) async throws -> [BatchItemRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batchItem WHERE batchId = ? ORDER BY position", arguments: [batchId])
                .map(Self.item(from:))
        }
    }

    func commitBatch(id: String, withdrawn: Set<String>, receipt: String, at date: Date) async throws -> BatchRecord {
        FaultPoint.receiptSigned.reach()
        let committed = try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [id]) else {
                throw RepositoryError.corrupt("batch \(id) vanished during its commit")
            }
            let stored = try Self.batch(from: row)
            if stored.state == .committed { return stored }
            for sha256 in withdrawn {
                try db.execute(sql: "UPDATE batchItem SET withdrawn = 1 WHERE batchId = ? AND sha256 = ?", arguments: [id, sha256])
            }
            try db.execute(sql: "UPDATE batch SET state = 'committed', committedAt = ?, receipt = ? WHERE id = ?",
                           arguments: [date, receipt, id])
            try Self.storeReportFacts(batchId: id, gatewayId: stored.gatewayId, committedAt: date, db)
            var committed = stored
            committed.state = .committed
            committed.committedAt = date
            committed.receipt = receipt
            return committed
        }
        FaultPoint.batchCommitted.reach()
        return committed
    }

    func receiptsAwaitingTimestamp(limit: Int) async throws -> [(batchId: String, receipt: String)] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, receipt FROM batch WHERE state = 'committed' AND receipt IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM receiptTimestamp WHERE receiptTimestamp.batchId = batch.id)
                ORDER BY committedAt, id LIMIT ?
                """, arguments: [limit]).map { (batchId: $0["id"], receipt: $0["receipt"]) }
        }
    }

    func storeTimestamp(batchId: String, reply: Data, stampedAt: Date, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO receiptTimestamp (batchId, reply, stampedAt, receivedAt) VALUES (?, ?, ?, ?)",
                           arguments: [batchId, reply, stampedAt, date])
        }
    }

    func timestamp(batchId: String) async throws -> ReceiptTimestampRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM receiptTimestamp WHERE batchId = ?", arguments: [batchId]).map {
                ReceiptTimestampRecord(batchId: $0["batchId"], reply: $0["reply"], stampedAt: $0["stampedAt"], receivedAt: $0["receivedAt"])
            }
        }
    }

    private static func batch(from row: Row) throws -> BatchRecord {
        let stateText: String = row["state"]
        guard let state = BatchRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("batch \(row["id"] as String) has unknown state \(stateText)")
        }
        return BatchRecord(id: row["id"], gatewayId: row["gatewayId"], batchKey: row["batchKey"], state: state,
                           envelope: row["envelope"], createdAt: row["createdAt"], receivedAt: row["receivedAt"],
                           committedAt: row["committedAt"], receipt: row["receipt"])
    }

    static func item(from row: Row) throws -> BatchItemRecord {
        let decoder = WireCoding.decoder
        return BatchItemRecord(position: row["position"], sha256: row["sha256"], size: row["size"], kind: row["kind"],
                               metadata: try decoder.decode([String: String].self, from: Data((row["metadata"] as String).utf8)),
                               custody: try decoder.decode([CustodyEvent].self, from: Data((row["custody"] as String).utf8)),
                               withdrawn: row["withdrawn"])
    }

    // MARK: Blobs and uploads

    func heldBlobs(among hashes: [String]) async throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        return try await database.read { db in
            var held = Set<String>()
            // Chunks stay well under SQLite's bound-parameter limit.
            let unique = Array(Set(hashes))
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let found = try String.fetchAll(db, sql: "SELECT sha256 FROM blob WHERE sha256 IN (\(placeholders))",
                                                arguments: StatementArguments(chunk))
                held.formUnion(found)
            }
            return held
        }
    }

    func recordPossession(gatewayId: String, sha256: String, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO possession (gatewayId, sha256, provenAt) VALUES (?, ?, ?)",
                           arguments: [gatewayId, sha256, date])
        }
    }

    func possessed(gatewayId: String, among hashes: [String]) async throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        return try await database.read { db in
            var found = Set<String>()
            let unique = Array(Set(hashes))
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                found.formUnion(try String.fetchAll(db, sql: "SELECT sha256 FROM possession WHERE gatewayId = ? AND sha256 IN (\(placeholders))",
                                                    arguments: StatementArguments([gatewayId] + chunk)))
            }
            return found
        }
    }

    func heldBlobSizes(among hashes: [String]) async throws -> [String: Int64] {
        guard !hashes.isEmpty else { return [:] }
        return try await database.read { db in
            var sizes: [String: Int64] = [:]
            let unique = Array(Set(hashes))
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(db, sql: "SELECT sha256, size FROM blob WHERE sha256 IN (\(placeholders))",
                                            arguments: StatementArguments(chunk)) {
                    sizes[row["sha256"]] = row["size"]
                }
            }
            return sizes
        }
    }

    func blobSize(sha256: String) async throws -> Int64? {
        try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT size FROM blob WHERE sha256 = ?", arguments: [sha256])
        }
    }

    func recordBlob(sha256: String, size: Int64, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO blob (sha256, size, verifiedAt) VALUES (?, ?, ?)",
                           arguments: [sha256, size, date])
        }
        FaultPoint.blobRecorded.reach()
    }

    func createUpload(_ upload: UploadRecord, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO upload (id, gatewayId, length, offset, metadata, sha256, state, createdAt, updatedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [upload.id, upload.gatewayId, upload.length, upload.offset, upload.metadata, upload.sha256,
                                 upload.state.rawValue, date, date])
        }
        FaultPoint.uploadCreated.reach()
    }

    func upload(id: String) async throws -> UploadRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM upload WHERE id = ?", arguments: [id]).map(Self.upload(from:))
        }
    }

    private static func upload(from row: Row) throws -> UploadRecord {
        let stateText: String = row["state"]
        guard let state = UploadRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("upload \(row["id"] as String) has unknown state \(stateText)")
        }
        return UploadRecord(id: row["id"], gatewayId: row["gatewayId"], length: row["length"], offset: row["offset"],
                            metadata: row["metadata"], sha256: row["sha256"], state: state)
    }

    func updateUpload(id: String, offset: Int64, state: UploadRecord.State, at date: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE upload SET offset = ?, state = ?, updatedAt = ? WHERE id = ?",
                           arguments: [offset, state.rawValue, date, id])
        }
        switch state {
        case .receiving: FaultPoint.offsetRecorded.reach()
        case .complete: FaultPoint.uploadCompleted.reach()
        }
    }

    func uploadsInFlight(gatewayId: String) async throws -> (count: Int, bytes: Int64) {
        try await database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS count, COALESCE(SUM(length), 0) AS bytes FROM upload WHERE gatewayId = ? AND state = ?",
                                       arguments: [gatewayId, UploadRecord.State.receiving.rawValue])
            return (row?["count"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    func sweepUploads(abandonedBefore: Date, completedBefore: Date) async throws -> (expired: [String], pruned: Int) {
        try await database.write { db in
            let expired = try String.fetchAll(db, sql: "SELECT id FROM upload WHERE state = ? AND updatedAt < ?",
                                              arguments: [UploadRecord.State.receiving.rawValue, abandonedBefore])
            try db.execute(sql: "DELETE FROM upload WHERE state = ? AND updatedAt < ?",
                           arguments: [UploadRecord.State.receiving.rawValue, abandonedBefore])
            try db.execute(sql: "DELETE FROM upload WHERE state = ? AND updatedAt < ?",
                           arguments: [UploadRecord.State.complete.rawValue, completedBefore])
            return (expired, db.changesCount)
        }
    }

    func uploadsAwaitingCompletion() async throws -> [UploadRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM upload WHERE state = ? AND offset = length ORDER BY createdAt",
                             arguments: [UploadRecord.State.receiving.rawValue]).map(Self.upload(from:))
        }
    }

    func deleteUpload(id: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM upload WHERE id = ?", arguments: [id])
        }
    }

    // MARK: Evidence

    func evidenceEntries(sha256: String, gatewayId: String) async throws -> [EvidenceRecord.Entry] {
        try await database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT batchItem.*, batch.committedAt AS committedAt FROM batchItem
                JOIN batch ON batch.id = batchItem.batchId
                WHERE batchItem.sha256 = ? AND batch.gatewayId = ? AND batch.state = 'committed' AND NOT batchItem.withdrawn
                ORDER BY batch.committedAt, batchItem.batchId, batchItem.position
                """, arguments: [sha256, gatewayId])
            return try rows.map { row in
                let item = try Self.item(from: row)
                let committedAt: Date = row["committedAt"]
                return EvidenceRecord.Entry(batchId: row["batchId"], kind: item.kind, metadata: item.metadata,
                                            custody: item.custody, receivedAt: committedAt.formatted(WireCoding.timestampFormat))
            }
        }
    }
}

extension SQLiteEvidenceRepository {
    // MARK: Bundles

    func exportableItems(_ scope: ExportSelection.Scope) async throws -> (items: [ExportableItem], unknown: [String]) {
        let (condition, arguments): (String, StatementArguments) = switch scope {
        case .caseNumber(let number): ("json_extract(batchItem.metadata, '$.case') = ?", [number])
        case .officer(let number): ("json_extract(batchItem.metadata, '$.officer') = ?", [number])
        case .camera(let serial): ("json_extract(batchItem.metadata, '$.camera') = ?", [serial])
        case .items(let hashes):
            ("batchItem.sha256 IN (\(hashes.map { _ in "?" }.joined(separator: ",")))", StatementArguments(hashes))
        }
        return try await database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT batchItem.* FROM batchItem JOIN batch ON batch.id = batchItem.batchId
                WHERE batch.state = 'committed' AND NOT batchItem.withdrawn AND \(condition)
                ORDER BY batch.committedAt, batchItem.batchId, batchItem.position
                """, arguments: arguments)
            let items = try rows.map { ExportableItem(batchId: $0["batchId"], item: try Self.item(from: $0)) }
            guard case .items(let hashes) = scope else { return (items, []) }
            let found = Set(items.map(\.item.sha256))
            return (items, hashes.filter { !found.contains($0) })
        }
    }

    func recordExport(_ export: BundleExportRecord) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO bundleExport (id, selection, destination, items, bytes, tagManifestSha256, exportedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [export.id, export.selection, export.destination, export.items, export.bytes,
                                 export.tagManifestSha256, export.exportedAt])
        }
    }

    func recordImport(_ record: BundleImportRecord) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO bundleImport (bundleId, gatewayId, batchId, source, tagManifestSha256, imported, newBlobs, alreadyReceipted, importedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.bundleId, record.gatewayId, record.batchId, record.source, record.tagManifestSha256,
                                 record.imported, record.newBlobs, record.alreadyReceipted, record.importedAt])
        }
    }

    func bundleImports() async throws -> [BundleImportRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bundleImport ORDER BY id").map { row in
                BundleImportRecord(bundleId: row["bundleId"], gatewayId: row["gatewayId"], batchId: row["batchId"], source: row["source"],
                                   tagManifestSha256: row["tagManifestSha256"], imported: row["imported"], newBlobs: row["newBlobs"],
                                   alreadyReceipted: row["alreadyReceipted"], importedAt: row["importedAt"])
            }
        }
    }

    func bundleExports() async throws -> [BundleExportRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bundleExport ORDER BY exportedAt, id").map { row in
                BundleExportRecord(id: row["id"], selection: row["selection"], destination: row["destination"], items: row["items"],
                                   bytes: row["bytes"], tagManifestSha256: row["tagManifestSha256"], exportedAt: row["exportedAt"])
            }
        }
    }
}

/// The database holds something this version cannot read.
enum RepositoryError: Error, CustomStringConvertible {
    case corrupt(String)

    var description: String {
        switch self {
        case .corrupt(let reason): "the server database is inconsistent: \(reason)"
        }
    }
}
