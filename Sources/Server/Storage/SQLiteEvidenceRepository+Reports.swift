import Foundation
import GRDB
import SyncProtocol

extension SQLiteEvidenceRepository {
    /// Adds the committed batch's items to the reports' counts, cameras and late items; runs in
    /// the commit's transaction (and in the migration that counts older batches).
    static func storeReportFacts(batchId: String, gatewayId: String, committedAt: Date, _ db: Database) throws {
        let items = try Row.fetchAll(db, sql: "SELECT position, kind, metadata, withdrawn FROM batchItem WHERE batchId = ?",
                                     arguments: [batchId]).map { row in
            ReportFacts.Item(position: row["position"], kind: row["kind"],
                             metadata: (try? WireCoding.decoder.decode([String: String].self, from: Data((row["metadata"] as String).utf8))) ?? [:],
                             withdrawn: row["withdrawn"])
        }
        let facts = ReportFacts(items: items, committedAt: committedAt)
        for (key, tally) in facts.tallies {
            try db.execute(sql: """
                INSERT INTO reportTally (month, unit, kind, documentType, items, seconds, flagged, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (month, unit, kind, documentType) DO UPDATE SET items = items + excluded.items,
                    seconds = seconds + excluded.seconds, flagged = flagged + excluded.flagged, late = late + excluded.late
                """, arguments: [key.month, key.unit, key.kind, key.documentType, tally.items, tally.seconds, tally.flagged, tally.late])
        }
        for (serial, sighting) in facts.cameras {
            try db.execute(sql: """
                INSERT INTO cameraSighting (serial, unit, gatewayId, lastRecordedAt, lastReceiptedAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (serial) DO UPDATE SET
                    unit = CASE WHEN excluded.lastRecordedAt >= lastRecordedAt THEN excluded.unit ELSE unit END,
                    gatewayId = CASE WHEN excluded.lastRecordedAt >= lastRecordedAt THEN excluded.gatewayId ELSE gatewayId END,
                    lastRecordedAt = max(lastRecordedAt, excluded.lastRecordedAt),
                    lastReceiptedAt = max(lastReceiptedAt, excluded.lastReceiptedAt)
                """, arguments: [serial, sighting.unit, gatewayId, sighting.lastRecordedAt, committedAt])
        }
        for late in facts.late {
            try db.execute(sql: """
                INSERT OR IGNORE INTO lateItem (batchId, position, month, unit, kind, officer, camera, recordedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [batchId, late.position, late.month, late.unit, late.kind, late.officer, late.camera, late.recordedAt])
        }
    }

    func recordBacklog(gatewayId: String, backlog: GatewayBacklog, reportedAt: String, at date: Date) async throws {
        let byMonth = String(decoding: try WireCoding.encoder.encode(backlog.byMonth), as: UTF8.self)
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO gatewayBacklog (gatewayId, unit, reportedAt, items, bytes, oldestRecordedAt, byMonth, receivedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (gatewayId) DO UPDATE SET unit = excluded.unit, reportedAt = excluded.reportedAt, items = excluded.items,
                    bytes = excluded.bytes, oldestRecordedAt = excluded.oldestRecordedAt, byMonth = excluded.byMonth,
                    receivedAt = excluded.receivedAt
                WHERE excluded.reportedAt > gatewayBacklog.reportedAt
                """, arguments: [gatewayId, backlog.unit, reportedAt, backlog.items, backlog.bytes, backlog.oldestRecordedAt, byMonth, date])
        }
    }

    func reportTallies(month: String) async throws -> [ReportTallyRow] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM reportTally WHERE month = ? ORDER BY unit, kind, documentType", arguments: [month]).map { row in
                ReportTallyRow(unit: row["unit"], kind: row["kind"], documentType: row["documentType"],
                               tally: ReportFacts.Tally(items: row["items"], seconds: row["seconds"], flagged: row["flagged"], late: row["late"]))
            }
        }
    }

    func reportMonths() async throws -> [String] {
        try await database.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT month FROM reportTally ORDER BY month DESC") }
    }

    func gatewayBacklogs() async throws -> [GatewayBacklog] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT gatewayBacklog.* FROM gatewayBacklog JOIN gateway ON gateway.id = gatewayBacklog.gatewayId WHERE gateway.state <> 'revoked'
                """).map { row in
                GatewayBacklog(items: row["items"], bytes: row["bytes"], oldestRecordedAt: row["oldestRecordedAt"],
                               byMonth: (try? WireCoding.decoder.decode([String: Int].self, from: Data((row["byMonth"] as String).utf8))) ?? [:],
                               unit: row["unit"])
            }
        }
    }

    func gatewayReconciliation() async throws -> [GatewayReconciliation] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT gateway.name, gateway.state, gateway.lastSeenAt,
                       (SELECT max(committedAt) FROM batch WHERE gatewayId = gateway.id AND state = 'committed') AS lastCommittedAt,
                       (SELECT count(*) FROM batch WHERE gatewayId = gateway.id AND state = 'open') AS openBatches,
                       (SELECT count(*) FROM batchItem JOIN batch ON batch.id = batchItem.batchId
                        WHERE batch.gatewayId = gateway.id AND batch.state = 'open') AS openItems,
                       gatewayBacklog.unit AS backlogUnit, gatewayBacklog.reportedAt, gatewayBacklog.items, gatewayBacklog.bytes,
                       gatewayBacklog.oldestRecordedAt, gatewayBacklog.byMonth
                FROM gateway LEFT JOIN gatewayBacklog ON gatewayBacklog.gatewayId = gateway.id ORDER BY gateway.name
                """).map { row in
                var backlog: GatewayBacklog?
                if let byMonth = row["byMonth"] as String? {
                    backlog = GatewayBacklog(items: row["items"], bytes: row["bytes"], oldestRecordedAt: row["oldestRecordedAt"],
                                             byMonth: (try? WireCoding.decoder.decode([String: Int].self, from: Data(byMonth.utf8))) ?? [:],
                                             unit: row["backlogUnit"])
                }
                return GatewayReconciliation(name: row["name"], state: GatewayRecord.State(rawValue: row["state"]) ?? .revoked,
                                             lastSeenAt: row["lastSeenAt"], lastCommittedAt: row["lastCommittedAt"],
                                             openBatches: row["openBatches"], openItems: row["openItems"], backlog: backlog,
                                             backlogReportedAt: row["reportedAt"])
            }
        }
    }

    func cameraSightings() async throws -> [CameraSightingRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT cameraSighting.*, gateway.name AS gatewayName FROM cameraSighting JOIN gateway ON gateway.id = cameraSighting.gatewayId
                ORDER BY lastRecordedAt
                """).map { row in
                CameraSightingRecord(serial: row["serial"], unit: row["unit"], gatewayName: row["gatewayName"],
                                     lastRecordedAt: row["lastRecordedAt"], lastReceiptedAt: row["lastReceiptedAt"])
            }
        }
    }

    func lateItems(month: String, limit: Int) async throws -> (total: Int, items: [LateItemRecord]) {
        try await database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM lateItem WHERE month = ?", arguments: [month]) ?? 0
            let items = try Row.fetchAll(db, sql: """
                SELECT lateItem.*, batch.committedAt, gateway.name AS gatewayName FROM lateItem
                JOIN batch ON batch.id = lateItem.batchId JOIN gateway ON gateway.id = batch.gatewayId
                WHERE lateItem.month = ? ORDER BY lateItem.recordedAt, lateItem.batchId, lateItem.position LIMIT ?
                """, arguments: [month, limit]).map { row in
                LateItemRecord(batchId: row["batchId"], position: row["position"], gatewayName: row["gatewayName"], unit: row["unit"],
                               kind: row["kind"], officer: row["officer"], camera: row["camera"], recordedAt: row["recordedAt"],
                               committedAt: row["committedAt"])
            }
            return (total, items)
        }
    }
}
