import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL database's migrations, numbered and never edited once shipped: a change is a
/// new one. Applied versions are rows of `schema_migrations`; each migration runs in its own
/// transaction, so a failure leaves the database at the version before it.
enum PostgresSchema {
    struct Migration {
        let version: Int
        let name: String
        let statements: [String]
        /// Work in Swift after the statements, in the same transaction: rows computed from rows.
        var backfill: (@Sendable (PostgresConnection, Logger) async throws -> Void)? = nil
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "gateways, batches, items, blobs, uploads, possession", statements: [
            """
            CREATE TABLE gateway (
                id text PRIMARY KEY,
                name text NOT NULL UNIQUE,
                state text NOT NULL CHECK (state IN ('invited', 'active', 'revoked')),
                token_hash text NOT NULL UNIQUE,
                token_used_at timestamptz,
                public_key text,
                secret_hash text,
                created_at timestamptz NOT NULL,
                enrolled_at timestamptz,
                last_seen_at timestamptz,
                revoked_at timestamptz)
            """,
            """
            CREATE TABLE batch (
                id text PRIMARY KEY,
                gateway_id text NOT NULL REFERENCES gateway (id),
                batch_key text NOT NULL,
                state text NOT NULL CHECK (state IN ('open', 'committed')),
                envelope text NOT NULL,
                created_at text NOT NULL,
                received_at timestamptz NOT NULL,
                committed_at timestamptz,
                receipt text,
                UNIQUE (gateway_id, batch_key))
            """,
            // Metadata is jsonb so a bureau's queries by officer, camera and case use an index;
            // custody stays the exact text the gateway sent.
            """
            CREATE TABLE batch_item (
                batch_id text NOT NULL REFERENCES batch (id),
                position integer NOT NULL,
                sha256 text NOT NULL,
                size bigint NOT NULL,
                kind text NOT NULL,
                metadata jsonb NOT NULL,
                custody text NOT NULL,
                withdrawn boolean NOT NULL DEFAULT false,
                PRIMARY KEY (batch_id, position))
            """,
            "CREATE TABLE blob (sha256 text PRIMARY KEY, size bigint NOT NULL, verified_at timestamptz NOT NULL)",
            """
            CREATE TABLE upload (
                id text PRIMARY KEY,
                gateway_id text NOT NULL REFERENCES gateway (id),
                length bigint NOT NULL,
                upload_offset bigint NOT NULL,
                metadata text NOT NULL,
                sha256 text NOT NULL,
                state text NOT NULL CHECK (state IN ('receiving', 'complete')),
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE possession (
                gateway_id text NOT NULL REFERENCES gateway (id),
                sha256 text NOT NULL,
                proven_at timestamptz NOT NULL,
                PRIMARY KEY (gateway_id, sha256))
            """,
            "CREATE INDEX batch_by_gateway_and_day ON batch (gateway_id, committed_at)",
            "CREATE INDEX batch_by_day ON batch (committed_at)",
            "CREATE INDEX batch_item_by_sha256 ON batch_item (sha256)",
            "CREATE INDEX batch_item_by_officer ON batch_item ((metadata ->> 'officer'))",
            "CREATE INDEX batch_item_by_camera ON batch_item ((metadata ->> 'camera'))",
            "CREATE INDEX batch_item_by_case ON batch_item ((metadata ->> 'case'))",
            "CREATE INDEX upload_by_gateway_and_state ON upload (gateway_id, state)",
            "CREATE INDEX upload_by_state_and_age ON upload (state, updated_at)",
        ]),
        Migration(version: 2, name: "receipts' RFC 3161 time-stamps", statements: [
            """
            CREATE TABLE receipt_timestamp (
                batch_id text PRIMARY KEY REFERENCES batch (id),
                reply bytea NOT NULL,
                stamped_at timestamptz NOT NULL,
                received_at timestamptz NOT NULL)
            """,
        ]),
        Migration(version: 3, name: "evidence bundles exported", statements: [
            """
            CREATE TABLE bundle_export (
                id text PRIMARY KEY,
                selection text NOT NULL,
                destination text NOT NULL,
                items bigint NOT NULL,
                bytes bigint NOT NULL,
                tag_manifest_sha256 text NOT NULL,
                exported_at timestamptz NOT NULL)
            """,
        ]),
        Migration(version: 4, name: "bundles carried by hand and imported", statements: [
            """
            CREATE TABLE bundle_import (
                id bigserial PRIMARY KEY,
                bundle_id text NOT NULL,
                gateway_id text NOT NULL REFERENCES gateway (id),
                batch_id text REFERENCES batch (id),
                source text NOT NULL,
                tag_manifest_sha256 text NOT NULL,
                imported bigint NOT NULL,
                new_blobs bigint NOT NULL,
                already_receipted bigint NOT NULL,
                imported_at timestamptz NOT NULL)
            """,
        ]),
        // One row: every instance signs with this key, so none needs a key file.
        Migration(version: 5, name: "the server's receipt-signing key", statements: [
            """
            CREATE TABLE server_key (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                public_key bytea NOT NULL,
                private_key bytea,
                kept_at timestamptz NOT NULL)
            """,
        ]),
        Migration(version: 6, name: "the console's people and their sessions", statements: [
            """
            CREATE TABLE console_user (
                id text PRIMARY KEY,
                name text NOT NULL UNIQUE,
                role text NOT NULL,
                password_hash text NOT NULL,
                created_at timestamptz NOT NULL,
                password_changed_at timestamptz NOT NULL,
                disabled_at timestamptz)
            """,
            """
            CREATE TABLE console_session (
                token_hash text PRIMARY KEY,
                user_id text NOT NULL REFERENCES console_user (id),
                csrf_token text NOT NULL,
                created_at timestamptz NOT NULL,
                last_seen_at timestamptz NOT NULL,
                address text NOT NULL)
            """,
            "CREATE INDEX console_session_user ON console_session (user_id)",
        ]),
        Migration(version: 7, name: "the console's access log", statements: [
            """
            CREATE TABLE access_event (
                seq bigint PRIMARY KEY,
                at text NOT NULL,
                actor text NOT NULL,
                address text NOT NULL,
                action text NOT NULL,
                subject text NOT NULL,
                detail text NOT NULL,
                previous_hash text NOT NULL,
                hash text NOT NULL)
            """,
        ]),
        Migration(version: 8, name: "categories, reviews and the server's custody events of items", statements: [
            """
            CREATE TABLE category (
                code text PRIMARY KEY,
                zh text NOT NULL,
                en text NOT NULL,
                retention_days integer,
                position integer NOT NULL)
            """,
            "INSERT INTO category (code, zh, en, position) VALUES ('on-site-inspection', '现场检查', 'on-site inspection', 0), ('investigation', '调查取证', 'investigation and evidence collection', 1), ('seizure', '查封扣押', 'seizure and detention', 2), ('service', '文书送达', 'service of documents', 3), ('hearing', '听证', 'hearing', 4), ('enforcement', '强制执行', 'enforcement', 5), ('interview', '询问', 'questioning', 6), ('other', '其他', 'other', 7)",
            """
            CREATE TABLE item_review (
                batch_id text NOT NULL,
                position integer NOT NULL,
                category text REFERENCES category (code),
                case_number text,
                reviewed_at timestamptz NOT NULL,
                reviewed_by text NOT NULL,
                PRIMARY KEY (batch_id, position),
                FOREIGN KEY (batch_id, position) REFERENCES batch_item (batch_id, position))
            """,
            "CREATE INDEX item_review_category ON item_review (category)",
            "CREATE INDEX item_review_case ON item_review (case_number)",
            """
            CREATE TABLE item_event (
                batch_id text NOT NULL,
                position integer NOT NULL,
                seq bigint NOT NULL,
                at text NOT NULL,
                actor text NOT NULL,
                kind text NOT NULL,
                details text NOT NULL,
                previous_hash text NOT NULL,
                hash text NOT NULL,
                PRIMARY KEY (batch_id, position, seq),
                FOREIGN KEY (batch_id, position) REFERENCES batch_item (batch_id, position))
            """,
        ]),
        Migration(version: 9, name: "do-not-disclose marks and shares", statements: [
            "ALTER TABLE item_review ADD COLUMN withheld boolean NOT NULL DEFAULT false",
            """
            CREATE TABLE share (
                id text PRIMARY KEY,
                token_hash text NOT NULL UNIQUE,
                recipient text NOT NULL,
                purpose text NOT NULL,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                allow_download boolean NOT NULL,
                revoked_at timestamptz)
            """,
            """
            CREATE TABLE share_item (
                share_id text NOT NULL REFERENCES share (id),
                ordinal integer NOT NULL,
                batch_id text NOT NULL,
                position integer NOT NULL,
                PRIMARY KEY (share_id, ordinal),
                FOREIGN KEY (batch_id, position) REFERENCES batch_item (batch_id, position))
            """,
        ]),
        Migration(version: 10, name: "legal holds and retention", statements: [
            "ALTER TABLE item_review ADD COLUMN held boolean NOT NULL DEFAULT false",
            """
            CREATE TABLE item_retention (
                batch_id text NOT NULL,
                position integer NOT NULL,
                state text NOT NULL,
                recycled_at timestamptz NOT NULL,
                purge_after timestamptz NOT NULL,
                deleted_at timestamptz,
                PRIMARY KEY (batch_id, position),
                FOREIGN KEY (batch_id, position) REFERENCES batch_item (batch_id, position))
            """,
            "CREATE INDEX item_retention_by_state ON item_retention (state, purge_after)",
        ]),
        Migration(version: 11, name: "an index for the console's search by day", statements: [
            """
            CREATE INDEX batch_item_by_recorded ON batch_item ((coalesce(metadata ->> 'startedAt', metadata ->> 'printedAt',
                metadata ->> 'capturedAt', metadata ->> 'collectedAt')))
            """,
        ]),
        // The reports' counts, kept as batches commit; those of batches committed before are
        // worked out by the same code.
        Migration(version: 12, name: "the reports' counts, cameras' latest recordings, late items, gateways' backlogs", statements: [
            """
            CREATE TABLE report_tally (month text NOT NULL, unit text NOT NULL, kind text NOT NULL, document_type text NOT NULL,
                items bigint NOT NULL, seconds double precision NOT NULL, flagged bigint NOT NULL, late bigint NOT NULL,
                PRIMARY KEY (month, unit, kind, document_type))
            """,
            """
            CREATE TABLE camera_sighting (serial text PRIMARY KEY, unit text NOT NULL, gateway_id text NOT NULL REFERENCES gateway (id),
                last_recorded_at text NOT NULL, last_receipted_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE late_item (batch_id text NOT NULL, position integer NOT NULL, month text NOT NULL, unit text NOT NULL,
                kind text NOT NULL, officer text, camera text, recorded_at text NOT NULL, PRIMARY KEY (batch_id, position))
            """,
            "CREATE INDEX late_item_by_month ON late_item (month, recorded_at)",
            """
            CREATE TABLE gateway_backlog (gateway_id text PRIMARY KEY REFERENCES gateway (id), unit text, reported_at text NOT NULL,
                items bigint NOT NULL, bytes bigint NOT NULL, oldest_recorded_at text, by_month text NOT NULL, received_at timestamptz NOT NULL)
            """,
            "CREATE INDEX batch_item_by_unit ON batch_item ((metadata ->> 'unit'))",
            "CREATE INDEX batch_by_gateway_state_and_commit ON batch (gateway_id, state, committed_at)",
        ], backfill: { connection, logger in
            let batches = try await connection.query("SELECT id, gateway_id, committed_at FROM batch WHERE state = 'committed'", logger: logger)
                .collect().map { try $0.decode((String, String, Date).self) }
            for (id, gatewayId, committedAt) in batches {
                try await PostgresEvidenceRepository.storeReportFacts(batchId: id, gatewayId: gatewayId, committedAt: committedAt,
                                                                      connection, logger)
            }
        }),
    ]

    static var latestVersion: Int { migrations.map(\.version).max() ?? 0 }
}
