import Crypto
import Foundation
import Logging
import PostgresNIO

/// Upload locks held in PostgreSQL, so that servers sharing one database never write one upload
/// at once. The lock is a session-level advisory lock (`pg_try_advisory_lock`, never waiting)
/// on a connection leased for the whole request from a pool of its own, so holders never starve
/// the queries their requests make. It is released when the request ends, and by PostgreSQL
/// itself when that connection closes: a killed server holds nothing.
final class PostgresUploadLocks: UploadLocks {
    private let local = InProcessUploadLocks()
    private let database: PostgresDatabase
    private let logger: Logger

    init(database: PostgresDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    func exclusively<Value: Sendable>(_ uploadId: String, _ body: () async throws -> Value) async throws -> Value {
        // Requests of this process meet here first, without a round trip.
        try await local.exclusively(uploadId) {
            try await database.lockClient.withConnection { connection in
                let key = Self.key(uploadId)
                let taken = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).collect().first?
                    .decode(Bool.self) ?? false
                guard taken else { throw UploadLockError.busy(uploadId) }
                let outcome: Result<Value, any Error>
                do {
                    outcome = .success(try await body())
                } catch {
                    outcome = .failure(error)
                }
                // A lock that cannot be released goes with its connection.
                if (try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)) == nil {
                    try? await connection.close()
                }
                return try outcome.get()
            }
        }
    }

    /// The lock's 64-bit key: the first 8 bytes of the upload id's SHA-256. Two ids sharing a key
    /// could only make one wait (423), never write together.
    static func key(_ uploadId: String) -> Int64 {
        let digest = Array(SHA256.hash(data: Data("fieldgate upload \(uploadId)".utf8)))
        return digest.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}
