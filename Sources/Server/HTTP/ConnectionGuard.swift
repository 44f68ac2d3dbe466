import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// How long a client may keep a connection without progress, and how many connections the
/// server keeps at once, so that stalled and idle clients cannot hold uploads or starve it.
public struct ConnectionLimits: Sendable, Equatable {
    /// From a connection's opening to its first request's complete head.
    public var headerTimeout: Duration
    /// Between two pieces of a request body: a body that stops arriving (a half-open connection
    /// after a link drop) ends its request, which releases its upload, after this long.
    public var readTimeout: Duration
    /// Between an answer and the next request's head on a kept-alive connection.
    public var idleTimeout: Duration
    /// Connections held at once. A new one beyond it takes the place of the connection idle the
    /// longest (one waiting for a request, never one being served); when none is idle it is closed.
    public var maxConnections: Int

    public static let defaultHeaderTimeout: Duration = .seconds(10)
    public static let defaultReadTimeout: Duration = .seconds(30)
    public static let defaultIdleTimeout: Duration = .seconds(60)

    /// Half of what the process may open, less room for databases and part files, at most 4096:
    /// 480 under the usual limit of 1024 descriptors.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 1 << 20 else { return 4096 }
        return max(16, min(4096, (Int(limit.rlim_cur) - 64) / 2))
    }

    public init(headerTimeout: Duration = defaultHeaderTimeout, readTimeout: Duration = defaultReadTimeout,
                idleTimeout: Duration = defaultIdleTimeout, maxConnections: Int = defaultMaxConnections) {
        self.headerTimeout = headerTimeout
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The connections open now, for the cap: which are idle (waiting for a request) and since when.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        let channel: any Channel
        var idleSince: NIODeadline?
    }

    let limit: Int
    let metrics: ServerMetrics
    private let entries = NIOLockedValueBox<[ObjectIdentifier: Entry]>([:])

    init(limit: Int, metrics: ServerMetrics) {
        self.limit = max(1, limit)
        self.metrics = metrics
    }

    var count: Int { entries.withLockedValue { $0.count } }

    /// Takes a new connection (idle until its first head) when there is room, making room by
    /// closing the connection idle the longest; false when every connection is busy.
    func admit(_ channel: any Channel) -> Bool {
        let (admitted, evicted): (Bool, (any Channel)?) = entries.withLockedValue { entries in
            var evicted: (any Channel)?
            if entries.count >= limit {
                guard let oldest = entries.filter({ $0.value.idleSince != nil }).min(by: { $0.value.idleSince! < $1.value.idleSince! })
                else { return (false, nil) }
                evicted = entries.removeValue(forKey: oldest.key)?.channel
            }
            entries[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: .now())
            return (true, evicted)
        }
        if let evicted {
            metrics.connectionsEvicted.increment()
            evicted.close(promise: nil)
        }
        if !admitted { metrics.connectionsRefused.increment() }
        return admitted
    }

    func markIdle(_ channel: any Channel, _ idle: Bool) {
        entries.withLockedValue { $0[ObjectIdentifier(channel)]?.idleSince = idle ? .now() : nil }
    }

    func remove(_ channel: any Channel) {
        _ = entries.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Sits in each HTTP/1 connection's pipeline (after HTTP part decoding): closes the connection
/// when its client makes no progress for longer than ``ConnectionLimits`` allows — no complete
/// head, a body that stops arriving, or an idle kept-alive connection — and admits it against
/// the connection cap. Closing a connection mid-body ends its request's body with an error,
/// which ends the request and so releases the upload it held.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        case awaitingFirstHead, awaitingHead, readingBody, responding
    }

    private let limits: ConnectionLimits
    private let registry: ConnectionRegistry
    private let logger: Logger
    private var phase = Phase.awaitingFirstHead
    private var lastProgress = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, registry: ConnectionRegistry, logger: Logger) {
        self.limits = limits
        self.registry = registry
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastProgress = .now()
        guard registry.admit(context.channel) else {
            logger.warning("connection from \(context.remoteAddress?.description ?? "an unknown address") refused: \(registry.limit) connections are busy")
            context.close(promise: nil)
            return
        }
        schedule(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        registry.remove(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        registry.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastProgress = .now()
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            registry.markIdle(context.channel, false)
            reschedule(context)
        case .body:
            // The deadline only moves later: the timer, when it fires, looks again.
            break
        case .end:
            phase = .responding
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), phase == .responding {
            phase = .awaitingHead
            lastProgress = .now()
            registry.markIdle(context.channel, true)
            reschedule(context)
        }
        context.write(data, promise: promise)
    }

    /// When the connection must have made progress by, in its phase; nil while the server works.
    private var deadline: NIODeadline? {
        switch phase {
        case .awaitingFirstHead: lastProgress + limits.headerTimeout.timeAmount
        case .awaitingHead: lastProgress + limits.idleTimeout.timeAmount
        case .readingBody: lastProgress + limits.readTimeout.timeAmount
        case .responding: nil
        }
    }

    /// A new phase has its own deadline, possibly earlier than the one the timer waits for.
    private func reschedule(_ context: ChannelHandlerContext) {
        timer?.cancel()
        schedule(context)
    }

    private func schedule(_ context: ChannelHandlerContext) {
        // While the server works on an answer there is nothing to time; check again after the
        // shortest limit, by when the phase may have changed.
        let at = deadline ?? .now() + min(limits.headerTimeout, limits.readTimeout, limits.idleTimeout).timeAmount
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            guard context.channel.isActive else { return }
            if let deadline, deadline <= .now() {
                logger.info("closing connection from \(context.remoteAddress?.description ?? "an unknown address"): no progress while \(describe(phase)) within its timeout")
                context.close(promise: nil)
            } else {
                schedule(context)
            }
        }
    }

    private func describe(_ phase: Phase) -> String {
        switch phase {
        case .awaitingFirstHead: "waiting for the request's head"
        case .awaitingHead: "idle between requests"
        case .readingBody: "reading the request body"
        case .responding: "answering"
        }
    }
}
