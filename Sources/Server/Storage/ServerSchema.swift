import GRDB

/// The server database's migrations, registered by name and never edited once shipped: a
/// change is a new migration.
enum ServerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: gateways, batches, items, blobs, uploads") { db in
            try db.create(table: "gateway") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("state", .text).notNull()
                t.column("tokenHash", .text).notNull().unique()
                t.column("tokenUsedAt", .datetime)
                t.column("publicKey", .text)
                t.column("secretHash", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("enrolledAt", .datetime)
                t.column("lastSeenAt", .datetime)
                t.column("revokedAt", .datetime)
            }
            try db.create(table: "batch") { t in
                t.primaryKey("id", .text)
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("batchKey", .text).notNull()
                t.column("state", .text).notNull()
                t.column("envelope", .text).notNull()
                t.column("createdAt", .text).notNull()
                t.column("receivedAt", .datetime).notNull()
                t.column("committedAt", .datetime)
                t.column("receipt", .text)
                t.uniqueKey(["gatewayId", "batchKey"])
            }
            try db.create(table: "batchItem") { t in
                t.column("batchId", .text).notNull().references("batch")
                t.column("position", .integer).notNull()
                t.column("sha256", .text).notNull().indexed()
                t.column("size", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("metadata", .text).notNull()
                t.column("custody", .text).notNull()
                t.column("withdrawn", .boolean).notNull().defaults(to: false)
                t.primaryKey(["batchId", "position"])
            }
            try db.create(table: "blob") { t in
                t.primaryKey("sha256", .text)
                t.column("size", .integer).notNull()
                t.column("verifiedAt", .datetime).notNull()
            }
            try db.create(table: "upload") { t in
                t.primaryKey("id", .text)
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("length", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("metadata", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("state", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2: which gateway delivered or proved each blob") { db in
            try db.create(table: "possession") { t in
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("sha256", .text).notNull()
                t.column("provenAt", .datetime).notNull()
                t.primaryKey(["gatewayId", "sha256"])
            }
            // Before this, a gateway's completed uploads and receipted items were its proof.
            try db.execute(sql: """
                INSERT OR IGNORE INTO possession (gatewayId, sha256, provenAt)
                SELECT gatewayId, sha256, updatedAt FROM upload WHERE state = 'complete'
                """)
            try db.execute(sql: """
                INSERT OR IGNORE INTO possession (gatewayId, sha256, provenAt)
                SELECT batch.gatewayId, batchItem.sha256, batch.committedAt FROM batchItem
                JOIN batch ON batch.id = batchItem.batchId WHERE batch.state = 'committed' AND NOT batchItem.withdrawn
                """)
        }
        migrator.registerMigration("v3: receipts' RFC 3161 time-stamps") { db in
            try db.create(table: "receiptTimestamp") { t in
                t.primaryKey("batchId", .text).references("batch")
                t.column("reply", .blob).notNull()
                t.column("stampedAt", .datetime).notNull()
                t.column("receivedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v4: evidence bundles exported") { db in
            try db.create(table: "bundleExport") { t in
                t.primaryKey("id", .text)
                t.column("selection", .text).notNull()
                t.column("destination", .text).notNull()
                t.column("items", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("tagManifestSha256", .text).notNull()
                t.column("exportedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v5: bundles carried by hand and imported") { db in
            try db.create(table: "bundleImport") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("bundleId", .text).notNull()
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("batchId", .text).references("batch")
                t.column("source", .text).notNull()
                t.column("tagManifestSha256", .text).notNull()
                t.column("imported", .integer).notNull()
                t.column("newBlobs", .integer).notNull()
                t.column("alreadyReceipted", .integer).notNull()
                t.column("importedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v6: the console's people and their sessions") { db in
            try db.create(table: "consoleUser") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("role", .text).notNull()
                t.column("passwordHash", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("passwordChangedAt", .datetime).notNull()
                t.column("disabledAt", .datetime)
            }
            try db.create(table: "consoleSession") { t in
                t.primaryKey("tokenHash", .text)
                t.column("userId", .text).notNull().references("consoleUser").indexed()
                t.column("csrfToken", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("lastSeenAt", .datetime).notNull()
                t.column("address", .text).notNull()
            }
        }
        migrator.registerMigration("v7: the console's access log") { db in
            try db.create(table: "accessEvent") { t in
                t.primaryKey("seq", .integer)
                t.column("at", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("address", .text).notNull()
                t.column("action", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("previousHash", .text).notNull()
                t.column("hash", .text).notNull()
            }
        }
        migrator.registerMigration("v8: categories, reviews and the server's custody events of items") { db in
            try db.create(table: "category") { t in
                t.primaryKey("code", .text)
                t.column("zh", .text).notNull()
                t.column("en", .text).notNull()
                t.column("retentionDays", .integer)
                t.column("position", .integer).notNull()
            }
            for (position, category) in ServerSchema.defaultCategories.enumerated() {
                try db.execute(sql: "INSERT INTO category (code, zh, en, position) VALUES (?, ?, ?, ?)",
                               arguments: [category.code, category.zh, category.en, position])
            }
            try db.create(table: "itemReview") { t in
                t.column("batchId", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("category", .text).references("category").indexed()
                t.column("caseNumber", .text).indexed()
                t.column("reviewedAt", .datetime).notNull()
                t.column("reviewedBy", .text).notNull()
                t.primaryKey(["batchId", "position"])
            }
            try db.create(table: "itemEvent") { t in
                t.column("batchId", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("seq", .integer).notNull()
                t.column("at", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("details", .text).notNull()
                t.column("previousHash", .text).notNull()
                t.column("hash", .text).notNull()
                t.primaryKey(["batchId", "position", "seq"])
            }
        }
        migrator.registerMigration("v9: do-not-disclose marks and shares") { db in
            try db.alter(table: "itemReview") { t in t.add(column: "withheld", .boolean).notNull().defaults(to: false) }
            try db.create(table: "share") { t in
                t.primaryKey("id", .text)
                t.column("tokenHash", .text).notNull().unique()
                t.column("recipient", .text).notNull()
                t.column("purpose", .text).notNull()
                t.column("createdBy", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
                t.column("allowDownload", .boolean).notNull()
                t.column("revokedAt", .datetime)
            }
            try db.create(table: "shareItem") { t in
                t.column("shareId", .text).notNull().references("share")
                t.column("ordinal", .integer).notNull()
                t.column("batchId", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["shareId", "ordinal"])
            }
        }
        migrator.registerMigration("v10: legal holds and retention") { db in
            try db.alter(table: "itemReview") { t in t.add(column: "held", .boolean).notNull().defaults(to: false) }
            try db.create(table: "itemRetention") { t in
                t.column("batchId", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("recycledAt", .datetime).notNull()
                t.column("purgeAfter", .datetime).notNull()
                t.column("deletedAt", .datetime)
                t.primaryKey(["batchId", "position"])
            }
        }
        // The console's search: the newest batches first, and its fields' values in the items' metadata.
        migrator.registerMigration("v11: indexes for the console's search") { db in
            try db.execute(sql: "CREATE INDEX batch_by_state_and_commit ON batch (state, committedAt)")
            for key in ["officer", "camera", "case"] {
                try db.execute(sql: "CREATE INDEX batchItem_by_\(key) ON batchItem (json_extract(metadata, '$.\(key)'))")
            }
            try db.execute(sql: """
                CREATE INDEX batchItem_by_recorded ON batchItem (coalesce(json_extract(metadata, '$.startedAt'), json_extract(metadata, '$.printedAt'),
                    json_extract(metadata, '$.capturedAt'), json_extract(metadata, '$.collectedAt')))
                """)
        }
        // The reports' counts, kept as batches commit; the counts of batches committed before
        // are worked out here, by the same code.
        migrator.registerMigration("v12: the reports' counts, cameras' latest recordings, late items, gateways' backlogs") { db in
            try db.execute(sql: """
                CREATE TABLE reportTally (month TEXT NOT NULL, unit TEXT NOT NULL, kind TEXT NOT NULL, documentType TEXT NOT NULL,
                    items INTEGER NOT NULL, seconds REAL NOT NULL, flagged INTEGER NOT NULL, late INTEGER NOT NULL,
                    PRIMARY KEY (month, unit, kind, documentType));
                CREATE TABLE cameraSighting (serial TEXT PRIMARY KEY, unit TEXT NOT NULL, gatewayId TEXT NOT NULL REFERENCES gateway,
                    lastRecordedAt TEXT NOT NULL, lastReceiptedAt DATETIME NOT NULL);
                CREATE TABLE lateItem (batchId TEXT NOT NULL, position INTEGER NOT NULL, month TEXT NOT NULL, unit TEXT NOT NULL,
                    kind TEXT NOT NULL, officer TEXT, camera TEXT, recordedAt TEXT NOT NULL, PRIMARY KEY (batchId, position));
                CREATE INDEX lateItem_by_month ON lateItem (month, recordedAt);
                CREATE TABLE gatewayBacklog (gatewayId TEXT PRIMARY KEY REFERENCES gateway, unit TEXT, reportedAt TEXT NOT NULL,
                    items INTEGER NOT NULL, bytes INTEGER NOT NULL, oldestRecordedAt TEXT, byMonth TEXT NOT NULL, receivedAt DATETIME NOT NULL);
                CREATE INDEX batchItem_by_unit ON batchItem (json_extract(metadata, '$.unit'));
                CREATE INDEX batch_by_gateway_state_and_commit ON batch (gatewayId, state, committedAt);
                """)
            let batches = try Row.fetchAll(db, sql: "SELECT id, gatewayId, committedAt FROM batch WHERE state = 'committed'")
            for batch in batches {
                try SQLiteEvidenceRepository.storeReportFacts(batchId: batch["id"], gatewayId: batch["gatewayId"],
                                                              committedAt: batch["committedAt"], db)
            }
        }
        return migrator
    }

    /// The bureau's list of matters to be recorded (音像记录事项清单) as a new server starts it;
    /// rows of `category`, which the bureau's own list replaces.
    static let defaultCategories: [(code: String, zh: String, en: String)] = [
                ("on-site-inspection", "现场检查", "on-site inspection"),
                ("investigation", "调查取证", "investigation and evidence collection"),
                ("seizure", "查封扣押", "seizure and detention"),
                ("service", "文书送达", "service of documents"),
                ("hearing", "听证", "hearing"),
                ("enforcement", "强制执行", "enforcement"),
                ("interview", "询问", "questioning"),
                ("other", "其他", "other"),
    ]
}
