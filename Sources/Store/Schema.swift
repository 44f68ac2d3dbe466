import GRDB

/// The store's migrations, registered by name and never edited once shipped: a change is a new
/// migration. Each has its own function; a long one is split into steps that run in the order
/// it always ran (`SchemaHistoryTests` checks that v1-v3 still make 0.1.0's schema).
enum Schema {
    /// Every migration, in the order they shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        registerV1(in: &migrator)
        registerV2(in: &migrator)
        registerV3(in: &migrator)
        registerForeignKeys(in: &migrator)
        registerLocalCopies(in: &migrator)
        registerKeptManifests(in: &migrator)
        registerExportedCustody(in: &migrator)
        registerReceiptTimestamps(in: &migrator)
        registerRecordingCases(in: &migrator)
        return migrator
    }

    /// v1 (0.1.0): the roster, recordings, custody, the first upload queue, collections.
    static func registerV1(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v1: officers, cameras, cases, recordings, custody, upload queue") { db in
            try createRosterTables(db)
            try createRecordingAndCustodyTables(db)
            try createUploadQueueAndCollectionTables(db)
        }
    }

    private static func createRosterTables(_ db: Database) throws {
        try db.create(table: "officer") { t in
            t.primaryKey("number", .text)
            t.column("name", .text).notNull()
            t.column("certificateNumber", .text).notNull()
            t.column("certificateStatus", .text).notNull()
            t.column("certificateExpires", .text)
            t.column("unit", .text)
        }
        try db.create(table: "camera") { t in
            t.primaryKey("serial", .text)
            t.column("vendor", .text)
            t.column("model", .text)
            t.column("registered", .boolean).notNull().defaults(to: false)
            t.column("registeredAt", .datetime)
            t.column("lastSeenAt", .datetime)
            t.column("officerNumber", .text)
        }
        try db.create(table: "enforcementCase") { t in
            t.primaryKey("number", .text)
            t.column("title", .text).notNull()
            t.column("procedure", .text).notNull()
            t.column("openedAt", .text)
        }
    }

    private static func createRecordingAndCustodyTables(_ db: Database) throws {
        try db.create(table: "recording") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("cameraSerial", .text).notNull().indexed()
            t.column("sourcePath", .blob).notNull()
            t.column("sourceName", .text).notNull()
            t.column("size", .integer).notNull()
            t.column("sourceModified", .datetime)
            t.column("sha256", .text).notNull().indexed()
            t.column("mediaType", .text).notNull()
            t.column("container", .text)
            t.column("durationSeconds", .double)
            t.column("mediaCreatedAt", .datetime)
            t.column("capturedAtLocal", .text)
            t.column("cameraStartedAt", .text)
            t.column("correctedStartedAt", .datetime).indexed()
            t.column("clockDriftSeconds", .double)
            t.column("sequence", .integer)
            t.column("important", .boolean).notNull()
            t.column("officerNumber", .text).indexed()
            t.column("flags", .text).notNull()
            t.column("problems", .text).notNull()
            t.column("collectedAt", .datetime).notNull()
            t.column("verifiedAt", .datetime)
            t.column("wipedAt", .datetime)
            t.uniqueKey(["cameraSerial", "sourcePath", "sha256"])
        }
        try db.create(table: "custodyEvent") { t in
            t.primaryKey("seq", .integer)
            t.column("at", .text).notNull()
            t.column("kind", .text).notNull()
            t.column("cameraSerial", .text)
            t.column("recordingId", .integer).indexed()
            t.column("sha256", .text)
            t.column("details", .text).notNull()
            t.column("previousHash", .text).notNull()
            t.column("hash", .text).notNull()
        }
    }

    private static func createUploadQueueAndCollectionTables(_ db: Database) throws {
        try db.create(table: "uploadQueue") { t in
            t.primaryKey("recordingId", .integer).references("recording")
            t.column("state", .text).notNull()
            t.column("uploadURL", .text)
            t.column("offset", .integer).notNull().defaults(to: 0)
            t.column("attempts", .integer).notNull().defaults(to: 0)
            t.column("lastError", .text)
            t.column("updatedAt", .datetime).notNull()
        }
        try db.create(table: "collection") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("cameraSerial", .text).notNull()
            t.column("source", .text).notNull()
            t.column("startedAt", .datetime).notNull()
            t.column("finishedAt", .datetime)
            t.column("newCount", .integer).notNull()
            t.column("alreadyCount", .integer).notNull()
            t.column("flaggedCount", .integer).notNull()
            t.column("failedCount", .integer).notNull()
            t.column("bytes", .integer).notNull()
        }
        // The custody log is append-only: rows may be added, never changed or removed.
        try db.execute(sql: """
            CREATE TRIGGER custodyEventNoUpdate BEFORE UPDATE ON custodyEvent
            BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;
            CREATE TRIGGER custodyEventNoDelete BEFORE DELETE ON custodyEvent
            BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;
            """)
    }

    /// v2 (0.1.0): printers, printed documents, fingerprints.
    static func registerV2(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: printers, printed documents, fingerprints") { db in
            try db.create(table: "printer") { t in
                t.primaryKey("name", .text)
                t.column("transport", .text).notNull()
                t.column("path", .text)
                t.column("usbSerial", .text)
                t.column("model", .text)
                t.column("paperWidthMillimetres", .integer).notNull()
                t.column("addedAt", .datetime).notNull()
            }
            try db.create(table: "printedDocument") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("documentNumber", .text).notNull().indexed()
                t.column("caseNumber", .text).notNull().indexed()
                t.column("template", .text).notNull()
                t.column("printerName", .text).notNull()
                t.column("copies", .integer).notNull()
                t.column("verificationId", .text).notNull()
                t.column("contentSha256", .text).notNull()
                t.column("data", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("printedAt", .datetime).notNull()
            }
            try db.create(table: "fingerprintCapture") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseNumber", .text).notNull().indexed()
                t.column("documentNumber", .text).notNull().indexed()
                t.column("person", .text).notNull()
                t.column("role", .text).notNull()
                t.column("reader", .text).notNull()
                t.column("format", .text).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("capturedAt", .datetime).notNull()
            }
        }
    }

    /// v3 (0.1.0): the sync queue for every kind of evidence, batches, uploads.
    static func registerV3(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: sync") { db in
            try createEnrolmentAndSyncItemTables(db)
            try queueExistingEvidence(db)
            try createBatchAndUploadTables(db)
        }
    }

    private static func createEnrolmentAndSyncItemTables(_ db: Database) throws {
        // One row: the central server this gateway is enrolled with, and the gateway's own key.
        try db.create(table: "syncEnrolment") { t in
            t.primaryKey("id", .integer).check { $0 == 1 }
            t.column("serverURL", .text).notNull()
            t.column("gatewayId", .text).notNull()
            t.column("gatewayName", .text).notNull()
            t.column("credential", .text).notNull()
            t.column("serverPublicKey", .text).notNull()
            t.column("gatewayPrivateKey", .blob).notNull()
            t.column("caCertificatePEM", .text)
            t.column("enrolledAt", .datetime).notNull()
        }
        // Every item of evidence on its way to the server, whatever made it: a recording, a
        // printout, a fingerprint. It replaces v1's uploadQueue, which knew recordings only.
        try db.create(table: "syncItem") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("kind", .text).notNull()
            t.column("sourceId", .integer).notNull()
            t.column("sha256", .text).notNull()
            t.column("size", .integer).notNull()
            t.column("important", .boolean).notNull().defaults(to: false)
            t.column("takenAt", .datetime)
            t.column("state", .text).notNull().indexed()
            t.column("batchId", .integer)
            t.column("attempts", .integer).notNull().defaults(to: 0)
            t.column("lastError", .text)
            t.column("updatedAt", .datetime).notNull()
            t.uniqueKey(["kind", "sourceId"])
        }
    }

    private static func queueExistingEvidence(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO syncItem (kind, sourceId, sha256, size, important, takenAt, state, updatedAt)
                SELECT 'recording', recording.id, recording.sha256, recording.size, recording.important,
                       COALESCE(recording.correctedStartedAt, recording.mediaCreatedAt, recording.collectedAt), 'pending', uploadQueue.updatedAt
                FROM uploadQueue JOIN recording ON recording.id = uploadQueue.recordingId;
            INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                SELECT 'printout', id, sha256, size, printedAt, 'pending', printedAt FROM printedDocument;
            INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                SELECT 'fingerprint', id, sha256, size, capturedAt, 'pending', capturedAt FROM fingerprintCapture;
            DROP TABLE uploadQueue;
            -- Whatever stores evidence queues it for the server in the same transaction.
            CREATE TRIGGER syncItemForRecording AFTER INSERT ON recording BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, important, takenAt, state, updatedAt)
                VALUES ('recording', NEW.id, NEW.sha256, NEW.size, NEW.important,
                        COALESCE(NEW.correctedStartedAt, NEW.mediaCreatedAt, NEW.collectedAt), 'pending', NEW.collectedAt);
            END;
            CREATE TRIGGER syncItemForPrintout AFTER INSERT ON printedDocument BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                VALUES ('printout', NEW.id, NEW.sha256, NEW.size, NEW.printedAt, 'pending', NEW.printedAt);
            END;
            CREATE TRIGGER syncItemForFingerprint AFTER INSERT ON fingerprintCapture BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                VALUES ('fingerprint', NEW.id, NEW.sha256, NEW.size, NEW.capturedAt, 'pending', NEW.capturedAt);
            END;
            """)
    }

    private static func createBatchAndUploadTables(_ db: Database) throws {
        // A batch is kept before its manifest is sent, so a retry names the same batch.
        try db.create(table: "syncBatch") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("batchKey", .text).notNull().unique()
            t.column("serverBatchId", .text)
            t.column("state", .text).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("committedAt", .datetime)
            t.column("receiptPayload", .blob)
            t.column("receiptSignature", .text)
            t.column("serverTime", .text)
        }
        try db.create(table: "syncBatchItem") { t in
            t.column("batchId", .integer).notNull().references("syncBatch")
            t.column("itemId", .integer).notNull().references("syncItem")
            t.column("sha256", .text).notNull()
            t.primaryKey(["batchId", "itemId"])
        }
        // One tus upload per blob: its URL and the offset the server acknowledged.
        try db.create(table: "syncUpload") { t in
            t.primaryKey("sha256", .text)
            t.column("url", .text).notNull()
            t.column("offset", .integer).notNull()
            t.column("length", .integer).notNull()
            t.column("updatedAt", .datetime).notNull()
        }
    }

    /// v4: a row that names another now says so to SQLite, which refuses a dangling reference.
    /// SQLite cannot add a foreign key to an existing table, so each table is rebuilt as its
    /// documented procedure says (create the new table, copy, drop, rename, then recreate its
    /// indexes and triggers); the migrator checks every foreign key before it commits.
    /// Left without one: references the code does not guarantee (a recording's camera and
    /// officer, a camera's officer, a printout's printer may be unknown, and say so in flags),
    /// and `syncItem.sourceId`, which names a row of one of three tables.
    static func registerForeignKeys(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: foreign keys") { db in
            try dropTriggersOfRebuiltTables(db)
            try rebuildCustodyEventsNamingTheirRecording(db)
            try rebuildPaperworkNamingItsCase(db)
            try rebuildSyncItemsNamingTheirBatch(db)
            try recreateTriggersOfRebuiltTables(db)
        }
    }

    private static func dropTriggersOfRebuiltTables(_ db: Database) throws {
        // The triggers that write syncItem, and those on the rebuilt tables, go first and
        // come back unchanged at the end.
        try db.execute(sql: """
            DROP TRIGGER syncItemForRecording;
            DROP TRIGGER syncItemForPrintout;
            DROP TRIGGER syncItemForFingerprint;
            DROP TRIGGER custodyEventNoUpdate;
            DROP TRIGGER custodyEventNoDelete;
            """)
    }

    private static func rebuildCustodyEventsNamingTheirRecording(_ db: Database) throws {
        try rebuild("custodyEvent", db) { t in
            t.primaryKey("seq", .integer)
            t.column("at", .text).notNull()
            t.column("kind", .text).notNull()
            t.column("cameraSerial", .text)
            t.column("recordingId", .integer).references("recording")
            t.column("sha256", .text)
            t.column("details", .text).notNull()
            t.column("previousHash", .text).notNull()
            t.column("hash", .text).notNull()
        }
        try db.create(index: "custodyEvent_on_recordingId", on: "custodyEvent", columns: ["recordingId"])
    }

    private static func rebuildPaperworkNamingItsCase(_ db: Database) throws {
        try rebuild("printedDocument", db) { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("documentNumber", .text).notNull()
            t.column("caseNumber", .text).notNull().references("enforcementCase")
            t.column("template", .text).notNull()
            t.column("printerName", .text).notNull()
            t.column("copies", .integer).notNull()
            t.column("verificationId", .text).notNull()
            t.column("contentSha256", .text).notNull()
            t.column("data", .text).notNull()
            t.column("sha256", .text).notNull()
            t.column("size", .integer).notNull()
            t.column("printedAt", .datetime).notNull()
        }
        try db.create(index: "printedDocument_on_documentNumber", on: "printedDocument", columns: ["documentNumber"])
        try db.create(index: "printedDocument_on_caseNumber", on: "printedDocument", columns: ["caseNumber"])
        try rebuild("fingerprintCapture", db) { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("caseNumber", .text).notNull().references("enforcementCase")
            t.column("documentNumber", .text).notNull()
            t.column("person", .text).notNull()
            t.column("role", .text).notNull()
            t.column("reader", .text).notNull()
            t.column("format", .text).notNull()
            t.column("width", .integer).notNull()
            t.column("height", .integer).notNull()
            t.column("sha256", .text).notNull()
            t.column("size", .integer).notNull()
            t.column("capturedAt", .datetime).notNull()
        }
        try db.create(index: "fingerprintCapture_on_caseNumber", on: "fingerprintCapture", columns: ["caseNumber"])
        try db.create(index: "fingerprintCapture_on_documentNumber", on: "fingerprintCapture", columns: ["documentNumber"])
    }

    private static func rebuildSyncItemsNamingTheirBatch(_ db: Database) throws {
        try rebuild("syncItem", db) { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("kind", .text).notNull()
            t.column("sourceId", .integer).notNull()
            t.column("sha256", .text).notNull()
            t.column("size", .integer).notNull()
            t.column("important", .boolean).notNull().defaults(to: false)
            t.column("takenAt", .datetime)
            t.column("state", .text).notNull()
            t.column("batchId", .integer).references("syncBatch")
            t.column("attempts", .integer).notNull().defaults(to: 0)
            t.column("lastError", .text)
            t.column("updatedAt", .datetime).notNull()
            t.uniqueKey(["kind", "sourceId"])
        }
        try db.create(index: "syncItem_on_state", on: "syncItem", columns: ["state"])
        try db.create(index: "syncItem_on_batchId", on: "syncItem", columns: ["batchId"])
    }

    private static func recreateTriggersOfRebuiltTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TRIGGER custodyEventNoUpdate BEFORE UPDATE ON custodyEvent
            BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;
            CREATE TRIGGER custodyEventNoDelete BEFORE DELETE ON custodyEvent
            BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;
            CREATE TRIGGER syncItemForRecording AFTER INSERT ON recording BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, important, takenAt, state, updatedAt)
                VALUES ('recording', NEW.id, NEW.sha256, NEW.size, NEW.important,
                        COALESCE(NEW.correctedStartedAt, NEW.mediaCreatedAt, NEW.collectedAt), 'pending', NEW.collectedAt);
            END;
            CREATE TRIGGER syncItemForPrintout AFTER INSERT ON printedDocument BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                VALUES ('printout', NEW.id, NEW.sha256, NEW.size, NEW.printedAt, 'pending', NEW.printedAt);
            END;
            CREATE TRIGGER syncItemForFingerprint AFTER INSERT ON fingerprintCapture BEGIN
                INSERT INTO syncItem (kind, sourceId, sha256, size, takenAt, state, updatedAt)
                VALUES ('fingerprint', NEW.id, NEW.sha256, NEW.size, NEW.capturedAt, 'pending', NEW.capturedAt);
            END;
            """)
    }

    /// Replaces `table` by one made by `define`, with every row (by column name) and the
    /// AUTOINCREMENT high-water mark kept. The caller recreates indexes and triggers. Foreign
    /// keys are off during a migration, so the table can be dropped while others name it.
    private static func rebuild(_ table: String, _ db: Database, _ define: (TableDefinition) throws -> Void) throws {
        let columns = try db.columns(in: table).map { $0.name.quotedDatabaseIdentifier }.joined(separator: ", ")
        let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table])
        let rebuilt = "new_" + table
        try db.create(table: rebuilt, body: define)
        try db.execute(sql: "INSERT INTO \(rebuilt.quotedDatabaseIdentifier) (\(columns)) SELECT \(columns) FROM \(table.quotedDatabaseIdentifier)")
        try db.drop(table: table)
        try db.rename(table: rebuilt, to: table)
        if let sequence {
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", arguments: [sequence, table])
        }
    }
}
