import Hummingbird

/// Checks the gateway's credential (``GatewayAuthenticator``) before any route behind it runs and
/// puts the gateway in the request context. A refused request is answered 401 before its handler
/// asks for the body, so a client waiting on `Expect: 100-continue` never sends it.
struct GatewayAuthenticationMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let authenticator: GatewayAuthenticator

    func handle(_ request: Request, context: ServerRequestContext,
                next: (Request, ServerRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.gateway = try await authenticator.authenticate(request)
        return try await next(request, context)
    }
}

extension RouterMethods where Context == ServerRequestContext {
    /// Routes under `path` that only an enrolled gateway may call; their handlers find it in the
    /// context (``GatewayRequestContext/gateway``).
    func gatewayRoutes(_ path: RouterPath = "", authenticatedBy authenticator: GatewayAuthenticator) -> RouterGroup<GatewayRequestContext> {
        group(path)
            .add(middleware: GatewayAuthenticationMiddleware(authenticator: authenticator))
            .group(context: GatewayRequestContext.self)
    }
}
