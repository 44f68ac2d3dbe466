import Crypto
import Foundation
import Hummingbird

/// What every route needs: storage, the signing key, authentication, counters and limits.
struct ServerContext: Sendable {
    let repository: any EvidenceRepository
    let blobs: any BlobStorage
    let parts: UploadParts
    let signingKey: SigningKey
    let authenticator: GatewayAuthenticator
    let metrics: ServerMetrics
    let maxUploadSize: Int64
    let uploadsInProgress: UploadsInProgress
}

/// The server's private key, shared by every request.
final class SigningKey: @unchecked Sendable {
    // Immutable once created; swift-crypto does not mark the key Sendable, but reading and
    // signing with it from several tasks is safe.
    let key: Curve25519.Signing.PrivateKey

    init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }

    var publicKey: Curve25519.Signing.PublicKey { key.publicKey }
}

/// Uploads a PATCH or DELETE is working on: a second request on the same upload meanwhile
/// would interleave writes to one part file, so it is answered 409 instead.
actor UploadsInProgress {
    private var busy: Set<String> = []

    /// Runs `body` as the only request working on the upload, or throws 409 when another is.
    nonisolated func exclusively(_ uploadId: String, _ body: () async throws -> Response) async throws -> Response {
        guard await claim(uploadId) else {
            throw ServerError(.conflict, "upload \(uploadId) is being written by another request; retry after it ends")
        }
        do {
            let response = try await body()
            await release(uploadId)
            return response
        } catch {
            await release(uploadId)
            throw error
        }
    }

    private func claim(_ uploadId: String) -> Bool { busy.insert(uploadId).inserted }

    private func release(_ uploadId: String) { busy.remove(uploadId) }
}
