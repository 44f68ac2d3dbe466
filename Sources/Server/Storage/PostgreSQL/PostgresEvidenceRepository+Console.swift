import Foundation
import PostgresNIO

extension PostgresEvidenceRepository {
    func createConsoleUser(name: String, role: ConsoleRole, passwordHash: String, at: Date) async throws -> ConsoleUserRecord {
        let user = ConsoleUserRecord(id: UUID().uuidString.lowercased(), name: name, role: role, passwordHash: passwordHash,
                                     createdAt: at, passwordChangedAt: at, disabledAt: nil)
        let inserted = try await database.client.query("""
            INSERT INTO console_user (id, name, role, password_hash, created_at, password_changed_at)
            VALUES (\(user.id), \(name), \(role.rawValue), \(passwordHash), \(at), \(at))
            ON CONFLICT (name) DO NOTHING RETURNING id
            """, logger: logger).collect()
        guard !inserted.isEmpty else { throw ConsoleAccountError.duplicateName(name) }
        return user
    }

    func consoleUsers() async throws -> [ConsoleUserRecord] {
        try await database.client.query("SELECT * FROM console_user ORDER BY name", logger: logger).collect().map(Self.consoleUser(from:))
    }

    func consoleUser(name: String) async throws -> ConsoleUserRecord? {
        try await database.client.query("SELECT * FROM console_user WHERE name = \(name)", logger: logger).collect().first
            .map(Self.consoleUser(from:))
    }

    func disableConsoleUser(name: String, at: Date) async throws -> ConsoleUserRecord? {
        try await database.transaction { connection, logger in
            let rows = try await connection.query("""
                UPDATE console_user SET disabled_at = coalesce(disabled_at, \(at)) WHERE name = \(name) RETURNING *
                """, logger: logger).collect()
            return try await Self.endingSessions(of: rows.first.map(Self.consoleUser(from:)), connection, logger)
        }
    }

    func setConsolePassword(name: String, passwordHash: String, at: Date) async throws -> ConsoleUserRecord? {
        try await database.transaction { connection, logger in
            let rows = try await connection.query("""
                UPDATE console_user SET password_hash = \(passwordHash), password_changed_at = \(at) WHERE name = \(name) RETURNING *
                """, logger: logger).collect()
            return try await Self.endingSessions(of: rows.first.map(Self.consoleUser(from:)), connection, logger)
        }
    }

    func setConsoleRole(name: String, role: ConsoleRole) async throws -> ConsoleUserRecord? {
        try await database.transaction { connection, logger in
            let rows = try await connection.query("""
                UPDATE console_user SET role = \(role.rawValue) WHERE name = \(name) RETURNING *
                """, logger: logger).collect()
            return try await Self.endingSessions(of: rows.first.map(Self.consoleUser(from:)), connection, logger)
        }
    }

    private static func endingSessions(of user: ConsoleUserRecord?, _ connection: PostgresConnection, _ logger: Logger) async throws -> ConsoleUserRecord? {
        guard let user else { return nil }
        try await connection.query("DELETE FROM console_session WHERE user_id = \(user.id)", logger: logger)
        return user
    }

    func createConsoleSession(_ session: ConsoleSessionRecord) async throws {
        try await database.client.query("""
            INSERT INTO console_session (token_hash, user_id, csrf_token, created_at, last_seen_at, address)
            VALUES (\(session.tokenHash), \(session.userId), \(session.csrfToken), \(session.createdAt), \(session.lastSeenAt), \(session.address))
            """, logger: logger)
    }

    func consoleSession(tokenHash: String) async throws -> (ConsoleSessionRecord, ConsoleUserRecord)? {
        let rows = try await database.client.query("""
            SELECT s.token_hash, s.user_id, s.csrf_token, s.created_at AS session_created_at, s.last_seen_at, s.address, u.*
            FROM console_session s JOIN console_user u ON u.id = s.user_id WHERE s.token_hash = \(tokenHash)
            """, logger: logger).collect()
        guard let row = rows.first else { return nil }
        let columns = row.makeRandomAccess()
        let session = ConsoleSessionRecord(tokenHash: try columns["token_hash"].decode(String.self), userId: try columns["user_id"].decode(String.self),
                                           csrfToken: try columns["csrf_token"].decode(String.self),
                                           createdAt: try columns["session_created_at"].decode(Date.self),
                                           lastSeenAt: try columns["last_seen_at"].decode(Date.self), address: try columns["address"].decode(String.self))
        return (session, try Self.consoleUser(from: row))
    }

    func touchConsoleSession(tokenHash: String, at: Date) async throws {
        try await database.client.query("UPDATE console_session SET last_seen_at = \(at) WHERE token_hash = \(tokenHash)", logger: logger)
    }

    func deleteConsoleSession(tokenHash: String) async throws {
        try await database.client.query("DELETE FROM console_session WHERE token_hash = \(tokenHash)", logger: logger)
    }

    func deleteConsoleSessions(lastSeenBefore: Date, createdBefore: Date) async throws -> Int {
        try await database.client.query("""
            DELETE FROM console_session WHERE last_seen_at < \(lastSeenBefore) OR created_at < \(createdBefore) RETURNING 1
            """, logger: logger).collect().count
    }

    /// The advisory lock that orders appends to the access log across instances.
    static let accessLogLockKey: Int64 = 0x6667_6163_6365_7373  // "fgaccess"

    func appendAccessEvent(at: Date, actor: String, address: String, action: AccessAction, subject: String,
                           detail: String) async throws -> AccessEvent {
        try await database.transaction { connection, logger in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.accessLogLockKey))", logger: logger)
            let last = try await connection.query("SELECT seq, hash FROM access_event ORDER BY seq DESC LIMIT 1", logger: logger).collect()
                .first.map { row in
                    let (seq, hash) = try row.decode((Int64, String).self)
                    return (seq: seq, hash: hash)
                }
            let event = AccessEvent.next(after: last, at: at, actor: actor, address: address, action: action, subject: subject, detail: detail)
            try await connection.query("""
                INSERT INTO access_event (seq, at, actor, address, action, subject, detail, previous_hash, hash)
                VALUES (\(event.seq), \(event.at), \(event.actor), \(event.address), \(event.action.rawValue), \(event.subject),
                        \(event.detail), \(event.previousHash), \(event.hash))
                """, logger: logger)
            return event
        }
    }

    func accessEvents(after seq: Int64, limit: Int) async throws -> [AccessEvent] {
        try await database.client.query("SELECT * FROM access_event WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)", logger: logger)
            .collect().map(Self.accessEvent(from:))
    }

    func latestAccessEvents(before seq: Int64?, limit: Int) async throws -> [AccessEvent] {
        try await database.client.query("""
            SELECT * FROM access_event WHERE seq < \(seq ?? Int64.max) ORDER BY seq DESC LIMIT \(limit)
            """, logger: logger).collect().map(Self.accessEvent(from:))
    }

    private static func accessEvent(from row: PostgresRow) throws -> AccessEvent {
        let row = row.makeRandomAccess()
        let seq = try row["seq"].decode(Int64.self)
        let actionText = try row["action"].decode(String.self)
        guard let action = AccessAction(rawValue: actionText) else {
            throw RepositoryError.corrupt("access log entry \(seq) has unknown action \(actionText)")
        }
        return AccessEvent(seq: seq, at: try row["at"].decode(String.self), actor: try row["actor"].decode(String.self),
                           address: try row["address"].decode(String.self), action: action, subject: try row["subject"].decode(String.self),
                           detail: try row["detail"].decode(String.self), previousHash: try row["previous_hash"].decode(String.self),
                           hash: try row["hash"].decode(String.self))
    }

    func searchItems(_ query: ItemQuery, limit: Int, offset: Int) async throws -> [FoundItem] {
        var conditions = ["batch.state = 'committed'", "NOT item.withdrawn"]
        var binds = PostgresBindings()
        func bind(_ value: String) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        // Each key matches an index of migration 1 (metadata ->> key), the unit one of 12.
        for (key, value) in [("officer", query.officer), ("camera", query.camera), ("unit", query.unit)] {
            if let value { conditions.append("item.metadata ->> '\(key)' = \(bind(value))") }
        }
        if let caseNumber = query.caseNumber {
            let placeholder = bind(caseNumber)
            // The candidates come from the two indexes (the gateway's case, the bound one); the
            // bound case, when there is one, then decides.
            conditions.append("""
                (item.batch_id, item.position) IN (SELECT batch_id, position FROM batch_item WHERE metadata ->> 'case' = \(placeholder)
                    UNION SELECT batch_id, position FROM item_review WHERE case_number = \(placeholder))
                AND coalesce(review.case_number, item.metadata ->> 'case') = \(placeholder)
                """)
        }
        switch query.category {
        case .none: break
        case .uncategorised?: conditions.append("review.category IS NULL")
        case .code(let code)?: conditions.append("review.category = \(bind(code))")
        }
        if let gateway = query.gateway { conditions.append("gateway.name = \(bind(gateway))") }
        if let kind = query.kind { conditions.append("item.kind = \(bind(kind.rawValue))") }
        let recorded = "coalesce(item.metadata ->> 'startedAt', item.metadata ->> 'printedAt', item.metadata ->> 'capturedAt', item.metadata ->> 'collectedAt')"
        if let from = query.fromText { conditions.append("\(recorded) >= \(bind(from))") }
        if let until = query.untilText { conditions.append("\(recorded) < \(bind(until))") }
        if query.flaggedOnly { conditions.append("coalesce(item.metadata ->> 'flags', '') <> ''") }
        if query.importantOnly { conditions.append("item.metadata ->> 'important' = 'true'") }
        // A search by days reads the days' index in order; any other, the batches' commit order.
        let order = query.from != nil || query.until != nil ? recorded : "batch.committed_at"
        let sql = """
            SELECT item.batch_id, item.position, item.sha256, item.size, item.kind, item.metadata::text AS metadata, item.custody,
                   item.withdrawn, batch.committed_at, gateway.name AS gateway_name, review.category AS review_category,
                   review.case_number AS review_case, coalesce(review.withheld, false) AS review_withheld,
                   coalesce(review.held, false) AS review_held, retention.state AS retention_state, retention.purge_after,
                   retention.deleted_at, category.retention_days
            FROM batch_item AS item JOIN batch ON batch.id = item.batch_id JOIN gateway ON gateway.id = batch.gateway_id
            LEFT JOIN item_review AS review ON review.batch_id = item.batch_id AND review.position = item.position
            LEFT JOIN item_retention AS retention ON retention.batch_id = item.batch_id AND retention.position = item.position
            LEFT JOIN category ON category.code = review.category
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(order) \(query.oldestFirst ? "ASC" : "DESC"), item.batch_id, item.position LIMIT \(limit) OFFSET \(offset)
            """
        return try await database.client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().map(Self.foundItem(from:))
    }

    func consoleItem(batchId: String, position: Int) async throws -> FoundItem? {
        try await database.client.query("""
            SELECT item.batch_id, item.position, item.sha256, item.size, item.kind, item.metadata::text AS metadata, item.custody,
                   item.withdrawn, batch.committed_at, gateway.name AS gateway_name, review.category AS review_category,
                   review.case_number AS review_case, coalesce(review.withheld, false) AS review_withheld,
                   coalesce(review.held, false) AS review_held, retention.state AS retention_state, retention.purge_after,
                   retention.deleted_at, category.retention_days
            FROM batch_item AS item JOIN batch ON batch.id = item.batch_id JOIN gateway ON gateway.id = batch.gateway_id
            LEFT JOIN item_review AS review ON review.batch_id = item.batch_id AND review.position = item.position
            LEFT JOIN item_retention AS retention ON retention.batch_id = item.batch_id AND retention.position = item.position
            LEFT JOIN category ON category.code = review.category
            WHERE batch.state = 'committed' AND NOT item.withdrawn AND item.batch_id = \(batchId) AND item.position = \(position)
            """, logger: logger).collect().first.map(Self.foundItem(from:))
    }

    func categories() async throws -> [EvidenceCategory] {
        try await database.client.query("SELECT code, zh, en, retention_days FROM category ORDER BY position", logger: logger).collect().map { row in
            let (code, zh, en, days) = try row.decode((String, String, String, Int?).self)
            return EvidenceCategory(code: code, zh: zh, en: en, retentionDays: days)
        }
    }

    func reviewItem(batchId: String, position: Int, change: ItemReviewChange, actor: String, at: Date,
                    chainHash: String) async throws -> [ServerCustodyEvent] {
        try await database.transaction { connection, logger in
            // The item's row, locked: two reviewers on two instances take turns on one item's chain.
            _ = try await connection.query("""
                SELECT 1 FROM batch_item WHERE batch_id = \(batchId) AND position = \(position) FOR UPDATE
                """, logger: logger).collect()
            let before = try await connection.query("""
                SELECT category, case_number, withheld, held FROM item_review WHERE batch_id = \(batchId) AND position = \(position)
                """, logger: logger).collect().first.map { try $0.decode((String?, String?, Bool, Bool).self) }
            let last = try await connection.query("""
                SELECT seq, hash FROM item_event WHERE batch_id = \(batchId) AND position = \(position) ORDER BY seq DESC LIMIT 1
                """, logger: logger).collect().first.map { try $0.decode((Int64, String).self) }
            var seq = last?.0 ?? 0
            var previousHash = last?.1 ?? chainHash
            var events: [ServerCustodyEvent] = []
            for (kind, details) in ItemReviewDiff.events(before: (before?.0, before?.1, before?.2 ?? false, before?.3 ?? false), after: change) {
                seq += 1
                let event = ServerCustodyEvent.next(seq: seq, previousHash: previousHash, at: at, actor: actor, kind: kind, details: details)
                try await connection.query("""
                    INSERT INTO item_event (batch_id, position, seq, at, actor, kind, details, previous_hash, hash)
                    VALUES (\(batchId), \(position), \(event.seq), \(event.at), \(event.actor), \(event.kind.rawValue), \(event.details),
                            \(event.previousHash), \(event.hash))
                    """, logger: logger)
                previousHash = event.hash
                events.append(event)
            }
            guard !events.isEmpty else { return events }
            try await connection.query("""
                INSERT INTO item_review (batch_id, position, category, case_number, withheld, held, reviewed_at, reviewed_by)
                VALUES (\(batchId), \(position), \(change.category), \(change.caseNumber), \(change.withheld), \(change.held), \(at), \(actor))
                ON CONFLICT (batch_id, position) DO UPDATE SET category = excluded.category, case_number = excluded.case_number,
                    withheld = excluded.withheld, held = excluded.held, reviewed_at = excluded.reviewed_at, reviewed_by = excluded.reviewed_by
                """, logger: logger)
            return events
        }
    }

    func itemReview(batchId: String, position: Int) async throws -> ItemReviewRecord? {
        try await database.client.query("""
            SELECT category, withheld, held, case_number, reviewed_at, reviewed_by FROM item_review WHERE batch_id = \(batchId) AND position = \(position)
            """, logger: logger).collect().first.map { row in
            let (category, withheld, held, caseNumber, at, by) = try row.decode((String?, Bool, Bool, String?, Date, String).self)
            return ItemReviewRecord(category: category, withheld: withheld, held: held, caseNumber: caseNumber, reviewedAt: at, reviewedBy: by)
        }
    }

    func serverCustody(batchId: String, position: Int) async throws -> [ServerCustodyEvent] {
        try await database.client.query("""
            SELECT seq, at, actor, kind, details, previous_hash, hash FROM item_event
            WHERE batch_id = \(batchId) AND position = \(position) ORDER BY seq
            """, logger: logger).collect().map { row in
            let (seq, at, actor, kindText, details, previousHash, hash) = try row.decode((Int64, String, String, String, String, String, String).self)
            guard let kind = ServerCustodyKind(rawValue: kindText) else {
                throw RepositoryError.corrupt("server custody event of batch \(batchId) item \(position) has unknown kind \(kindText)")
            }
            return ServerCustodyEvent(seq: seq, at: at, actor: actor, kind: kind, details: details, previousHash: previousHash, hash: hash)
        }
    }

    func retentionCandidates() async throws -> [RetentionCandidate] {
        try await database.client.query("""
            SELECT item.batch_id, item.position, item.sha256, batch.committed_at, r.category, c.retention_days,
                   item.metadata ->> 'case', r.case_number, coalesce(item.metadata ->> 'important', '') = 'true', r.held, t.state, t.purge_after,
                   coalesce(item.custody::jsonb -> -1 ->> 'hash', \(AccessEvent.genesisHash))
            FROM batch_item AS item JOIN batch ON batch.id = item.batch_id
            JOIN item_review r ON r.batch_id = item.batch_id AND r.position = item.position
            LEFT JOIN category c ON c.code = r.category
            LEFT JOIN item_retention t ON t.batch_id = item.batch_id AND t.position = item.position
            WHERE batch.state = 'committed' AND NOT item.withdrawn AND r.category IS NOT NULL AND (t.state IS NULL OR t.state = 'recycled')
            ORDER BY batch.committed_at, item.batch_id, item.position
            """, logger: logger).collect().map { row in
            let columns = row.makeRandomAccess()
            return RetentionCandidate(batchId: try columns[0].decode(String.self), position: try columns[1].decode(Int.self),
                                      sha256: try columns[2].decode(String.self), committedAt: try columns[3].decode(Date.self),
                                      category: try columns[4].decode(String?.self), retentionDays: try columns[5].decode(Int?.self),
                                      metadataCase: try columns[6].decode(String?.self), reviewedCase: try columns[7].decode(String?.self),
                                      important: try columns[8].decode(Bool.self), held: try columns[9].decode(Bool.self),
                                      state: try columns[10].decode(String?.self).flatMap(RetentionState.init(rawValue:)),
                                      purgeAfter: try columns[11].decode(Date?.self), gatewayChainHash: try columns[12].decode(String.self))
        }
    }

    func applyRetention(_ step: RetentionStep, to candidate: RetentionCandidate, actor: String,
                        at: Date) async throws -> (event: ServerCustodyEvent, removeBytes: Bool) {
        try await database.transaction { connection, logger in
            let (batchId, position) = (candidate.batchId, candidate.position)
            // The item's row, locked: a review or another run on another instance waits its turn.
            _ = try await connection.query("SELECT 1 FROM batch_item WHERE batch_id = \(batchId) AND position = \(position) FOR UPDATE",
                                           logger: logger).collect()
            let current = try await connection.query("SELECT state FROM item_retention WHERE batch_id = \(batchId) AND position = \(position)",
                                                     logger: logger).collect().first.map { try $0.decode(String.self) }
            var removeBytes = false
            switch step {
            case .recycle(let purgeAfter):
                guard current == nil else { throw RetentionConflict.stateChanged }
                try await connection.query("""
                    INSERT INTO item_retention (batch_id, position, state, recycled_at, purge_after)
                    VALUES (\(batchId), \(position), 'recycled', \(at), \(purgeAfter))
                    """, logger: logger)
            case .restore:
                guard current == RetentionState.recycled.rawValue else { throw RetentionConflict.stateChanged }
                try await connection.query("DELETE FROM item_retention WHERE batch_id = \(batchId) AND position = \(position)", logger: logger)
            case .delete:
                guard current == RetentionState.recycled.rawValue else { throw RetentionConflict.stateChanged }
                try await connection.query("""
                    UPDATE item_retention SET state = 'deleted', deleted_at = \(at) WHERE batch_id = \(batchId) AND position = \(position)
                    """, logger: logger)
                // Serialises with uploads and commits of the same blob: its row is locked first.
                _ = try await connection.query("SELECT 1 FROM blob WHERE sha256 = \(candidate.sha256) FOR UPDATE", logger: logger).collect()
                let holders = try await connection.query("""
                    SELECT count(*) FROM batch_item i LEFT JOIN item_retention t ON t.batch_id = i.batch_id AND t.position = i.position
                    WHERE i.sha256 = \(candidate.sha256) AND (t.state IS NULL OR t.state <> 'deleted')
                    """, logger: logger).collect().first?.decode(Int64.self) ?? 1
                if holders == 0 {
                    try await connection.query("DELETE FROM possession WHERE sha256 = \(candidate.sha256)", logger: logger)
                    try await connection.query("DELETE FROM blob WHERE sha256 = \(candidate.sha256)", logger: logger)
                    removeBytes = true
                }
            }
            let last = try await connection.query("""
                SELECT seq, hash FROM item_event WHERE batch_id = \(batchId) AND position = \(position) ORDER BY seq DESC LIMIT 1
                """, logger: logger).collect().first.map { try $0.decode((Int64, String).self) }
            let event = ServerCustodyEvent.next(seq: (last?.0 ?? 0) + 1, previousHash: last?.1 ?? candidate.gatewayChainHash, at: at,
                                                actor: actor, kind: step.custodyKind, details: step.details)
            try await connection.query("""
                INSERT INTO item_event (batch_id, position, seq, at, actor, kind, details, previous_hash, hash)
                VALUES (\(batchId), \(position), \(event.seq), \(event.at), \(event.actor), \(event.kind.rawValue), \(event.details),
                        \(event.previousHash), \(event.hash))
                """, logger: logger)
            return (event, removeBytes)
        }
    }

    func createShare(_ share: ShareRecord, tokenHash: String) async throws {
        try await database.transaction { connection, logger in
            try await connection.query("""
                INSERT INTO share (id, token_hash, recipient, purpose, created_by, created_at, expires_at, allow_download)
                VALUES (\(share.id), \(tokenHash), \(share.recipient), \(share.purpose), \(share.createdBy), \(share.createdAt),
                        \(share.expiresAt), \(share.allowDownload))
                """, logger: logger)
            for (index, item) in share.items.enumerated() {
                try await connection.query("""
                    INSERT INTO share_item (share_id, ordinal, batch_id, position) VALUES (\(share.id), \(index), \(item.batchId), \(item.position))
                    """, logger: logger)
            }
        }
    }

    func shares(limit: Int) async throws -> [ShareRecord] {
        let rows = try await database.client.query("SELECT * FROM share ORDER BY created_at DESC LIMIT \(limit)", logger: logger).collect()
        var shares: [ShareRecord] = []
        for row in rows { shares.append(try await share(from: row)) }
        return shares
    }

    func share(tokenHash: String) async throws -> ShareRecord? {
        guard let row = try await database.client.query("SELECT * FROM share WHERE token_hash = \(tokenHash)", logger: logger).collect().first else {
            return nil
        }
        return try await share(from: row)
    }

    func revokeShare(id: String, at: Date) async throws -> ShareRecord? {
        guard let row = try await database.client.query("""
            UPDATE share SET revoked_at = coalesce(revoked_at, \(at)) WHERE id = \(id) RETURNING *
            """, logger: logger).collect().first else { return nil }
        return try await share(from: row)
    }

    private func share(from row: PostgresRow) async throws -> ShareRecord {
        let columns = row.makeRandomAccess()
        let id = try columns["id"].decode(String.self)
        let items = try await database.client.query("""
            SELECT batch_id, position FROM share_item WHERE share_id = \(id) ORDER BY ordinal
            """, logger: logger).collect().map { row in
            let (batchId, position) = try row.decode((String, Int).self)
            return ShareRecord.Item(batchId: batchId, position: position)
        }
        return ShareRecord(id: id, recipient: try columns["recipient"].decode(String.self), purpose: try columns["purpose"].decode(String.self),
                           createdBy: try columns["created_by"].decode(String.self), createdAt: try columns["created_at"].decode(Date.self),
                           expiresAt: try columns["expires_at"].decode(Date.self), allowDownload: try columns["allow_download"].decode(Bool.self),
                           revokedAt: try columns["revoked_at"].decode(Date?.self), items: items)
    }

    private static func foundItem(from row: PostgresRow) throws -> FoundItem {
        let columns = row.makeRandomAccess()
        return FoundItem(batchId: try columns["batch_id"].decode(String.self), gatewayName: try columns["gateway_name"].decode(String.self),
                         committedAt: try columns["committed_at"].decode(Date?.self), item: try item(from: row),
                         category: try columns["review_category"].decode(String?.self), reviewedCase: try columns["review_case"].decode(String?.self),
                         withheld: try columns["review_withheld"].decode(Bool.self), held: try columns["review_held"].decode(Bool.self),
                         retentionState: try columns["retention_state"].decode(String?.self).flatMap(RetentionState.init(rawValue:)),
                         purgeAfter: try columns["purge_after"].decode(Date?.self), deletedAt: try columns["deleted_at"].decode(Date?.self),
                         retentionDays: try columns["retention_days"].decode(Int?.self))
    }

    private static func consoleUser(from row: PostgresRow) throws -> ConsoleUserRecord {
        let row = row.makeRandomAccess()
        let name = try row["name"].decode(String.self)
        let roleText = try row["role"].decode(String.self)
        guard let role = ConsoleRole(rawValue: roleText) else {
            throw RepositoryError.corrupt("console user \(name) has unknown role \(roleText)")
        }
        return ConsoleUserRecord(id: try row["id"].decode(String.self), name: name, role: role,
                                 passwordHash: try row["password_hash"].decode(String.self), createdAt: try row["created_at"].decode(Date.self),
                                 passwordChangedAt: try row["password_changed_at"].decode(Date.self),
                                 disabledAt: try row["disabled_at"].decode(Date?.self))
    }
}
