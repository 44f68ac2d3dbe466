import Crypto
import Foundation

/// The server's Ed25519 key, which signs receipts. Kept in `<data>/server-key` (raw 32 bytes,
/// mode 0600) and created on first use; gateways pin its public half at enrolment.
enum ServerKey {
    static func loadOrCreate(at url: URL) throws -> Curve25519.Signing.PrivateKey {
        if let raw = FileManager.default.contents(atPath: url.path) {
            do {
                return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            } catch {
                throw ServerSetupError("\(url.path) is not a raw 32-byte Ed25519 key; restore it from backup (receipts already issued were signed with it)")
            }
        }
        let key = Curve25519.Signing.PrivateKey()
        // O_EXCL: two processes starting at once must not both write a key.
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return try loadOrCreate(at: url) }
            throw ServerSetupError("cannot create the server key \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let raw = [UInt8](key.rawRepresentation)
        guard raw.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == raw.count, fsync(descriptor) == 0 else {
            throw ServerSetupError("cannot write the server key \(url.path): \(String(cString: strerror(errno)))")
        }
        try FileSync.syncFolder(url.deletingLastPathComponent())
        return key
    }
}

/// The server cannot start: the data folder, key or TLS files are unusable. The message says why.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
