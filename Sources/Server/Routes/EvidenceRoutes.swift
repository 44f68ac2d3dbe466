import Hummingbird
import SyncProtocol

/// `GET /v1/evidence/{sha256}`: what the server holds of a blob for the asking gateway.
struct EvidenceRoutes {
    let context: ServerContext

    func register(on router: Router<ServerRequestContext>) {
        router.gatewayRoutes(authenticatedBy: context.authenticator)
            .get(RouterPath(Route.evidence(Route.Parameter.pattern(Route.Parameter.sha256)))) { _, requestContext in
                try await evidence(sha256: requestContext.parameters.require(Route.Parameter.sha256), of: requestContext.gateway)
            }
    }

    func evidence(sha256: String, of gateway: GatewayRecord) async throws -> EvidenceRecord {
        guard WireCoding.isSHA256(sha256) else {
            throw ServerError.badRequest("\"\(sha256)\" is not a SHA-256: expected 64 lower-case hex digits")
        }
        let entries = try await context.repository.evidenceEntries(sha256: sha256, gatewayId: gateway.id)
        guard !entries.isEmpty, let size = try await context.repository.blobSize(sha256: sha256) else {
            throw ServerError.notFound("gateway \(gateway.name) has no committed evidence with sha256 \(sha256)")
        }
        return EvidenceRecord(sha256: sha256, size: size, entries: entries)
    }
}
