import Evidence
import Foundation
import Logging
import PostgresNIO
import SyncProtocol

/// The ``EvidenceRepository`` on PostgreSQL, which several server instances can share. Its
/// connections come from one pool; a commit that must be all or nothing is one transaction.
final class PostgresEvidenceRepository: EvidenceRepository {
    let location: PostgresLocation
    let database: PostgresDatabase
    let logger: Logger

    init(location: PostgresLocation) {
        self.location = location
        var logger = Logger(label: "fieldgate-server.postgres")
        logger.logLevel = .warning
        self.logger = logger
        database = PostgresDatabase(location: location, logger: logger)
    }

    func prepare() async throws { try await database.migrate() }

    func makeUploadLocks() -> any UploadLocks { PostgresUploadLocks(database: database, logger: logger) }

    var serverKeyStore: (any ServerKeyStore)? { PostgresServerKeyStore(database: database, logger: logger) }

    // MARK: Gateways

    func createGateway(name: String, tokenHash: String) async throws -> GatewayRecord {
        let gateway = GatewayRecord(id: UUID().uuidString.lowercased(), name: name, state: .invited, publicKey: nil,
                                    secretHash: nil, createdAt: Date(), enrolledAt: nil, lastSeenAt: nil, revokedAt: nil)
        let inserted = try await database.client.query("""
            INSERT INTO gateway (id, name, state, token_hash, created_at)
            VALUES (\(gateway.id), \(name), \(gateway.state.rawValue), \(tokenHash), \(gateway.createdAt))
            ON CONFLICT (name) DO NOTHING RETURNING id
            """, logger: logger).collect()
        guard !inserted.isEmpty else { throw AdministrationError.duplicateName(name) }
        return gateway
    }

    func gateways() async throws -> [GatewayRecord] {
        try await database.client.query("SELECT * FROM gateway ORDER BY name", logger: logger).collect().map(Self.gateway(from:))
    }

    func gateway(id: String) async throws -> GatewayRecord? {
        try await database.client.query("SELECT * FROM gateway WHERE id = \(id)", logger: logger).collect().first
            .map(Self.gateway(from:))
    }

    func revokeGateway(name: String) async throws -> GatewayRecord? {
        try await database.client.query("""
            UPDATE gateway SET state = 'revoked', revoked_at = coalesce(revoked_at, \(Date())) WHERE name = \(name) RETURNING *
            """, logger: logger).collect().first.map(Self.gateway(from:))
    }

    func enroll(tokenHash: String, publicKey: String, secretHash: String) async throws -> EnrolmentOutcome {
        try await database.transaction { connection, logger in
            // FOR UPDATE: two enrolments with one token on two instances cannot both spend it.
            guard let row = try await connection.query("SELECT * FROM gateway WHERE token_hash = \(tokenHash) FOR UPDATE",
                                                       logger: logger).collect().first else {
                return .unknownToken
            }
            let gateway = try Self.gateway(from: row)
            if gateway.state == .revoked { return .revoked(gateway) }
            if try row.makeRandomAccess()["token_used_at"].decode(Date?.self) != nil { return .tokenAlreadyUsed }
            let now = Date()
            try await connection.query("""
                UPDATE gateway SET state = 'active', token_used_at = \(now), enrolled_at = \(now), public_key = \(publicKey),
                secret_hash = \(secretHash) WHERE id = \(gateway.id)
                """, logger: logger)
            var enrolled = gateway
            enrolled.state = .active
            enrolled.enrolledAt = now
            enrolled.publicKey = publicKey
            enrolled.secretHash = secretHash
            return .enrolled(enrolled)
        }
    }

    func recordSeen(gatewayId: String, at date: Date) async throws {
        try await database.client.query("UPDATE gateway SET last_seen_at = \(date) WHERE id = \(gatewayId)", logger: logger)
    }

    private static func gateway(from row: PostgresRow) throws -> GatewayRecord {
        let row = row.makeRandomAccess()
        let name = try row["name"].decode(String.self)
        let stateText = try row["state"].decode(String.self)
        guard let state = GatewayRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("gateway \(name) has unknown state \(stateText)")
        }
        return GatewayRecord(id: try row["id"].decode(String.self), name: name, state: state,
                             publicKey: try row["public_key"].decode(String?.self),
                             secretHash: try row["secret_hash"].decode(String?.self),
                             createdAt: try row["created_at"].decode(Date.self), enrolledAt: try row["enrolled_at"].decode(Date?.self),
                             lastSeenAt: try row["last_seen_at"].decode(Date?.self), revokedAt: try row["revoked_at"].decode(Date?.self))
    }

    // MARK: Batches

    func createBatch(_ batch: BatchRecord, items: [BatchItemRecord]) async throws -> (batch: BatchRecord, created: Bool) {
        let encoder = WireCoding.encoder
        let metadata = try items.map { String(decoding: try encoder.encode($0.metadata), as: UTF8.self) }
        let custody = try items.map { String(decoding: try encoder.encode($0.custody), as: UTF8.self) }
        return try await database.transaction { connection, logger in
            let inserted = try await connection.query("""
                INSERT INTO batch (id, gateway_id, batch_key, state, envelope, created_at, received_at)
                VALUES (\(batch.id), \(batch.gatewayId), \(batch.batchKey), \(batch.state.rawValue), \(batch.envelope),
                        \(batch.createdAt), \(batch.receivedAt))
                ON CONFLICT (gateway_id, batch_key) DO NOTHING RETURNING id
                """, logger: logger).collect()
            guard !inserted.isEmpty else {
                let rows = try await connection.query("""
                    SELECT * FROM batch WHERE gateway_id = \(batch.gatewayId) AND batch_key = \(batch.batchKey)
                    """, logger: logger).collect()
                guard let row = rows.first else { throw RepositoryError.corrupt("batch key \(batch.batchKey) is neither new nor stored") }
                return (try Self.batch(from: row), false)
            }
            // One statement for every item, however many: the arrays are zipped by unnest.
            try await connection.query("""
                INSERT INTO batch_item (batch_id, position, sha256, size, kind, metadata, custody, withdrawn)
                SELECT \(batch.id), item.position, item.sha256, item.size, item.kind, item.metadata::jsonb, item.custody, item.withdrawn
                FROM unnest(\(items.map(\.position)), \(items.map(\.sha256)), \(items.map(\.size)), \(items.map(\.kind)),
                            \(metadata), \(custody), \(items.map(\.withdrawn)))
                     AS item (position, sha256, size, kind, metadata, custody, withdrawn)
                """, logger: logger)
            return (batch, true)
        }
    }

    func batch(id: String) async throws -> BatchRecord? {
        try await database.client.query("SELECT * FROM batch WHERE id = \(id)", logger: logger).collect().first.map(Self.batch(from:))
    }

    func items(batchId: String) async throws -> [BatchItemRecord] {
        try await database.client.query("""
            SELECT position, sha256, size, kind, metadata::text AS metadata, custody, withdrawn FROM batch_item
            WHERE batch_id = \(batchId) ORDER BY position
            """, logger: logger).collect().map(Self.item(from:))
    }

    func commitBatch(id: String, withdrawn: Set<String>, receipt: String, at date: Date) async throws -> BatchRecord {
        FaultPoint.receiptSigned.reach()
        let committed = try await database.transaction { connection, logger in
            // FOR UPDATE: a commit of the same batch on another instance waits, then sees it committed.
            guard let row = try await connection.query("SELECT * FROM batch WHERE id = \(id) FOR UPDATE", logger: logger)
                .collect().first else {
                throw RepositoryError.corrupt("batch \(id) vanished during its commit")
            }
            let stored = try Self.batch(from: row)
            if stored.state == .committed { return stored }
            if !withdrawn.isEmpty {
                try await connection.query("""
                    UPDATE batch_item SET withdrawn = true WHERE batch_id = \(id) AND sha256 = ANY(\(Array(withdrawn)))
                    """, logger: logger)
            }
            try await connection.query("""
                UPDATE batch SET state = 'committed', committed_at = \(date), receipt = \(receipt) WHERE id = \(id)
                """, logger: logger)
            try await Self.storeReportFacts(batchId: id, gatewayId: stored.gatewayId, committedAt: date, connection, logger)
            var committed = stored
            committed.state = .committed
            committed.committedAt = date
            committed.receipt = receipt
            return committed
        }
        FaultPoint.batchCommitted.reach()
        return committed
    }

    private static func batch(from row: PostgresRow) throws -> BatchRecord {
        let row = row.makeRandomAccess()
        let id = try row["id"].decode(String.self)
        let stateText = try row["state"].decode(String.self)
        guard let state = BatchRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("batch \(id) has unknown state \(stateText)")
        }
        return BatchRecord(id: id, gatewayId: try row["gateway_id"].decode(String.self), batchKey: try row["batch_key"].decode(String.self),
                           state: state, envelope: try row["envelope"].decode(String.self),
                           createdAt: try row["created_at"].decode(String.self), receivedAt: try row["received_at"].decode(Date.self),
                           committedAt: try row["committed_at"].decode(Date?.self), receipt: try row["receipt"].decode(String?.self))
    }

    static func item(from row: PostgresRow) throws -> BatchItemRecord {
        let row = row.makeRandomAccess()
        let decoder = WireCoding.decoder
        return BatchItemRecord(position: try row["position"].decode(Int.self), sha256: try row["sha256"].decode(String.self),
                               size: try row["size"].decode(Int64.self), kind: try row["kind"].decode(String.self),
                               metadata: try decoder.decode([String: String].self, from: Data(try row["metadata"].decode(String.self).utf8)),
                               custody: try decoder.decode([CustodyEvent].self, from: Data(try row["custody"].decode(String.self).utf8)),
                               withdrawn: try row["withdrawn"].decode(Bool.self))
    }

    // MARK: Blobs and uploads

    func heldBlobs(among hashes: [String]) async throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        return Set(try await database.client.query("SELECT sha256 FROM blob WHERE sha256 = ANY(\(Array(Set(hashes))))", logger: logger)
            .collect().map { try $0.makeRandomAccess()["sha256"].decode(String.self) })
    }

    func heldBlobSizes(among hashes: [String]) async throws -> [String: Int64] {
        guard !hashes.isEmpty else { return [:] }
        let rows = try await database.client.query("SELECT sha256, size FROM blob WHERE sha256 = ANY(\(Array(Set(hashes))))",
                                                   logger: logger).collect()
        var sizes: [String: Int64] = [:]
        for row in rows {
            let (sha256, size) = try row.decode((String, Int64).self)
            sizes[sha256] = size
        }
        return sizes
    }

    func blobSize(sha256: String) async throws -> Int64? {
        try await database.client.query("SELECT size FROM blob WHERE sha256 = \(sha256)", logger: logger).collect().first
            .map { try $0.decode(Int64.self) }
    }

    func recordBlob(sha256: String, size: Int64, at date: Date) async throws {
        try await database.client.query("""
            INSERT INTO blob (sha256, size, verified_at) VALUES (\(sha256), \(size), \(date)) ON CONFLICT (sha256) DO NOTHING
            """, logger: logger)
        FaultPoint.blobRecorded.reach()
    }

    func recordPossession(gatewayId: String, sha256: String, at date: Date) async throws {
        try await database.client.query("""
            INSERT INTO possession (gateway_id, sha256, proven_at) VALUES (\(gatewayId), \(sha256), \(date))
            ON CONFLICT (gateway_id, sha256) DO NOTHING
            """, logger: logger)
    }

    func possessed(gatewayId: String, among hashes: [String]) async throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        return Set(try await database.client.query("""
            SELECT sha256 FROM possession WHERE gateway_id = \(gatewayId) AND sha256 = ANY(\(Array(Set(hashes))))
            """, logger: logger).collect().map { try $0.decode(String.self) })
    }

    func createUpload(_ upload: UploadRecord, at date: Date) async throws {
        try await database.client.query("""
            INSERT INTO upload (id, gateway_id, length, upload_offset, metadata, sha256, state, created_at, updated_at)
            VALUES (\(upload.id), \(upload.gatewayId), \(upload.length), \(upload.offset), \(upload.metadata), \(upload.sha256),
                    \(upload.state.rawValue), \(date), \(date))
            """, logger: logger)
        FaultPoint.uploadCreated.reach()
    }

    func upload(id: String) async throws -> UploadRecord? {
        try await database.client.query("SELECT * FROM upload WHERE id = \(id)", logger: logger).collect().first.map(Self.upload(from:))
    }

    private static func upload(from row: PostgresRow) throws -> UploadRecord {
        let row = row.makeRandomAccess()
        let id = try row["id"].decode(String.self)
        let stateText = try row["state"].decode(String.self)
        guard let state = UploadRecord.State(rawValue: stateText) else {
            throw RepositoryError.corrupt("upload \(id) has unknown state \(stateText)")
        }
        return UploadRecord(id: id, gatewayId: try row["gateway_id"].decode(String.self), length: try row["length"].decode(Int64.self),
                            offset: try row["upload_offset"].decode(Int64.self), metadata: try row["metadata"].decode(String.self),
                            sha256: try row["sha256"].decode(String.self), state: state)
    }

    func updateUpload(id: String, offset: Int64, state: UploadRecord.State, at date: Date) async throws {
        try await database.client.query("""
            UPDATE upload SET upload_offset = \(offset), state = \(state.rawValue), updated_at = \(date) WHERE id = \(id)
            """, logger: logger)
        switch state {
        case .receiving: FaultPoint.offsetRecorded.reach()
        case .complete: FaultPoint.uploadCompleted.reach()
        }
    }

    func receiptsAwaitingTimestamp(limit: Int) async throws -> [(batchId: String, receipt: String)] {
        try await database.client.query("""
            SELECT id, receipt FROM batch WHERE state = 'committed' AND receipt IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM receipt_timestamp WHERE receipt_timestamp.batch_id = batch.id)
            ORDER BY committed_at, id LIMIT \(limit)
            """, logger: logger).collect().map {
            let (batchId, receipt) = try $0.decode((String, String).self)
            return (batchId: batchId, receipt: receipt)
        }
    }

    func storeTimestamp(batchId: String, reply: Data, stampedAt: Date, at date: Date) async throws {
        try await database.client.query("""
            INSERT INTO receipt_timestamp (batch_id, reply, stamped_at, received_at) VALUES (\(batchId), \(reply), \(stampedAt), \(date))
            ON CONFLICT (batch_id) DO NOTHING
            """, logger: logger)
    }

    func timestamp(batchId: String) async throws -> ReceiptTimestampRecord? {
        guard let row = try await database.client.query("""
            SELECT batch_id, reply, stamped_at, received_at FROM receipt_timestamp WHERE batch_id = \(batchId)
            """, logger: logger).collect().first else { return nil }
        let (id, reply, stampedAt, receivedAt) = try row.decode((String, Data, Date, Date).self)
        return ReceiptTimestampRecord(batchId: id, reply: reply, stampedAt: stampedAt, receivedAt: receivedAt)
    }

    func uploadsAwaitingCompletion() async throws -> [UploadRecord] {
        try await database.client.query("""
            SELECT * FROM upload WHERE state = \(UploadRecord.State.receiving.rawValue) AND upload_offset = length ORDER BY created_at
            """, logger: logger).collect().map(Self.upload(from:))
    }

    func deleteUpload(id: String) async throws {
        try await database.client.query("DELETE FROM upload WHERE id = \(id)", logger: logger)
    }

    func uploadsInFlight(gatewayId: String) async throws -> (count: Int, bytes: Int64) {
        let row = try await database.client.query("""
            SELECT count(*), coalesce(sum(length), 0)::bigint FROM upload
            WHERE gateway_id = \(gatewayId) AND state = \(UploadRecord.State.receiving.rawValue)
            """, logger: logger).collect().first
        guard let (count, bytes) = try row?.decode((Int64, Int64).self) else { return (0, 0) }
        return (Int(count), bytes)
    }

    func sweepUploads(abandonedBefore: Date, completedBefore: Date) async throws -> (expired: [String], pruned: Int) {
        try await database.transaction { connection, logger in
            let expired = try await connection.query("""
                DELETE FROM upload WHERE state = \(UploadRecord.State.receiving.rawValue) AND updated_at < \(abandonedBefore) RETURNING id
                """, logger: logger).collect().map { try $0.decode(String.self) }
            let pruned = try await connection.query("""
                DELETE FROM upload WHERE state = \(UploadRecord.State.complete.rawValue) AND updated_at < \(completedBefore) RETURNING id
                """, logger: logger).collect().count
            return (expired, pruned)
        }
    }

    // MARK: Bundles

    func exportableItems(_ scope: ExportSelection.Scope) async throws -> (items: [ExportableItem], unknown: [String]) {
        let select = """
            SELECT item.batch_id, item.position, item.sha256, item.size, item.kind, item.metadata::text AS metadata, item.custody,
                   item.withdrawn
            FROM batch_item AS item JOIN batch ON batch.id = item.batch_id
            WHERE batch.state = 'committed' AND NOT item.withdrawn AND
            """
        let order = "ORDER BY batch.committed_at, item.batch_id, item.position"
        // Each condition matches an index of migration 1 (metadata ->> key, sha256).
        let query: PostgresQuery = switch scope {
        case .caseNumber(let number): "\(unescaped: select) item.metadata ->> 'case' = \(number) \(unescaped: order)"
        case .officer(let number): "\(unescaped: select) item.metadata ->> 'officer' = \(number) \(unescaped: order)"
        case .camera(let serial): "\(unescaped: select) item.metadata ->> 'camera' = \(serial) \(unescaped: order)"
        case .items(let hashes): "\(unescaped: select) item.sha256 = ANY(\(hashes)) \(unescaped: order)"
        }
        let items = try await database.client.query(query, logger: logger).collect().map { row in
            ExportableItem(batchId: try row.makeRandomAccess()["batch_id"].decode(String.self), item: try Self.item(from: row))
        }
        guard case .items(let hashes) = scope else { return (items, []) }
        let found = Set(items.map(\.item.sha256))
        return (items, hashes.filter { !found.contains($0) })
    }

    func recordExport(_ export: BundleExportRecord) async throws {
        try await database.client.query("""
            INSERT INTO bundle_export (id, selection, destination, items, bytes, tag_manifest_sha256, exported_at)
            VALUES (\(export.id), \(export.selection), \(export.destination), \(export.items), \(export.bytes),
                    \(export.tagManifestSha256), \(export.exportedAt))
            """, logger: logger)
    }

    func recordImport(_ record: BundleImportRecord) async throws {
        try await database.client.query("""
            INSERT INTO bundle_import (bundle_id, gateway_id, batch_id, source, tag_manifest_sha256, imported, new_blobs,
                                       already_receipted, imported_at)
            VALUES (\(record.bundleId), \(record.gatewayId), \(record.batchId), \(record.source), \(record.tagManifestSha256),
                    \(record.imported), \(record.newBlobs), \(record.alreadyReceipted), \(record.importedAt))
            """, logger: logger)
    }

    func bundleImports() async throws -> [BundleImportRecord] {
        try await database.client.query("SELECT * FROM bundle_import ORDER BY id", logger: logger).collect().map { row in
            let row = row.makeRandomAccess()
            return BundleImportRecord(bundleId: try row["bundle_id"].decode(String.self), gatewayId: try row["gateway_id"].decode(String.self),
                                      batchId: try row["batch_id"].decode(String?.self), source: try row["source"].decode(String.self),
                                      tagManifestSha256: try row["tag_manifest_sha256"].decode(String.self),
                                      imported: try row["imported"].decode(Int.self), newBlobs: try row["new_blobs"].decode(Int.self),
                                      alreadyReceipted: try row["already_receipted"].decode(Int.self),
                                      importedAt: try row["imported_at"].decode(Date.self))
        }
    }

    func bundleExports() async throws -> [BundleExportRecord] {
        try await database.client.query("SELECT * FROM bundle_export ORDER BY exported_at, id", logger: logger).collect().map { row in
            let row = row.makeRandomAccess()
            return BundleExportRecord(id: try row["id"].decode(String.self), selection: try row["selection"].decode(String.self),
                                      destination: try row["destination"].decode(String.self), items: try row["items"].decode(Int.self),
                                      bytes: try row["bytes"].decode(Int64.self),
                                      tagManifestSha256: try row["tag_manifest_sha256"].decode(String.self),
                                      exportedAt: try row["exported_at"].decode(Date.self))
        }
    }

    // MARK: Evidence

    func evidenceEntries(sha256: String, gatewayId: String) async throws -> [EvidenceRecord.Entry] {
        let rows = try await database.client.query("""
            SELECT item.batch_id, item.position, item.sha256, item.size, item.kind, item.metadata::text AS metadata, item.custody,
                   item.withdrawn, batch.committed_at
            FROM batch_item AS item JOIN batch ON batch.id = item.batch_id
            WHERE item.sha256 = \(sha256) AND batch.gateway_id = \(gatewayId) AND batch.state = 'committed' AND NOT item.withdrawn
            ORDER BY batch.committed_at, item.batch_id, item.position
            """, logger: logger).collect()
        return try rows.map { row in
            let item = try Self.item(from: row)
            let columns = row.makeRandomAccess()
            let committedAt = try columns["committed_at"].decode(Date.self)
            return EvidenceRecord.Entry(batchId: try columns["batch_id"].decode(String.self), kind: item.kind, metadata: item.metadata,
                                        custody: item.custody, receivedAt: committedAt.formatted(WireCoding.timestampFormat))
        }
    }
}
