import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The status page for the person at the dock, and the same data as JSON: `/` (the page),
/// `/api/status`, `/api/labels`, `/healthz`. Read-only, GET only, loopback unless told otherwise.
public struct StatusPage: Sendable {
    public let board: StatusBoard
    public let host: String
    public let port: Int
    /// Connections served at once; one more is closed at once. Idle ones close after `idleTimeout`.
    public var maxConnections = 64
    public var idleTimeout: TimeAmount = .seconds(30)

    public init(board: StatusBoard, host: String, port: Int) {
        self.board = board
        self.host = host
        self.port = port
    }

    /// A bound listener: the address it got (port 0 picks a free one).
    public struct Listener: Sendable {
        public let host: String
        public let port: Int
        let channel: any Channel

        /// Closes the listener; connections being served finish their answer.
        public func close() async {
            try? await channel.close()
        }
    }

    /// Binds and serves. Requests are answered on NIO's event loop by a plain channel handler,
    /// not in Swift tasks: the page stays up however busy the bays and the sync keep the
    /// cooperative thread pool.
    public func bind() async throws -> Listener {
        let idle = idleTimeout
        let slots = ConnectionSlots(limit: maxConnections)
        let page = self
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard slots.take() else { return channel.close() }
                channel.closeFuture.whenComplete { _ in slots.give() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StatusRequestHandler(page: page))
                }
            }
            .bind(host: host, port: port).get()
        let port = channel.localAddress?.port ?? port
        return Listener(host: host, port: port, channel: channel)
    }

    struct Answer {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
    }

    func respond(to request: HTTPRequestHead) -> Answer {
        guard request.method == .GET || request.method == .HEAD else {
            return Answer(status: .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: Array("only GET\n".utf8))
        }
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        switch path {
        case "/":
            return Answer(status: .ok, contentType: "text/html; charset=utf-8", body: Array(StatusPageAssets.html.utf8))
        case "/api/status":
            return json(board.snapshot())
        case "/api/labels":
            return json(StatusLabels.table)
        case "/healthz":
            return Answer(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
        default:
            return Answer(status: .notFound, contentType: "text/plain; charset=utf-8", body: Array("not found\n".utf8))
        }
    }

    func json<T: Encodable>(_ value: T) -> Answer {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Answer(status: .ok, contentType: "application/json", body: Array(try encoder.encode(value)))
        } catch {
            return Answer(status: .internalServerError, contentType: "text/plain; charset=utf-8", body: Array("cannot encode the status\n".utf8))
        }
    }
}

/// Answers each request of a connection on its event loop.
private final class StatusRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let page: StatusPage
    private var head: HTTPRequestHead?

    init(page: StatusPage) { self.page = page }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let answer = page.respond(to: request)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType)
            headers.add(name: "Content-Length", value: String(answer.body.count))
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            headers.add(name: "Content-Security-Policy", value: "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: answer.status, headers: headers))), promise: nil)
            if request.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
            }
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !request.isKeepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// Closes a connection that sent nothing for the idle timeout (a stalled or forgotten client).
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

final class ConnectionSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var free: Int

    init(limit: Int) { free = limit }
    func take() -> Bool { lock.withLock { guard free > 0 else { return false }; free -= 1; return true } }
    func give() { lock.withLock { free += 1 } }
}
