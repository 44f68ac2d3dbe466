import Foundation
import Hummingbird

/// Checks `Authorization: Bearer <gatewayId>.<secret>` against the database on every request,
/// with no cache, so a revocation made by `fieldgate-server gateways revoke` (another process)
/// takes effect at the next request.
struct GatewayAuthenticator: Sendable {
    let repository: any EvidenceRepository
    let metrics: ServerMetrics
    /// The server's clock: when a gateway was last heard of is what reconciliation reads.
    var clock = ServerClock()
    /// lastSeenAt is written at most this often per gateway, not on every chunk.
    static let lastSeenResolution: TimeInterval = 60

    func authenticate(_ request: Request) async throws -> GatewayRecord {
        do {
            return try await check(request)
        } catch let error as ServerError where error.status == .unauthorized {
            metrics.requestsUnauthorized.increment()
            throw error
        }
    }

    private func check(_ request: Request) async throws -> GatewayRecord {
        guard let header = request.headers[.authorization] else {
            throw ServerError.unauthorized("missing Authorization header: send \"Bearer <credential>\" with the credential enrolment returned")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw ServerError.unauthorized("Authorization must be \"Bearer <credential>\"")
        }
        let credential = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard let dot = credential.firstIndex(of: "."), dot != credential.startIndex,
              credential.index(after: dot) != credential.endIndex else {
            throw ServerError.unauthorized("malformed credential: expected <gatewayId>.<secret> as enrolment returned it")
        }
        let gatewayId = String(credential[..<dot]), secret = String(credential[credential.index(after: dot)...])
        guard let gateway = try await repository.gateway(id: gatewayId), let secretHash = gateway.secretHash,
              Credentials.constantTimeEqual(Credentials.hash(secret), secretHash) else {
            throw ServerError.unauthorized("credential not recognised: enrol the gateway again with a new token")
        }
        guard gateway.state != .revoked else {
            throw ServerError.unauthorized("gateway \(gateway.name) has been revoked")
        }
        let now = clock.now()
        if gateway.lastSeenAt.map({ now.timeIntervalSince($0) > Self.lastSeenResolution }) ?? true {
            try await repository.recordSeen(gatewayId: gateway.id, at: now)
        }
        return gateway
    }
}
