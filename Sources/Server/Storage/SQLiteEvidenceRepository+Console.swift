import Foundation
import GRDB

extension SQLiteEvidenceRepository {
    func createConsoleUser(name: String, role: ConsoleRole, passwordHash: String, at: Date) async throws -> ConsoleUserRecord {
        let user = ConsoleUserRecord(id: UUID().uuidString.lowercased(), name: name, role: role, passwordHash: passwordHash,
                                     createdAt: at, passwordChangedAt: at, disabledAt: nil)
        try await database.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM consoleUser WHERE name = ?", arguments: [name]) != nil {
                throw ConsoleAccountError.duplicateName(name)
            }
            try db.execute(sql: """
                INSERT INTO consoleUser (id, name, role, passwordHash, createdAt, passwordChangedAt) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [user.id, name, role.rawValue, passwordHash, at, at])
        }
        return user
    }

    func consoleUsers() async throws -> [ConsoleUserRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM consoleUser ORDER BY name").map(Self.consoleUser(from:))
        }
    }

    func consoleUser(name: String) async throws -> ConsoleUserRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consoleUser WHERE name = ?", arguments: [name]).map(Self.consoleUser(from:))
        }
    }

    func disableConsoleUser(name: String, at: Date) async throws -> ConsoleUserRecord? {
        try await database.write { db in
            try db.execute(sql: "UPDATE consoleUser SET disabledAt = coalesce(disabledAt, ?) WHERE name = ?", arguments: [at, name])
            return try Self.endingSessions(of: name, db)
        }
    }

    func setConsolePassword(name: String, passwordHash: String, at: Date) async throws -> ConsoleUserRecord? {
        try await database.write { db in
            try db.execute(sql: "UPDATE consoleUser SET passwordHash = ?, passwordChangedAt = ? WHERE name = ?",
                           arguments: [passwordHash, at, name])
            return try Self.endingSessions(of: name, db)
        }
    }

    func setConsoleRole(name: String, role: ConsoleRole) async throws -> ConsoleUserRecord? {
        try await database.write { db in
            try db.execute(sql: "UPDATE consoleUser SET role = ? WHERE name = ?", arguments: [role.rawValue, name])
            return try Self.endingSessions(of: name, db)
        }
    }

    private static func endingSessions(of name: String, _ db: Database) throws -> ConsoleUserRecord? {
        guard let user = try Row.fetchOne(db, sql: "SELECT * FROM consoleUser WHERE name = ?", arguments: [name]).map(consoleUser(from:)) else {
            return nil
        }
        try db.execute(sql: "DELETE FROM consoleSession WHERE userId = ?", arguments: [user.id])
        return user
    }

    func createConsoleSession(_ session: ConsoleSessionRecord) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO consoleSession (tokenHash, userId, csrfToken, createdAt, lastSeenAt, address) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [session.tokenHash, session.userId, session.csrfToken, session.createdAt, session.lastSeenAt, session.address])
        }
    }

    func consoleSession(tokenHash: String) async throws -> (ConsoleSessionRecord, ConsoleUserRecord)? {
        try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM consoleSession WHERE tokenHash = ?", arguments: [tokenHash]),
                  let user = try Row.fetchOne(db, sql: "SELECT * FROM consoleUser WHERE id = ?", arguments: [row["userId"] as String]) else {
                return nil
            }
            let session = ConsoleSessionRecord(tokenHash: row["tokenHash"], userId: row["userId"], csrfToken: row["csrfToken"],
                                               createdAt: row["createdAt"], lastSeenAt: row["lastSeenAt"], address: row["address"])
            return (session, try Self.consoleUser(from: user))
        }
    }

    func touchConsoleSession(tokenHash: String, at: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE consoleSession SET lastSeenAt = ? WHERE tokenHash = ?", arguments: [at, tokenHash])
        }
    }

    func deleteConsoleSession(tokenHash: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM consoleSession WHERE tokenHash = ?", arguments: [tokenHash])
        }
    }

    func deleteConsoleSessions(lastSeenBefore: Date, createdBefore: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM consoleSession WHERE lastSeenAt < ? OR createdAt < ?", arguments: [lastSeenBefore, createdBefore])
            return db.changesCount
        }
    }

    func appendAccessEvent(at: Date, actor: String, address: String, action: AccessAction, subject: String,
                           detail: String) async throws -> AccessEvent {
        try await database.write { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM accessEvent ORDER BY seq DESC LIMIT 1")
                .map { (seq: $0["seq"] as Int64, hash: $0["hash"] as String) }
            let event = AccessEvent.next(after: last, at: at, actor: actor, address: address, action: action, subject: subject, detail: detail)
            try db.execute(sql: """
                INSERT INTO accessEvent (seq, at, actor, address, action, subject, detail, previousHash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [event.seq, event.at, event.actor, event.address, event.action.rawValue, event.subject, event.detail,
                                 event.previousHash, event.hash])
            return event
        }
    }

    func accessEvents(after seq: Int64, limit: Int) async throws -> [AccessEvent] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accessEvent WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
                .map(Self.accessEvent(from:))
        }
    }

    func latestAccessEvents(before seq: Int64?, limit: Int) async throws -> [AccessEvent] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accessEvent WHERE seq < ? ORDER BY seq DESC LIMIT ?", arguments: [seq ?? Int64.max, limit])
                .map(Self.accessEvent(from:))
        }
    }

    private static func accessEvent(from row: Row) throws -> AccessEvent {
        let actionText: String = row["action"]
        guard let action = AccessAction(rawValue: actionText) else {
            throw RepositoryError.corrupt("access log entry \(row["seq"] as Int64) has unknown action \(actionText)")
        }
        return AccessEvent(seq: row["seq"], at: row["at"], actor: row["actor"], address: row["address"], action: action,
                           subject: row["subject"], detail: row["detail"], previousHash: row["previousHash"], hash: row["hash"])
    }

    func searchItems(_ query: ItemQuery, limit: Int, offset: Int) async throws -> [FoundItem] {
        var conditions = ["batch.state = 'committed'", "NOT batchItem.withdrawn"]
        var arguments = StatementArguments()
        func equal(_ key: String, _ value: String?) {
            guard let value else { return }
            conditions.append("json_extract(batchItem.metadata, '$.\(key)') = ?")
            arguments += [value]
        }
        equal("officer", query.officer)
        equal("camera", query.camera)
        equal("unit", query.unit)
        if let caseNumber = query.caseNumber {
            // The candidates come from the two indexes (the gateway's case, the bound one); the
            // bound case, when there is one, then decides.
            conditions.append("""
                batchItem.rowid IN (SELECT rowid FROM batchItem WHERE json_extract(metadata, '$.case') = ?
                    UNION SELECT batchItem.rowid FROM itemReview JOIN batchItem USING (batchId, position) WHERE caseNumber = ?)
                AND coalesce(itemReview.caseNumber, json_extract(batchItem.metadata, '$.case')) = ?
                """)
            arguments += [caseNumber, caseNumber, caseNumber]
        }
        switch query.category {
        case .none: break
        case .uncategorised?: conditions.append("itemReview.category IS NULL")
        case .code(let code)?:
            conditions.append("itemReview.category = ?")
            arguments += [code]
        }
        if let gateway = query.gateway {
            conditions.append("gateway.name = ?")
            arguments += [gateway]
        }
        if let kind = query.kind {
            conditions.append("batchItem.kind = ?")
            arguments += [kind.rawValue]
        }
        let recorded = "coalesce(json_extract(batchItem.metadata, '$.startedAt'), json_extract(batchItem.metadata, '$.printedAt'), "
            + "json_extract(batchItem.metadata, '$.capturedAt'), json_extract(batchItem.metadata, '$.collectedAt'))"
        if let from = query.fromText {
            conditions.append("\(recorded) >= ?")
            arguments += [from]
        }
        if let until = query.untilText {
            conditions.append("\(recorded) < ?")
            arguments += [until]
        }
        if query.flaggedOnly { conditions.append("coalesce(json_extract(batchItem.metadata, '$.flags'), '') <> ''") }
        if query.importantOnly { conditions.append("json_extract(batchItem.metadata, '$.important') = 'true'") }
        arguments += [limit]
        arguments += [offset]
        // A search by days reads the days' index in order; any other, the batches' commit order.
        let order = query.from != nil || query.until != nil ? recorded : "batch.committedAt"
        let sql = """
            SELECT batchItem.*, batch.committedAt AS committedAt, gateway.name AS gatewayName,
                   itemReview.category AS reviewCategory, itemReview.caseNumber AS reviewCase,
                   coalesce(itemReview.withheld, 0) AS reviewWithheld, coalesce(itemReview.held, 0) AS reviewHeld,
                   itemRetention.state AS retentionState, itemRetention.purgeAfter AS purgeAfter, itemRetention.deletedAt AS deletedAt,
                   category.retentionDays AS retentionDays FROM batchItem
            JOIN batch ON batch.id = batchItem.batchId JOIN gateway ON gateway.id = batch.gatewayId
            LEFT JOIN itemReview ON itemReview.batchId = batchItem.batchId AND itemReview.position = batchItem.position
            LEFT JOIN itemRetention ON itemRetention.batchId = batchItem.batchId AND itemRetention.position = batchItem.position
            LEFT JOIN category ON category.code = itemReview.category
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(order) \(query.oldestFirst ? "ASC" : "DESC"), batchItem.batchId, batchItem.position LIMIT ? OFFSET ?
            """
        let statementArguments = arguments
        return try await database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map(Self.foundItem(from:))
        }
    }

    func consoleItem(batchId: String, position: Int) async throws -> FoundItem? {
        try await database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT batchItem.*, batch.committedAt AS committedAt, gateway.name AS gatewayName,
                       itemReview.category AS reviewCategory, itemReview.caseNumber AS reviewCase,
                   coalesce(itemReview.withheld, 0) AS reviewWithheld, coalesce(itemReview.held, 0) AS reviewHeld,
                   itemRetention.state AS retentionState, itemRetention.purgeAfter AS purgeAfter, itemRetention.deletedAt AS deletedAt,
                   category.retentionDays AS retentionDays FROM batchItem
                JOIN batch ON batch.id = batchItem.batchId JOIN gateway ON gateway.id = batch.gatewayId
                LEFT JOIN itemReview ON itemReview.batchId = batchItem.batchId AND itemReview.position = batchItem.position
                LEFT JOIN itemRetention ON itemRetention.batchId = batchItem.batchId AND itemRetention.position = batchItem.position
                LEFT JOIN category ON category.code = itemReview.category
                WHERE batch.state = 'committed' AND NOT batchItem.withdrawn AND batchItem.batchId = ? AND batchItem.position = ?
                """, arguments: [batchId, position]).map(Self.foundItem(from:))
        }
    }

    func categories() async throws -> [EvidenceCategory] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM category ORDER BY position").map { row in
                EvidenceCategory(code: row["code"], zh: row["zh"], en: row["en"], retentionDays: row["retentionDays"])
            }
        }
    }

    func reviewItem(batchId: String, position: Int, change: ItemReviewChange, actor: String, at: Date,
                    chainHash: String) async throws -> [ServerCustodyEvent] {
        try await database.write { db in
            let before = try Row.fetchOne(db, sql: "SELECT category, caseNumber, withheld, held FROM itemReview WHERE batchId = ? AND position = ?",
                                          arguments: [batchId, position])
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM itemEvent WHERE batchId = ? AND position = ? ORDER BY seq DESC LIMIT 1",
                                        arguments: [batchId, position])
            var seq: Int64 = last?["seq"] ?? 0
            var previousHash: String = last?["hash"] ?? chainHash
            var events: [ServerCustodyEvent] = []
            for (kind, details) in ItemReviewDiff.events(before: (before?["category"], before?["caseNumber"], before?["withheld"] ?? false, before?["held"] ?? false), after: change) {
                seq += 1
                let event = ServerCustodyEvent.next(seq: seq, previousHash: previousHash, at: at, actor: actor, kind: kind, details: details)
                try db.execute(sql: """
                    INSERT INTO itemEvent (batchId, position, seq, at, actor, kind, details, previousHash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [batchId, position, event.seq, event.at, event.actor, event.kind.rawValue, event.details, event.previousHash, event.hash])
                previousHash = event.hash
                events.append(event)
            }
            guard !events.isEmpty else { return events }
            try db.execute(sql: """
                INSERT INTO itemReview (batchId, position, category, caseNumber, withheld, held, reviewedAt, reviewedBy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (batchId, position) DO UPDATE SET category = excluded.category, caseNumber = excluded.caseNumber,
                    withheld = excluded.withheld, held = excluded.held, reviewedAt = excluded.reviewedAt, reviewedBy = excluded.reviewedBy
                """, arguments: [batchId, position, change.category, change.caseNumber, change.withheld, change.held, at, actor])
            return events
        }
    }

    func itemReview(batchId: String, position: Int) async throws -> ItemReviewRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM itemReview WHERE batchId = ? AND position = ?", arguments: [batchId, position]).map { row in
                ItemReviewRecord(category: row["category"], withheld: row["withheld"], held: row["held"], caseNumber: row["caseNumber"], reviewedAt: row["reviewedAt"],
                                 reviewedBy: row["reviewedBy"])
            }
        }
    }

    func serverCustody(batchId: String, position: Int) async throws -> [ServerCustodyEvent] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM itemEvent WHERE batchId = ? AND position = ? ORDER BY seq", arguments: [batchId, position])
                .map { row in
                    let kindText: String = row["kind"]
                    guard let kind = ServerCustodyKind(rawValue: kindText) else {
                        throw RepositoryError.corrupt("server custody event of batch \(batchId) item \(position) has unknown kind \(kindText)")
                    }
                    return ServerCustodyEvent(seq: row["seq"], at: row["at"], actor: row["actor"], kind: kind, details: row["details"],
                                              previousHash: row["previousHash"], hash: row["hash"])
                }
        }
    }

    func retentionCandidates() async throws -> [RetentionCandidate] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT batchItem.batchId, batchItem.position, batchItem.sha256, batch.committedAt, r.category, c.retentionDays,
                       json_extract(batchItem.metadata, '$.case') AS metadataCase, r.caseNumber,
                       json_extract(batchItem.metadata, '$.important') AS important, r.held, t.state, t.purgeAfter,
                       json_extract(batchItem.custody, '$[#-1].hash') AS gatewayHash
                FROM batchItem JOIN batch ON batch.id = batchItem.batchId
                JOIN itemReview r ON r.batchId = batchItem.batchId AND r.position = batchItem.position
                LEFT JOIN category c ON c.code = r.category
                LEFT JOIN itemRetention t ON t.batchId = batchItem.batchId AND t.position = batchItem.position
                WHERE batch.state = 'committed' AND NOT batchItem.withdrawn AND r.category IS NOT NULL
                  AND (t.state IS NULL OR t.state = 'recycled')
                ORDER BY batch.committedAt, batchItem.batchId, batchItem.position
                """).map { row in
                RetentionCandidate(batchId: row["batchId"], position: row["position"], sha256: row["sha256"], committedAt: row["committedAt"],
                                   category: row["category"], retentionDays: row["retentionDays"], metadataCase: row["metadataCase"],
                                   reviewedCase: row["caseNumber"], important: (row["important"] as String?) == "true", held: row["held"],
                                   state: (row["state"] as String?).flatMap(RetentionState.init(rawValue:)), purgeAfter: row["purgeAfter"],
                                   gatewayChainHash: row["gatewayHash"] ?? AccessEvent.genesisHash)
            }
        }
    }

    func applyRetention(_ step: RetentionStep, to candidate: RetentionCandidate, actor: String,
                        at: Date) async throws -> (event: ServerCustodyEvent, removeBytes: Bool) {
        try await database.write { db in
            let (batchId, position) = (candidate.batchId, candidate.position)
            let current = try String.fetchOne(db, sql: "SELECT state FROM itemRetention WHERE batchId = ? AND position = ?",
                                              arguments: [batchId, position])
            var removeBytes = false
            switch step {
            case .recycle(let purgeAfter):
                guard current == nil else { throw RetentionConflict.stateChanged }
                try db.execute(sql: "INSERT INTO itemRetention (batchId, position, state, recycledAt, purgeAfter) VALUES (?, ?, 'recycled', ?, ?)",
                               arguments: [batchId, position, at, purgeAfter])
            case .restore:
                guard current == RetentionState.recycled.rawValue else { throw RetentionConflict.stateChanged }
                try db.execute(sql: "DELETE FROM itemRetention WHERE batchId = ? AND position = ?", arguments: [batchId, position])
            case .delete:
                guard current == RetentionState.recycled.rawValue else { throw RetentionConflict.stateChanged }
                try db.execute(sql: "UPDATE itemRetention SET state = 'deleted', deletedAt = ? WHERE batchId = ? AND position = ?",
                               arguments: [at, batchId, position])
                // Every item holding these bytes, open batches' included, but the deleted ones.
                let holders = try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM batchItem i LEFT JOIN itemRetention t ON t.batchId = i.batchId AND t.position = i.position
                    WHERE i.sha256 = ? AND (t.state IS NULL OR t.state <> 'deleted')
                    """, arguments: [candidate.sha256]) ?? 1
                if holders == 0 {
                    try db.execute(sql: "DELETE FROM possession WHERE sha256 = ?", arguments: [candidate.sha256])
                    try db.execute(sql: "DELETE FROM blob WHERE sha256 = ?", arguments: [candidate.sha256])
                    removeBytes = true
                }
            }
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM itemEvent WHERE batchId = ? AND position = ? ORDER BY seq DESC LIMIT 1",
                                        arguments: [batchId, position])
            let event = ServerCustodyEvent.next(seq: (last?["seq"] ?? 0) + 1, previousHash: last?["hash"] ?? candidate.gatewayChainHash, at: at,
                                                actor: actor, kind: step.custodyKind, details: step.details)
            try db.execute(sql: """
                INSERT INTO itemEvent (batchId, position, seq, at, actor, kind, details, previousHash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [batchId, position, event.seq, event.at, event.actor, event.kind.rawValue, event.details, event.previousHash, event.hash])
            return (event, removeBytes)
        }
    }

    func createShare(_ share: ShareRecord, tokenHash: String) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO share (id, tokenHash, recipient, purpose, createdBy, createdAt, expiresAt, allowDownload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [share.id, tokenHash, share.recipient, share.purpose, share.createdBy, share.createdAt, share.expiresAt, share.allowDownload])
            for (index, item) in share.items.enumerated() {
                try db.execute(sql: "INSERT INTO shareItem (shareId, ordinal, batchId, position) VALUES (?, ?, ?, ?)",
                               arguments: [share.id, index, item.batchId, item.position])
            }
        }
    }

    func shares(limit: Int) async throws -> [ShareRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM share ORDER BY createdAt DESC LIMIT ?", arguments: [limit]).map { try Self.share(from: $0, db) }
        }
    }

    func share(tokenHash: String) async throws -> ShareRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM share WHERE tokenHash = ?", arguments: [tokenHash]).map { try Self.share(from: $0, db) }
        }
    }

    func revokeShare(id: String, at: Date) async throws -> ShareRecord? {
        try await database.write { db in
            try db.execute(sql: "UPDATE share SET revokedAt = coalesce(revokedAt, ?) WHERE id = ?", arguments: [at, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM share WHERE id = ?", arguments: [id]).map { try Self.share(from: $0, db) }
        }
    }

    private static func share(from row: Row, _ db: Database) throws -> ShareRecord {
        let id: String = row["id"]
        let items = try Row.fetchAll(db, sql: "SELECT batchId, position FROM shareItem WHERE shareId = ? ORDER BY ordinal", arguments: [id])
            .map { ShareRecord.Item(batchId: $0["batchId"], position: $0["position"]) }
        return ShareRecord(id: id, recipient: row["recipient"], purpose: row["purpose"], createdBy: row["createdBy"], createdAt: row["createdAt"],
                           expiresAt: row["expiresAt"], allowDownload: row["allowDownload"], revokedAt: row["revokedAt"], items: items)
    }

    private static func foundItem(from row: Row) throws -> FoundItem {
        FoundItem(batchId: row["batchId"], gatewayName: row["gatewayName"], committedAt: row["committedAt"], item: try item(from: row),
                  category: row["reviewCategory"], reviewedCase: row["reviewCase"], withheld: row["reviewWithheld"], held: row["reviewHeld"],
                  retentionState: (row["retentionState"] as String?).flatMap(RetentionState.init(rawValue:)), purgeAfter: row["purgeAfter"],
                  deletedAt: row["deletedAt"], retentionDays: row["retentionDays"])
    }

    private static func consoleUser(from row: Row) throws -> ConsoleUserRecord {
        let roleText: String = row["role"]
        guard let role = ConsoleRole(rawValue: roleText) else {
            throw RepositoryError.corrupt("console user \(row["name"] as String) has unknown role \(roleText)")
        }
        return ConsoleUserRecord(id: row["id"], name: row["name"], role: role, passwordHash: row["passwordHash"],
                                 createdAt: row["createdAt"], passwordChangedAt: row["passwordChangedAt"], disabledAt: row["disabledAt"])
    }
}
