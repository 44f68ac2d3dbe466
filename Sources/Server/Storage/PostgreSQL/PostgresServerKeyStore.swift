import Foundation
import Logging
import PostgresNIO

/// The server key in the `server_key` row, shared by every instance on the database.
struct PostgresServerKeyStore: ServerKeyStore {
    let database: PostgresDatabase
    let logger: Logger

    var place: String { "the database" }

    func keptKey() async throws -> KeptServerKey? {
        guard let row = try await database.client.query("SELECT public_key, private_key FROM server_key", logger: logger)
            .collect().first else { return nil }
        let (publicKey, privateKey) = try row.decode((Data, Data?).self)
        return KeptServerKey(publicKey: publicKey, privateKey: privateKey)
    }

    func keep(_ key: KeptServerKey) async throws -> KeptServerKey {
        try await database.client.query("""
            INSERT INTO server_key (public_key, private_key, kept_at) VALUES (\(key.publicKey), \(key.privateKey), \(Date()))
            ON CONFLICT (singleton) DO NOTHING
            """, logger: logger)
        guard let kept = try await keptKey() else { throw RepositoryError.corrupt("the server key was stored and is gone") }
        return kept
    }
}
