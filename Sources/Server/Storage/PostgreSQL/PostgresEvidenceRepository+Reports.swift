import Foundation
import Logging
import PostgresNIO
import SyncProtocol

extension PostgresEvidenceRepository {
    /// Adds the committed batch's items to the reports' counts, cameras and late items, in the
    /// commit's transaction (and in the migration that counts older batches); one statement each.
    static func storeReportFacts(batchId: String, gatewayId: String, committedAt: Date, _ connection: PostgresConnection,
                                 _ logger: Logger) async throws {
        let rows = try await connection.query("""
            SELECT position, kind, metadata::text, withdrawn FROM batch_item WHERE batch_id = \(batchId)
            """, logger: logger).collect()
        let items = try rows.map { row in
            let (position, kind, metadata, withdrawn) = try row.decode((Int, String, String, Bool).self)
            return ReportFacts.Item(position: position, kind: kind,
                                    metadata: (try? WireCoding.decoder.decode([String: String].self, from: Data(metadata.utf8))) ?? [:],
                                    withdrawn: withdrawn)
        }
        let facts = ReportFacts(items: items, committedAt: committedAt)
        if !facts.tallies.isEmpty {
            let keys = Array(facts.tallies.keys)
            let tallies = keys.map { facts.tallies[$0] ?? ReportFacts.Tally() }
            try await connection.query("""
                INSERT INTO report_tally (month, unit, kind, document_type, items, seconds, flagged, late)
                SELECT * FROM unnest(\(keys.map(\.month)), \(keys.map(\.unit)), \(keys.map(\.kind)), \(keys.map(\.documentType)),
                                     \(tallies.map { Int64($0.items) }), \(tallies.map(\.seconds)), \(tallies.map { Int64($0.flagged) }),
                                     \(tallies.map { Int64($0.late) }))
                ON CONFLICT (month, unit, kind, document_type) DO UPDATE SET items = report_tally.items + excluded.items,
                    seconds = report_tally.seconds + excluded.seconds, flagged = report_tally.flagged + excluded.flagged,
                    late = report_tally.late + excluded.late
                """, logger: logger)
        }
        if !facts.cameras.isEmpty {
            let serials = Array(facts.cameras.keys).sorted()
            let sightings = serials.map { facts.cameras[$0]! }
            try await connection.query("""
                INSERT INTO camera_sighting (serial, unit, gateway_id, last_recorded_at, last_receipted_at)
                SELECT serial, unit, \(gatewayId), recorded, \(committedAt) FROM unnest(\(serials), \(sightings.map(\.unit)),
                    \(sightings.map(\.lastRecordedAt))) AS sighting (serial, unit, recorded)
                ON CONFLICT (serial) DO UPDATE SET
                    unit = CASE WHEN excluded.last_recorded_at >= camera_sighting.last_recorded_at THEN excluded.unit ELSE camera_sighting.unit END,
                    gateway_id = CASE WHEN excluded.last_recorded_at >= camera_sighting.last_recorded_at
                                      THEN excluded.gateway_id ELSE camera_sighting.gateway_id END,
                    last_recorded_at = greatest(camera_sighting.last_recorded_at, excluded.last_recorded_at),
                    last_receipted_at = greatest(camera_sighting.last_receipted_at, excluded.last_receipted_at)
                """, logger: logger)
        }
        if !facts.late.isEmpty {
            let late = facts.late
            try await connection.query("""
                INSERT INTO late_item (batch_id, position, month, unit, kind, officer, camera, recorded_at)
                SELECT \(batchId), position, month, unit, kind, nullif(officer, ''), nullif(camera, ''), recorded
                FROM unnest(\(late.map(\.position)), \(late.map(\.month)), \(late.map(\.unit)), \(late.map(\.kind)),
                            \(late.map { $0.officer ?? "" }), \(late.map { $0.camera ?? "" }), \(late.map(\.recordedAt)))
                     AS late (position, month, unit, kind, officer, camera, recorded)
                ON CONFLICT (batch_id, position) DO NOTHING
                """, logger: logger)
        }
    }

    func recordBacklog(gatewayId: String, backlog: GatewayBacklog, reportedAt: String, at date: Date) async throws {
        let byMonth = String(decoding: try WireCoding.encoder.encode(backlog.byMonth), as: UTF8.self)
        try await database.client.query("""
            INSERT INTO gateway_backlog (gateway_id, unit, reported_at, items, bytes, oldest_recorded_at, by_month, received_at)
            VALUES (\(gatewayId), \(backlog.unit), \(reportedAt), \(Int64(backlog.items)), \(backlog.bytes), \(backlog.oldestRecordedAt),
                    \(byMonth), \(date))
            ON CONFLICT (gateway_id) DO UPDATE SET unit = excluded.unit, reported_at = excluded.reported_at, items = excluded.items,
                bytes = excluded.bytes, oldest_recorded_at = excluded.oldest_recorded_at, by_month = excluded.by_month,
                received_at = excluded.received_at
            WHERE excluded.reported_at > gateway_backlog.reported_at
            """, logger: logger)
    }

    func reportTallies(month: String) async throws -> [ReportTallyRow] {
        try await database.client.query("""
            SELECT unit, kind, document_type, items, seconds, flagged, late FROM report_tally WHERE month = \(month)
            ORDER BY unit, kind, document_type
            """, logger: logger).collect().map { row in
            let (unit, kind, documentType, items, seconds, flagged, late) = try row.decode((String, String, String, Int64, Double, Int64, Int64).self)
            return ReportTallyRow(unit: unit, kind: kind, documentType: documentType,
                                  tally: ReportFacts.Tally(items: Int(items), seconds: seconds, flagged: Int(flagged), late: Int(late)))
        }
    }

    func reportMonths() async throws -> [String] {
        try await database.client.query("SELECT DISTINCT month FROM report_tally ORDER BY month DESC", logger: logger).collect()
            .map { try $0.decode(String.self) }
    }

    func gatewayBacklogs() async throws -> [GatewayBacklog] {
        try await database.client.query("""
            SELECT gateway_backlog.items, gateway_backlog.bytes, gateway_backlog.oldest_recorded_at, gateway_backlog.by_month, gateway_backlog.unit
            FROM gateway_backlog JOIN gateway ON gateway.id = gateway_backlog.gateway_id WHERE gateway.state <> 'revoked'
            """, logger: logger).collect().map { row in
            let (items, bytes, oldest, byMonth, unit) = try row.decode((Int64, Int64, String?, String, String?).self)
            return GatewayBacklog(items: Int(items), bytes: bytes, oldestRecordedAt: oldest,
                                  byMonth: (try? WireCoding.decoder.decode([String: Int].self, from: Data(byMonth.utf8))) ?? [:], unit: unit)
        }
    }

    func gatewayReconciliation() async throws -> [GatewayReconciliation] {
        try await database.client.query("""
            SELECT gateway.name, gateway.state, gateway.last_seen_at,
                   (SELECT max(committed_at) FROM batch WHERE gateway_id = gateway.id AND state = 'committed'),
                   (SELECT count(*) FROM batch WHERE gateway_id = gateway.id AND state = 'open'),
                   (SELECT count(*) FROM batch_item JOIN batch ON batch.id = batch_item.batch_id
                    WHERE batch.gateway_id = gateway.id AND batch.state = 'open'),
                   gateway_backlog.unit, gateway_backlog.reported_at, gateway_backlog.items, gateway_backlog.bytes,
                   gateway_backlog.oldest_recorded_at, gateway_backlog.by_month
            FROM gateway LEFT JOIN gateway_backlog ON gateway_backlog.gateway_id = gateway.id ORDER BY gateway.name
            """, logger: logger).collect().map { row in
            let columns = row.makeRandomAccess()
            var backlog: GatewayBacklog?
            if let byMonth = try columns[11].decode(String?.self) {
                backlog = GatewayBacklog(items: Int(try columns[8].decode(Int64.self)), bytes: try columns[9].decode(Int64.self),
                                         oldestRecordedAt: try columns[10].decode(String?.self),
                                         byMonth: (try? WireCoding.decoder.decode([String: Int].self, from: Data(byMonth.utf8))) ?? [:],
                                         unit: try columns[6].decode(String?.self))
            }
            return GatewayReconciliation(name: try columns[0].decode(String.self),
                                         state: GatewayRecord.State(rawValue: try columns[1].decode(String.self)) ?? .revoked,
                                         lastSeenAt: try columns[2].decode(Date?.self), lastCommittedAt: try columns[3].decode(Date?.self),
                                         openBatches: Int(try columns[4].decode(Int64.self)), openItems: Int(try columns[5].decode(Int64.self)),
                                         backlog: backlog, backlogReportedAt: try columns[7].decode(String?.self))
        }
    }

    func cameraSightings() async throws -> [CameraSightingRecord] {
        try await database.client.query("""
            SELECT camera_sighting.serial, camera_sighting.unit, gateway.name, camera_sighting.last_recorded_at, camera_sighting.last_receipted_at
            FROM camera_sighting JOIN gateway ON gateway.id = camera_sighting.gateway_id ORDER BY camera_sighting.last_recorded_at
            """, logger: logger).collect().map { row in
            let (serial, unit, gateway, recorded, receipted) = try row.decode((String, String, String, String, Date).self)
            return CameraSightingRecord(serial: serial, unit: unit, gatewayName: gateway, lastRecordedAt: recorded, lastReceiptedAt: receipted)
        }
    }

    func lateItems(month: String, limit: Int) async throws -> (total: Int, items: [LateItemRecord]) {
        let total = try await database.client.query("SELECT count(*) FROM late_item WHERE month = \(month)", logger: logger).collect()
            .first.map { try $0.decode(Int64.self) } ?? 0
        let items = try await database.client.query("""
            SELECT late_item.batch_id, late_item.position, gateway.name, late_item.unit, late_item.kind, late_item.officer, late_item.camera,
                   late_item.recorded_at, batch.committed_at
            FROM late_item JOIN batch ON batch.id = late_item.batch_id JOIN gateway ON gateway.id = batch.gateway_id
            WHERE late_item.month = \(month) ORDER BY late_item.recorded_at, late_item.batch_id, late_item.position LIMIT \(limit)
            """, logger: logger).collect().map { row in
            let (batchId, position, gateway, unit, kind, officer, camera, recorded, committed) =
                try row.decode((String, Int, String, String, String, String?, String?, String, Date).self)
            return LateItemRecord(batchId: batchId, position: position, gatewayName: gateway, unit: unit, kind: kind, officer: officer,
                                  camera: camera, recordedAt: recorded, committedAt: committed)
        }
        return (Int(total), items)
    }
}
