import Crypto
import Foundation
import Hummingbird

/// What every route needs: storage, the signing key, authentication, counters and limits.
struct ServerContext: Sendable {
    let repository: any EvidenceRepository
    let blobs: any BlobStorage
    let staging: any UploadStaging
    let signingKey: SigningKey
    let authenticator: GatewayAuthenticator
    let metrics: ServerMetrics
    let maxUploadSize: Int64
    /// One writer per upload at a time.
    let uploadLocks: any UploadLocks
    let digests: UploadDigests
    let quotas: UploadQuotas
    /// What "now" is for uploads' timestamps and expiry (a test moves it).
    let clock: ServerClock
    /// Failed enrolments per client address.
    let enrolmentThrottle: EnrolmentThrottle
    /// Gets receipts time-stamped, when the server was given an authority.
    let timestamper: ReceiptTimestamper?
    /// The console's sign-ins and sessions, and its pages.
    let consoleSignIn: ConsoleSignIn
    let consolePages: ConsolePages

    var challenges: PossessionChallenges { PossessionChallenges(signingKey: signingKey) }

    /// Completes uploads whose bytes are all acknowledged, however the last attempt ended.
    var completion: UploadCompletion {
        UploadCompletion(repository: repository, blobs: blobs, staging: staging, digests: digests, metrics: metrics, clock: clock)
    }
}

/// The server's idea of the current time.
public struct ServerClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) { self.now = now }
}

/// The server's private key, shared by every request.
final class SigningKey: @unchecked Sendable {
    // Immutable once created; swift-crypto does not mark the key Sendable, but reading and
    // signing with it from several tasks is safe.
    let key: Curve25519.Signing.PrivateKey

    init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }

    var publicKey: Curve25519.Signing.PublicKey { key.publicKey }
}
