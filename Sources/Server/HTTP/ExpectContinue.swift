import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Sits in the HTTP/1 pipeline (after HTTP part decoding) and answers `Expect: 100-continue`:
/// `100 Continue` when a route asks for the body (``ConnectionContext/acceptBody()``); when
/// the route answers without asking, its final answer goes out with `Connection: close` and the
/// connection closes after it, since the body the client held back would otherwise be read as
/// the next request.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The event a route sends (through the channel) to have 100 Continue written.
    struct SendContinue: Sendable {}

    private enum State {
        /// The request being read did not ask, or its body has been read or continued already.
        case noExpectation
        /// The client waits for 100 Continue before it sends the body.
        case awaitingDecision
        /// The final answer went out without 100 Continue: the connection ends after it.
        case refused
    }

    private var state = State.noExpectation

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            state = head.headerFields[.expect]?.lowercased() == "100-continue" ? .awaitingDecision : .noExpectation
        case .end:
            // The whole request arrived (no body, or the client did not wait): nothing is held back.
            if state == .awaitingDecision { state = .noExpectation }
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is SendContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        guard state == .awaitingDecision else {
            promise?.succeed(())
            return
        }
        state = .noExpectation
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: promise)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response) where state == .awaitingDecision && response.status.kind != .informational:
            state = .refused
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end where state == .refused:
            state = .noExpectation
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { result in
                context.close(promise: nil)
                switch result {
                case .success: promise?.succeed(())
                case .failure(let error): promise?.fail(error)
                }
            }
        default:
            context.write(data, promise: promise)
        }
    }
}
