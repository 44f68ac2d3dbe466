import Foundation
import Hummingbird
import SyncProtocol

/// `POST /v1/enroll`: spends a one-time token, records the gateway's key, and returns its credential.
struct EnrollRoutes {
    let context: ServerContext

    func register(on router: Router<ServerRequestContext>) {
        router.post(RouterPath(Route.enroll)) { request, requestContext in try await enroll(request, requestContext: requestContext) }
    }

    func enroll(_ request: Request, requestContext: ServerRequestContext) async throws -> EnrollResponse {
        let address = requestContext.channel.remoteAddress?.ipAddress ?? "unknown"
        if let wait = context.enrolmentThrottle.wait(for: address) {
            context.metrics.enrolmentsThrottled.increment()
            requestContext.logger.warning("enrolment from \(address) refused: \(context.enrolmentThrottle.limit) failed attempts within \(Int(context.enrolmentThrottle.window)) s")
            throw ServerError(.tooManyRequests, "too many failed enrolments from this address: try again in \(Int(wait.rounded(.up))) s",
                              headers: [.retryAfter: String(Int(wait.rounded(.up)))])
        }
        do {
            return try await enroll(request, from: address, requestContext: requestContext)
        } catch let error as ServerError where error.status == .unauthorized || error.status == .badRequest {
            // Logged with the address, never the token.
            context.enrolmentThrottle.recordFailure(from: address)
            context.metrics.enrolmentFailures.increment()
            requestContext.logger.warning("enrolment from \(address) failed: \(error.reason)")
            throw error
        }
    }

    private func enroll(_ request: Request, from address: String, requestContext: ServerRequestContext) async throws -> EnrollResponse {
        let body = try await JSONBody.collect(request, limit: 64 << 10, what: "the enrolment request", context: requestContext)
        let enrollment = try JSONBody.decode(EnrollRequest.self, from: body, what: "the enrolment request")
        guard WireCoding.publicKey(base64: enrollment.publicKey) != nil else {
            throw ServerError.badRequest("publicKey is not a base64 raw 32-byte Ed25519 public key")
        }
        let secret = Credentials.randomSecret()
        let outcome = try await context.repository.enroll(tokenHash: Credentials.hash(enrollment.token),
                                                          publicKey: enrollment.publicKey,
                                                          secretHash: Credentials.hash(secret))
        switch outcome {
        case .enrolled(let gateway):
            return EnrollResponse(gatewayId: gateway.id, gatewayName: gateway.name, credential: "\(gateway.id).\(secret)",
                                  serverPublicKey: context.signingKey.publicKey.rawRepresentation.base64EncodedString())
        case .unknownToken:
            context.metrics.requestsUnauthorized.increment()
            throw ServerError.unauthorized("enrolment token not recognised: ask for a new one (fieldgate-server gateways add)")
        case .tokenAlreadyUsed:
            context.metrics.requestsUnauthorized.increment()
            throw ServerError.unauthorized("enrolment token has already been used: each token enrols once; ask for a new gateway token")
        case .revoked(let gateway):
            context.metrics.requestsUnauthorized.increment()
            throw ServerError.unauthorized("gateway \(gateway.name) has been revoked")
        }
    }
}
