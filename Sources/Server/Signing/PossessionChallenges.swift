import Common
import Crypto
import Foundation
import SyncProtocol

/// Proof that a gateway holds a blob another gateway uploaded, without sending it: the server
/// asks for the SHA-256 over a nonce and a range of the blob it chose, and accepts the answer
/// only when it holds the blob and its own computation agrees. The nonce and range come from an
/// HMAC of the batch and hash under a key derived from the server's signing key, so the server
/// keeps no state for them and a gateway cannot predict them for a batch it has not opened.
struct PossessionChallenges: Sendable {
    // The raw key bytes (SymmetricKey is not Sendable); immutable.
    private let key: Data
    /// Bytes a proof covers at most (the whole blob when smaller): enough to need the blob, few
    /// enough to check on every answer.
    static let rangeLength: Int64 = 1 << 20

    init(signingKey: SigningKey) {
        key = Data(SHA256.hash(data: Data("fieldgate possession challenge".utf8) + signingKey.key.rawRepresentation))
    }

    /// The challenge for one blob of a batch, its range placed within the size the manifest declares.
    func challenge(batchId: String, sha256: String, declaredSize: Int64) -> PossessionChallenge {
        let nonce = Data(HMAC<SHA256>.authenticationCode(for: Data("\(batchId)/\(sha256)".utf8), using: SymmetricKey(data: key)))
        let size = max(0, declaredSize)
        let length = min(size, Self.rangeLength)
        let positions = UInt64(size - length + 1)
        let draw = nonce.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return PossessionChallenge(sha256: sha256, nonce: nonce.base64EncodedString(), offset: Int64(draw % positions), length: length)
    }

    /// The answer a holder of `bytes` (the challenged range) gives.
    static func proof(for challenge: PossessionChallenge, over bytes: Data) -> String? {
        guard let nonce = Data(base64Encoded: challenge.nonce) else { return nil }
        var hasher = SHA256()
        hasher.update(data: nonce)
        hasher.update(data: bytes)
        return hasher.finalize().hexString
    }
}
