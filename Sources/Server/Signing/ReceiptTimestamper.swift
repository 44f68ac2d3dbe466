import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import SyncProtocol
import Timestamping

/// Where the server gets RFC 3161 time-stamps over its receipts.
public struct TimestampAuthorityConfiguration: Sendable {
    /// The authority's URL (queries are POSTed as `application/timestamp-query`).
    public var url: String
    /// The CA certificates (PEM) that verify the authority's tokens, handed to gateways and
    /// bundles with each token.
    public var certificatesPEM: String
    /// The wait after a failed attempt; it doubles with each failure in a row, up to `maxRetryInterval`.
    public var retryInterval: Duration = .seconds(10)
    public var maxRetryInterval: Duration = .seconds(600)
    /// How long one request may take.
    public var requestTimeout: Duration = .seconds(20)

    public init(url: String, certificatesPEM: String) {
        self.url = url
        self.certificatesPEM = certificatesPEM
    }
}

/// Asks the time-stamping authority for a token over each receipt the server signed, in the
/// background: a receipt is issued at once and is "time-stamp pending" until its token arrives;
/// an authority that is down only delays tokens (retried with backoff), never receipts.
actor ReceiptTimestamper {
    let authority: TimestampAuthorityConfiguration
    let repository: any EvidenceRepository
    let metrics: ServerMetrics
    let clock: ServerClock
    private var lastFailure: String?
    private var failuresInARow = 0
    private var nudged = false
    /// The largest reply accepted: a token with its certificate chain is a few KiB.
    static let maxReplySize = 1 << 20
    /// Receipts looked at per round.
    static let roundSize = 64

    init(authority: TimestampAuthorityConfiguration, repository: any EvidenceRepository, metrics: ServerMetrics, clock: ServerClock) {
        self.authority = authority
        self.repository = repository
        self.metrics = metrics
        self.clock = clock
    }

    /// Why the last attempt failed, while receipts wait for their token.
    var pendingReason: String { lastFailure ?? "asked for; the authority has not answered yet" }

    /// Starts a round now rather than at the next interval (a receipt was just signed).
    func nudge() { nudged = true }

    /// Rounds until cancelled: every pending receipt, then a wait (longer after failures).
    func run(logger: Logger) async {
        while !Task.isCancelled {
            await stampPending(logger: logger)
            let wait = failuresInARow == 0 ? authority.retryInterval : backoff
            let step = Duration.milliseconds(50)
            var waited = Duration.zero
            while waited < wait && !nudged && !Task.isCancelled {
                try? await Task.sleep(for: step)
                waited += step
            }
            nudged = false
        }
    }

    private var backoff: Duration {
        var wait = authority.retryInterval
        for _ in 1..<max(failuresInARow, 1) where wait < authority.maxRetryInterval { wait *= 2 }
        return min(wait, authority.maxRetryInterval)
    }

    /// One round: a token for each receipt without one, oldest first, stopping at the first
    /// failure (the authority is down or misbehaving; the rest wait for the next round).
    @discardableResult
    func stampPending(logger: Logger) async -> Int {
        var stamped = 0
        do {
            for (batchId, receipt) in try await repository.receiptsAwaitingTimestamp(limit: Self.roundSize) {
                try await stamp(batchId: batchId, receipt: receipt)
                stamped += 1
            }
            failuresInARow = 0
            lastFailure = nil
        } catch {
            failuresInARow += 1
            metrics.timestampFailures.increment()
            lastFailure = "the time-stamping authority at \(authority.url) gave no token: \(error)"
            logger.warning("receipt time-stamps pending: \(lastFailure ?? "")")
        }
        return stamped
    }

    private func stamp(batchId: String, receipt: String) async throws {
        let payload = try Self.receiptPayload(receipt, of: batchId)
        let query = TimeStampQuery(imprint: MessageImprint(sha256: Array(SHA256.hash(data: payload))))
        var request = HTTPClientRequest(url: authority.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/timestamp-query")
        request.body = .bytes(ByteBuffer(bytes: try query.derEncoded()))
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .init(authority.requestTimeout))
        } catch {
            throw TimestampError.unreachable("\(error)")
        }
        let body = try await response.body.collect(upTo: Self.maxReplySize)
        guard response.status == .ok else {
            throw TimestampError.unreachable("HTTP \(response.status.code)")
        }
        let reply = try TimeStampReply(derEncoded: Array(body.readableBytesView))
        let info = try reply.check(answering: query)
        try await repository.storeTimestamp(batchId: batchId, reply: Data(reply.derBytes), stampedAt: info.time, at: clock.now())
        metrics.receiptsTimestamped.increment()
    }

    /// The receipt's payload bytes exactly as signed: what the token stamps, and what a bundle
    /// holds as the receipt.
    static func receiptPayload(_ receipt: String, of batchId: String) throws -> Data {
        guard let payload = Data(base64Encoded: try BatchRoutes.storedReceipt(receipt, of: batchId).payload) else {
            throw RepositoryError.corrupt("batch \(batchId)'s stored receipt has a payload that is not base64")
        }
        return payload
    }
}
