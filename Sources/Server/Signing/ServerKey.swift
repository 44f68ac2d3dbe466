import Common
import Crypto
import Foundation

/// The server's receipt-signing key as it is kept: its public half always (gateways pin it at
/// enrolment), its private half unless the key is kept outside, in a `--server-key` file.
struct KeptServerKey: Sendable, Equatable {
    var publicKey: Data
    var privateKey: Data?

    init(_ key: Curve25519.Signing.PrivateKey) {
        publicKey = key.publicKey.rawRepresentation
        privateKey = key.rawRepresentation
    }

    init(publicKey: Data, privateKey: Data?) {
        self.publicKey = publicKey
        self.privateKey = privateKey
    }

    var fingerprint: String { ServerKey.fingerprint(publicKey) }
}

/// Where the server's key is kept: a file in the data folder on the embedded backend, the
/// database itself on PostgreSQL, so that every instance on it signs with one key and a new
/// instance needs no file copied.
protocol ServerKeyStore: Sendable {
    /// For messages: "the database", or the file's path.
    var place: String { get }
    func keptKey() async throws -> KeptServerKey?
    /// Keeps `key` unless a key is kept already, and returns the one kept: when several
    /// instances start at once, the first to store wins and the others adopt its key.
    func keep(_ key: KeptServerKey) async throws -> KeptServerKey
}

/// The server's Ed25519 key, which signs receipts; gateways pin its public half at enrolment,
/// so once a gateway has enrolled it must never change.
enum ServerKey {
    /// The key to sign with. Kept in `store`, created there on first use. `override` (the
    /// `--server-key` file) signs instead, but only if it is the key already kept, or no key
    /// is kept yet (then only its public half is kept, and later starts need the file).
    /// `legacyFile` is where an older build kept the key of a database that now keeps it: it
    /// is adopted when the database has no key yet.
    static func resolve(store: any ServerKeyStore, override: URL?, legacyFile: URL?) async throws -> Curve25519.Signing.PrivateKey {
        let overriding = try override.map { url -> Curve25519.Signing.PrivateKey in
            guard let key = try load(url) else { throw ServerSetupError("--server-key \(url.path): no such file") }
            return key
        }
        let legacy = try legacyFile.flatMap(load)
        var kept = try await store.keptKey()
        if kept == nil {
            let candidate = if let overriding { KeptServerKey(publicKey: overriding.publicKey.rawRepresentation, privateKey: nil) }
                            else { KeptServerKey(legacy ?? Curve25519.Signing.PrivateKey()) }
            kept = try await store.keep(candidate)
        }
        guard let kept else { throw ServerSetupError("\(store.place) kept no server key") }
        if let legacy, legacy.publicKey.rawRepresentation != kept.publicKey, let legacyFile {
            throw ServerSetupError("\(legacyFile.path) holds a server key (\(fingerprint(legacy.publicKey.rawRepresentation))) other than the one \(store.place) keeps (\(kept.fingerprint)); gateways enrolled with either would reject receipts signed by the other. Keep the one the gateways pinned (fieldgate sync status shows it) and move the other file away")
        }
        if let overriding, let override {
            guard overriding.publicKey.rawRepresentation == kept.publicKey else {
                throw ServerSetupError("--server-key \(override.path) is key \(fingerprint(overriding.publicKey.rawRepresentation)), but gateways pinned \(kept.fingerprint) (kept in \(store.place)): receipts signed with it would be rejected")
            }
            return overriding
        }
        guard let privateKey = kept.privateKey else {
            throw ServerSetupError("\(store.place) keeps only the public half of the server key (\(kept.fingerprint)): it is kept in a file, give it with --server-key FILE")
        }
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey)
            guard key.publicKey.rawRepresentation == kept.publicKey else { throw ServerSetupError("mismatch") }
            return key
        } catch {
            throw ServerSetupError("the server key kept in \(store.place) is damaged (its halves do not match); restore it from backup (receipts already issued were signed with it)")
        }
    }

    /// The key in `url` (raw 32 bytes), nil when there is no such file.
    static func load(_ url: URL) throws -> Curve25519.Signing.PrivateKey? {
        guard let raw = FileManager.default.contents(atPath: url.path) else { return nil }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw ServerSetupError("\(url.path) is not a raw 32-byte Ed25519 key; restore it from backup (receipts already issued were signed with it)")
        }
    }

    /// The short form gateways show (`sha256:` and 16 hex digits of the public key's digest).
    static func fingerprint(_ publicKey: Data) -> String {
        "sha256:" + SHA256.hash(data: publicKey).hexString.prefix(16)
    }
}

/// The embedded backend's key: `<data>/server-key` (raw 32 bytes, mode 0600), or, when it is
/// kept in a `--server-key` file, its public half in `<data>/server-key.pub`.
struct FileServerKeyStore: ServerKeyStore {
    let url: URL
    var publicURL: URL { url.appendingPathExtension("pub") }
    var place: String { url.deletingLastPathComponent().path }

    func keptKey() async throws -> KeptServerKey? {
        if let key = try ServerKey.load(url) { return KeptServerKey(key) }
        guard let raw = FileManager.default.contents(atPath: publicURL.path) else { return nil }
        guard raw.count == 32 else { throw ServerSetupError("\(publicURL.path) is not a raw 32-byte Ed25519 public key") }
        return KeptServerKey(publicKey: raw, privateKey: nil)
    }

    func keep(_ key: KeptServerKey) async throws -> KeptServerKey {
        let target = key.privateKey == nil ? publicURL : url
        // O_EXCL: two processes starting at once must not both write a key.
        let descriptor = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST, let kept = try await keptKey() { return kept }
            throw ServerSetupError("cannot create the server key \(target.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let raw = [UInt8](key.privateKey ?? key.publicKey)
        guard raw.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == raw.count, fsync(descriptor) == 0 else {
            throw ServerSetupError("cannot write the server key \(target.path): \(String(cString: strerror(errno)))")
        }
        try FileSync.syncFolder(target.deletingLastPathComponent())
        return key
    }
}

/// The server cannot start: the data folder, key or TLS files are unusable. The message says why.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
