import AsyncHTTPClient
import Devices
import Foundation
import NIOCore
import Store
import Sync

/// The station's sync: stored evidence goes to the enrolled server without anyone typing
/// `sync` — new items within seconds, in batches, important first (the sync queue's order),
/// with backoff while the server cannot be reached, within `limit_rate` and `upload_windows`.
/// Collection has priority for the disk: while a bay copies, one upload at a time.
public struct BackgroundSync: Sendable {
    public let store: EvidenceStore
    public let config: GatewayConfig
    public let board: StatusBoard
    public let stop: StopFlag
    /// How soon new items are noticed.
    public var interval: Duration = .seconds(2)
    /// The longest wait between tries while the server cannot be reached.
    public var maxBackoff: Duration = .seconds(60)
    /// Called when a round brought receipts (the station frees docked cameras).
    public var receiptsArrived: @Sendable () -> Void = {}
    let log: @Sendable (String) -> Void

    public init(store: EvidenceStore, config: GatewayConfig, board: StatusBoard, stop: StopFlag,
                log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.config = config
        self.board = board
        self.stop = stop
        self.log = log
    }

    public func run() async {
        var client: HTTPClient?
        var backoff = interval
        while !stop.isRaised {
            var wait = interval
            do {
                let outcome = try await round(client: &client)
                switch outcome {
                case .idle, .synced:
                    backoff = interval
                case .serverUnreachable:
                    wait = backoff
                    backoff = min(backoff * 2, maxBackoff)
                case .outsideWindow:
                    backoff = interval  // the queue is still looked at, to keep the page true
                }
            } catch {
                log("sync: \(error)")
                board.setSync { $0.lastProblem = "\(error)" }
            }
            await sleep(wait)
        }
        try? await client?.shutdown()
    }

    enum Outcome { case idle, synced, serverUnreachable, outsideWindow }

    /// One look at the queue, and one sync if there is something to send and it may be sent now.
    func round(client: inout HTTPClient?) async throws -> Outcome {
        let status = try store.syncStatus(waitingLimit: 0)
        let enrolment = try store.enrolment()
        let lateCutoff = Date().addingTimeInterval(-24 * 3600)
        let late = try store.waitingItems(takenBefore: lateCutoff)
        let inWindow = config.uploadWindows.allows(Date(), in: config.timeZone)
        board.setSync { sync in
            sync.enrolled = enrolment != nil
            sync.server = enrolment?.serverURL
            sync.collected = status.collected
            sync.pending = status.pending + status.uploading + status.uploaded
            sync.uploading = status.uploading
            sync.receipted = status.receipted
            sync.refused = status.refused
            sync.retainedOnlineRate = status.retainedOnline
            sync.lastReceiptAt = status.lastReceiptAt
            sync.waitingOverADay = late
            sync.inUploadWindow = inWindow
        }
        guard let enrolment else { return .idle }
        guard inWindow else { return .outsideWindow }
        guard status.pending + status.uploading + status.uploaded > 0 else { return .idle }
        guard let lock = try store.tryLock(.sync) else {
            board.setSync { $0.lastProblem = "a sync typed by hand is running; the station waits for it" }
            return .idle
        }
        defer { lock.release() }
        if client == nil { client = try HTTPClient.forSync(enrolment) }
        guard let client else { return .idle }
        var options = SyncOptions()
        options.limitRate = config.limitRate
        options.unit = config.unit
        options.parallel = board.anyCollecting ? 1 : SyncOptions.defaultParallel
        // A few quick tries: the station's own loop backs off between rounds.
        options.retry = RetryPolicy(attempts: 3)
        board.setSync { $0.syncing = true }
        defer { board.setSync { $0.syncing = false } }
        let receiptedBefore = status.receipted
        let result: Result<SyncSummary, SyncError>
        do {
            result = .success(try await SyncClient(store: store, client: client).sync(options: options))
        } catch {
            result = .failure(error)
        }
        let after = try store.syncStatus(waitingLimit: 0)
        if after.receipted > receiptedBefore {
            log("sync: \(after.receipted - receiptedBefore) item(s) receipted; \(after.pending + after.uploading + after.uploaded) waiting")
            receiptsArrived()
        }
        let reachable: Bool
        switch result {
        case .success(let summary):
            reachable = summary.isComplete || after.receipted > receiptedBefore ? true : await Self.serverAnswers(enrolment.serverURL, client: client)
            board.setSync { $0.lastProblem = summary.stoppedBecause }
        case .failure(let error):
            reachable = error.isTransient ? false : await Self.serverAnswers(enrolment.serverURL, client: client)
            board.setSync { $0.lastProblem = error.description }
            log("sync: \(error)")
        }
        board.setSync { sync in
            sync.serverReachable = reachable
            sync.pending = after.pending + after.uploading + after.uploaded
            sync.uploading = after.uploading
            sync.receipted = after.receipted
            sync.refused = after.refused
            sync.retainedOnlineRate = after.retainedOnline
            sync.lastReceiptAt = after.lastReceiptAt
        }
        return reachable ? .synced : .serverUnreachable
    }

    /// Whether the server answers its health check at all (a refusal still means it is up).
    static func serverAnswers(_ serverURL: String, client: HTTPClient) async -> Bool {
        let url = serverURL.hasSuffix("/") ? serverURL + "healthz" : serverURL + "/healthz"
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            _ = try? await response.body.collect(upTo: 1 << 16)
            return true
        } catch {
            return false
        }
    }

    /// Sleeps `duration`, waking early when the station stops.
    private func sleep(_ duration: Duration) async {
        let end = ContinuousClock.now + duration
        while !stop.isRaised && ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(250), end - ContinuousClock.now))
        }
    }
}
