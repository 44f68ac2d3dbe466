import AsyncHTTPClient
import Common
import Crypto
import Foundation
import NIOCore
import Store
import SyncProtocol

/// `fieldgate enroll`: makes the gateway's Ed25519 key, presents it with a one-time token, and
/// pins the server's key, against which every receipt is checked from then on.
public struct Enroller: Sendable {
    public let store: EvidenceStore
    public let client: HTTPClient
    public var retry: RetryPolicy

    public init(store: EvidenceStore, client: HTTPClient, retry: RetryPolicy = RetryPolicy(attempts: 4)) {
        self.store = store
        self.client = client
        self.retry = retry
    }

    /// - Parameter caCertificatePEM: kept with the enrolment; the caller's `client` must already trust it.
    public func enroll(serverURL: String, token: String, caCertificatePEM: String? = nil) async throws(SyncError) -> SyncEnrolment {
        let connection = try ServerConnection(client: client, serverURL: serverURL, credential: nil, retry: retry)
        let key = Curve25519.Signing.PrivateKey()
        let request = EnrollRequest(token: token, publicKey: key.publicKey.rawRepresentation.base64EncodedString())
        let body = try ServerConnection.json(request)
        let answer = try await connection.send(.POST, Route.enroll, headers: [("Content-Type", "application/json")], body: { .bytes(body) })
        try answer.expect([200, 201], doing: "enrolling")
        let response = try answer.decode(EnrollResponse.self)
        guard WireCoding.publicKey(base64: response.serverPublicKey) != nil else {
            throw .untrustedServer("the server's public key \(response.serverPublicKey) is not an Ed25519 key")
        }
        let enrolment = SyncEnrolment(
            serverURL: connection.root, gatewayId: response.gatewayId, gatewayName: response.gatewayName, credential: response.credential,
            serverPublicKey: response.serverPublicKey, gatewayPrivateKey: key.rawRepresentation, caCertificatePEM: caCertificatePEM,
            enrolledAt: Date())
        do {
            try store.save(enrolment: enrolment)
        } catch {
            throw .store("\(error)")
        }
        return enrolment
    }
}

extension SyncEnrolment {
    /// A short fingerprint of the pinned server key, for people to compare.
    public var serverKeyFingerprint: String {
        let raw = Data(base64Encoded: serverPublicKey) ?? Data()
        return "sha256:" + SHA256.hash(data: raw).hexString.prefix(16)
    }
}
