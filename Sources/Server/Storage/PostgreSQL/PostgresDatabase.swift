import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// One PostgreSQL database as the server uses it: a connection pool that runs for as long as
/// this object lives, the schema's migrations, and transactions whose errors read plainly.
final class PostgresDatabase: Sendable {
    let location: PostgresLocation
    let client: PostgresClient
    /// The connections that hold upload locks, one per request writing an upload.
    let lockClient: PostgresClient
    private let logger: Logger
    private let runners: [Task<Void, Never>]
    /// Upload locks held at once by one server; a request beyond waits for a connection.
    static let maximumLockConnections = 64
    /// How long reaching the server at start may take before it counts as unreachable.
    static let connectTimeout: Duration = .seconds(10)

    init(location: PostgresLocation, logger: Logger) {
        self.location = location
        self.logger = logger
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                         password: location.password, database: location.database,
                                                         tls: Self.clientSecurity(location.security))
        configuration.options.connectTimeout = Self.connectTimeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        configuration.options.maximumConnections = Self.maximumLockConnections
        configuration.options.connectionIdleTimeout = .seconds(30)
        let lockClient = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.lockClient = lockClient
        runners = [Task { await client.run() }, Task { await lockClient.run() }]
    }

    deinit { runners.forEach { $0.cancel() } }

    /// Reaches the server on a connection of its own (so an unreachable server or a refused
    /// password is an error at once, not a request waiting for the pool), then brings the schema
    /// to the latest version. Instances starting together take turns: the migrations run under
    /// a transaction-level advisory lock.
    func migrate() async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: connectionConfiguration(), id: 0, logger: logger)
        } catch {
            throw ServerSetupError("cannot reach the database \(location.displayURL): \(Self.describe(error))")
        }
        do {
            try await applyMigrations(on: connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            if error is ServerSetupError { throw error }
            throw ServerSetupError("cannot migrate the database \(location.displayURL): \(Self.describe(error))")
        }
    }

    private func applyMigrations(on connection: PostgresConnection) async throws {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        for migration in PostgresSchema.migrations {
            try await transaction(on: connection) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: self.logger)
                let applied = try await connection.query("SELECT version FROM schema_migrations", logger: self.logger).collect()
                    .map { try $0.decode(Int.self) }
                if let newest = applied.max(), newest > PostgresSchema.latestVersion {
                    throw ServerSetupError("the database \(self.location.displayURL) is at schema version \(newest), newer than this fieldgate-server knows (\(PostgresSchema.latestVersion)): run a newer fieldgate-server")
                }
                guard !applied.contains(migration.version) else { return }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await migration.backfill?(connection, self.logger)
                try await connection.query("""
                    INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))
                    """, logger: self.logger)
            }
        }
    }

    /// Runs `body` in one transaction on a pooled connection: all of it is committed, or none.
    func transaction<Value: Sendable>(_ body: @Sendable (PostgresConnection, Logger) async throws -> Value) async throws -> Value {
        try await client.withConnection { connection in
            try await transaction(on: connection) { try await body($0, logger) }
        }
    }

    private func transaction<Value: Sendable>(on connection: PostgresConnection,
                                              _ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        try await connection.query("BEGIN", logger: logger)
        do {
            let value = try await body(connection)
            try await connection.query("COMMIT", logger: logger)
            return value
        } catch {
            // A broken connection rolls back by itself; the body's error is the one to report.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func connectionConfiguration() -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                             password: location.password, database: location.database,
                                                             tls: Self.connectionSecurity(location.security))
        configuration.options.connectTimeout = .seconds(Int64(Self.connectTimeout.components.seconds))
        return configuration
    }

    private static func clientSecurity(_ security: PostgresLocation.TransportSecurity) -> PostgresClient.Configuration.TLS {
        switch security {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    private static func connectionSecurity(_ security: PostgresLocation.TransportSecurity) -> PostgresConnection.Configuration.TLS {
        switch security {
        case .disable: return .disable
        case .prefer, .require:
            guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return .disable }
            return security == .require ? .require(context) : .prefer(context)
        }
    }

    /// The key of the advisory lock the migrations run under ("fgmigrat" in ASCII).
    private static let migrationLockKey: Int64 = 0x6667_6D69_6772_6174

    /// What went wrong, in the server's words when it gave any: PostgresNIO's own descriptions
    /// hide everything on purpose.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return describe(underlying) }
            return "\(error.code)"
        }
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }
}
