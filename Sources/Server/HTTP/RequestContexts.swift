import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SyncProtocol

/// A request context that knows its connection, so a route can answer `Expect: 100-continue`
/// once it has decided to take the body.
protocol ConnectionContext: RequestContext {
    var channel: any Channel { get }
}

extension ConnectionContext {
    /// Tells a client waiting on `Expect: 100-continue` to send its body. Called only once the
    /// request is known to be accepted (credential, offset, size checked), just before reading
    /// the body; a request refused before this point gets its final answer instead, and its
    /// client never sends the body. Does nothing for a client that did not ask.
    func acceptBody() async {
        try? await channel.triggerUserOutboundEvent(ExpectContinueHandler.SendContinue()).get()
    }
}

/// The request context every route gets: Hummingbird's core context, the connection, and,
/// once ``GatewayAuthenticationMiddleware`` has checked the credential, the gateway.
struct ServerRequestContext: ConnectionContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set by ``GatewayAuthenticationMiddleware``; nil on the routes anyone may call.
    var gateway: GatewayRecord?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Codable answers are written as the gateway reads them (``WireCoding``).
    var responseEncoder: JSONEncoder { WireCoding.encoder }
}

/// The context of a route only an enrolled gateway may call: the gateway is always there, so a
/// handler cannot forget to check it.
struct GatewayRequestContext: ChildRequestContext, ConnectionContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    let gateway: GatewayRecord

    init(context: ServerRequestContext) throws {
        // Only reachable for a route grouped without the middleware: refused rather than served
        // to nobody in particular.
        guard let gateway = context.gateway else {
            throw ServerError.unauthorized("this route needs a gateway credential: send \"Bearer <credential>\"")
        }
        coreContext = context.coreContext
        channel = context.channel
        self.gateway = gateway
    }

    var responseEncoder: JSONEncoder { WireCoding.encoder }
}
