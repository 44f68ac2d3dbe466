import AsyncHTTPClient
import Common
import Crypto
import Foundation
import NIOCore
import Store
import SyncProtocol

/// Settings of one `fieldgate sync`.
public struct SyncOptions: Sendable {
    /// Items per manifest.
    public var batchSize = 100
    /// Bytes per PATCH; each carries its own checksum. Chunks stream from the stored copy, so
    /// memory does not grow with their size; larger chunks cost fewer round trips and syncs,
    /// smaller ones lose less when a connection drops mid-chunk.
    public var chunkSize = SyncOptions.defaultChunkSize
    public static let defaultChunkSize = 16 << 20
    /// Blobs uploaded at once: one blob's round trips and the server's syncs leave the link
    /// idle, which the others fill. Never two requests for one blob.
    public var parallel = SyncOptions.defaultParallel
    public static let defaultParallel = 4
    /// Bytes per second for all uploads together; nil for no limit.
    public var limitRate: Int64?
    public var retry = RetryPolicy()
    /// What the rate limit measures and waits on.
    public var clock: any SyncClock = SystemClock()
    /// Try again items the server refused (after their stored copy was restored).
    public var retryRefused = false
    /// The gateway's unit (执法单位), sent with items whose officer's roster entry names none.
    public var unit: String?

    public init() {}
}

/// Where a sync stands, for a progress bar.
public struct SyncProgress: Sendable {
    public var itemsDone: Int
    public var itemsTotal: Int
    public var bytesDone: Int64
    public var bytesTotal: Int64
}

/// What a sync did.
public struct SyncSummary: Sendable, Codable, Equatable {
    public struct Waiting: Sendable, Codable, Equatable {
        public var source: String
        public var sha256: String
        public var reason: String
    }

    public var server: String
    public var batches = 0
    /// Items the server receipted in this run.
    public var receipted = 0
    /// Blobs sent, and blobs the server already held (from this or another gateway).
    public var uploaded = 0
    public var alreadyHeld = 0
    /// Bytes that went over the wire in this run (a resumed upload counts only what was left).
    public var sentBytes: Int64 = 0
    public var seconds: Double = 0
    /// Items still waiting after this run, and why.
    public var waiting: [Waiting] = []
    /// Why the run stopped early, when it did (e.g. the server unreachable).
    public var stoppedBecause: String?
    public var receipts: [String] = []
    /// How long each commit took, from request to verified receipt (seconds).
    public var commitSeconds: [Double] = []
    /// Receipts whose RFC 3161 time-stamp arrived in this run, and those the server's authority
    /// has not stamped yet (asked again next run).
    public var timestamped = 0
    public var timestampsPending = 0

    /// Everything collected is receipted.
    public var isComplete: Bool { waiting.isEmpty && stoppedBecause == nil }
}

/// Sync: sends collected evidence to the central server in signed batches, uploads what the
/// server lacks with tus, and marks items retained online only when a receipt signed with the
/// pinned server key names them.
public struct SyncClient: Sendable {
    public let store: EvidenceStore
    public let client: HTTPClient

    public init(store: EvidenceStore, client: HTTPClient) {
        self.store = store
        self.client = client
    }

    public func sync(options: SyncOptions = SyncOptions(), progress: @escaping @Sendable (SyncProgress) -> Void = { _ in })
        async throws(SyncError) -> SyncSummary {
        let started = ContinuousClock.now
        guard let enrolment = try storeCall({ try store.enrolment() }) else { throw .notEnrolled }
        guard let serverKey = WireCoding.publicKey(base64: enrolment.serverPublicKey) else {
            throw .untrustedServer("the pinned server key is not an Ed25519 key; enrol again")
        }
        let gatewayKey: Curve25519.Signing.PrivateKey
        do {
            gatewayKey = try Curve25519.Signing.PrivateKey(rawRepresentation: enrolment.gatewayPrivateKey)
        } catch {
            throw .store("the gateway's signing key is damaged (\(error)); enrol again")
        }
        let connection = try ServerConnection(client: client, serverURL: enrolment.serverURL, credential: enrolment.credential,
                                              retry: options.retry)
        if options.retryRefused { try storeCall { try store.requeueRefused() } }

        let backlog = try storeCall { try store.syncBacklog() }
        let tracker = ProgressTracker(itemsTotal: backlog.items, bytesTotal: backlog.bytes, report: progress)
        let session = BatchSession(store: store, connection: connection, enrolment: enrolment, gatewayKey: gatewayKey,
                                   serverKey: serverKey, options: options, tracker: tracker,
                                   checksumAlgorithm: await connection.checksumAlgorithm())
        var summary = SyncSummary(server: enrolment.serverURL)
        do {
            for batch in try storeCall({ try store.unfinishedBatches() }) {
                try await session.finish(batch, summary: &summary)
            }
            while let batch = try storeCall({ try store.prepareBatch(limit: options.batchSize) }) {
                try await session.finish(batch, summary: &summary)
            }
            try await session.collectTimestamps(summary: &summary)
        } catch where error.isTransient {
            summary.stoppedBecause = error.description
            try storeCall { try store.noteWaiting(batchId: nil, reason: error.description) }
        }
        let status = try storeCall { try store.syncStatus(waitingLimit: 1000) }
        summary.waiting = status.waiting.map { .init(source: $0.source, sha256: $0.sha256, reason: $0.reason) }
        if summary.waiting.isEmpty && status.pending + status.uploading + status.uploaded > 0 {
            summary.stoppedBecause = summary.stoppedBecause ?? "\(status.pending + status.uploading + status.uploaded) item(s) not yet receipted"
        }
        let elapsed = ContinuousClock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }
}

/// One sync's work on its batches.
struct BatchSession {
    let store: EvidenceStore
    let connection: ServerConnection
    let enrolment: SyncEnrolment
    let gatewayKey: Curve25519.Signing.PrivateKey
    let serverKey: Curve25519.Signing.PublicKey
    let options: SyncOptions
    let tracker: ProgressTracker
    /// The chunks' checksum, as the server's tus discovery offers.
    let checksumAlgorithm: Tus.ChecksumAlgorithm

    /// Rounds of manifest → uploads → commit one batch gets per sync: a second when the commit
    /// finds a blob missing that the server had said it held (or this gateway thought it had
    /// sent), so that a crash between upload and commit costs no extra sync — and no more,
    /// so a server that keeps losing blobs cannot keep a sync in a loop.
    static let commitRounds = 2

    /// Sends the manifest (again, if it was sent before: the batch key makes that harmless),
    /// uploads what the server lacks, commits, and keeps the verified receipt.
    func finish(_ batch: SyncBatch, summary: inout SyncSummary) async throws(SyncError) {
        guard let batchId = batch.id else { return }
        let entries = try storeCall { try store.entries(inBatch: batchId) }
        guard !entries.isEmpty else { return }
        let manifest = BatchManifest(
            batchKey: batch.batchKey, gatewayId: enrolment.gatewayId, createdAt: batch.createdAt.formatted(WireCoding.timestampFormat),
            items: entries.map { ManifestBuilder.item(for: $0, unit: options.unit) },
            waiting: GatewayBacklog(try storeCall { try store.unreceipted(excludingBatch: batchId) }, unit: options.unit))
        summary.batches += 1
        for round in 1...Self.commitRounds {
            let created = try await open(manifest, batchId: batchId)
            let current = round == 1 ? entries : try storeCall { try store.entries(inBatch: batchId) }
            let planned = try plan(current, missing: Set(created.missing), batchId: batchId, serverBatchId: created.batchId,
                                   summary: &summary)
            let uploads = try await proveHeld(planned, challenges: created.challenges, batchId: batchId, serverBatchId: created.batchId,
                                              summary: &summary)
            try await upload(uploads, batchId: batchId, serverBatchId: created.batchId, summary: &summary)
            let commitStarted = ContinuousClock.now
            switch try await commit(batchId: batchId, serverBatchId: created.batchId) {
            case .receipted(let receiptEnvelope):
                try keep(receiptEnvelope, of: batch, batchId: batchId, serverBatchId: created.batchId, manifest: manifest,
                         entries: current, summary: &summary)
                let commitTime = ContinuousClock.now - commitStarted
                summary.commitSeconds.append(Double(commitTime.components.seconds) + Double(commitTime.components.attoseconds) / 1e18)
                return
            case .missingBlobs(let reason):
                guard round == Self.commitRounds else { continue }
                // The items go round again next time.
                try storeCall { try store.noteWaiting(batchId: batchId, reason: "the server could not commit: \(reason)") }
                summary.stoppedBecause = "batch \(created.batchId) not committed: \(reason)"
            }
        }
    }

    /// Sends the signed manifest; the server answers its batch id and the blobs it lacks.
    private func open(_ manifest: BatchManifest, batchId: Int64) async throws(SyncError) -> BatchCreated {
        let envelope = try keptManifest(manifest, batchId: batchId)
        let manifestBody = try ServerConnection.json(envelope)
        let answer = try await connection.send(.POST, Route.batches, headers: [("Content-Type", "application/json")],
                                               body: { .bytes(manifestBody) })
        try answer.expect([200, 201], doing: "sending the manifest of \(manifest.items.count) item(s)")
        let created = try answer.decode(BatchCreated.self)
        try storeCall { try store.markOpened(batchId: batchId, serverBatchId: created.batchId) }
        return created
    }

    /// The batch's manifest as first signed: kept before it is first sent, and sent as those
    /// bytes every time, so the receipt's manifest hash names what the gateway holds.
    private func keptManifest(_ manifest: BatchManifest, batchId: Int64) throws(SyncError) -> SignedEnvelope {
        let sealed: SignedEnvelope
        do {
            sealed = try SignedEnvelope.seal(manifest, with: gatewayKey)
        } catch {
            throw .protocolViolation("cannot sign the manifest: \(error)")
        }
        let payload = Data(base64Encoded: sealed.payload) ?? Data()
        guard let kept = try storeCall({ try store.keepManifest(batchId: batchId, payload: payload, signature: sealed.signature) }) else {
            return sealed
        }
        return SignedEnvelope(payload: kept.payload.base64EncodedString(), signature: kept.signature)
    }

    /// One upload per blob the server lacks, however many items share it, in the batch's order
    /// (important recordings first). A blob the server lacks is sent even when this gateway
    /// thought it sent it (a server crash lost its completion); a blob the server holds marks
    /// its items uploaded at once.
    private func plan(_ entries: [SyncEntry], missing: Set<String>, batchId: Int64, serverBatchId: String,
                      summary: inout SyncSummary) throws(SyncError) -> [PendingUpload] {
        var seen: Set<String> = []
        var uploads: [PendingUpload] = []
        for entry in entries where seen.insert(entry.item.sha256).inserted {
            let sha256 = entry.item.sha256, size = entry.item.size
            let sameBlob = entries.filter { $0.item.sha256 == sha256 }
            let waiting = sameBlob.contains { $0.item.state == .batched }
            let lostByServer = missing.contains(sha256) && sameBlob.contains { $0.item.state == .uploaded }
            guard waiting || lostByServer else {
                tracker.finished(items: sameBlob.count, bytes: 0)
                continue
            }
            if missing.contains(sha256) {
                uploads.append(PendingUpload(sha256: sha256, size: size, items: sameBlob.count))
            } else {
                summary.alreadyHeld += 1
                try storeCall {
                    try store.markUploaded(batchId: batchId, sha256: sha256, server: enrolment.serverURL,
                                           serverBatchId: serverBatchId, sentBytes: 0, alreadyHeld: true)
                }
                tracker.finished(items: sameBlob.count, bytes: size, sha256: sha256)
            }
        }
        return uploads
    }

    /// Answers the server's challenges for the blobs it says this gateway has yet to deliver: a
    /// blob the server holds already (another gateway sent it) then counts as delivered without
    /// being sent. Returns the uploads still to do. A server without challenges gets them all.
    private func proveHeld(_ uploads: [PendingUpload], challenges: [PossessionChallenge], batchId: Int64, serverBatchId: String,
                           summary: inout SyncSummary) async throws(SyncError) -> [PendingUpload] {
        let byHash = Dictionary(challenges.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
        let proofs = uploads.compactMap { upload -> PossessionProofs.Proof? in
            guard let challenge = byHash[upload.sha256],
                  let proof = PossessionProof.answer(challenge, from: store.blobs.path(of: upload.sha256).path) else { return nil }
            return PossessionProofs.Proof(sha256: upload.sha256, proof: proof)
        }
        guard !proofs.isEmpty else { return uploads }
        let body = try ServerConnection.json(PossessionProofs(proofs: proofs))
        let answer = try await connection.send(.POST, Route.possession(serverBatchId), headers: [("Content-Type", "application/json")],
                                               body: { .bytes(body) })
        try answer.expect([200], doing: "answering the possession challenges of batch \(serverBatchId)")
        let accepted = Set(try answer.decode(PossessionAnswer.self).accepted)
        for upload in uploads where accepted.contains(upload.sha256) {
            summary.alreadyHeld += 1
            try storeCall {
                try store.markUploaded(batchId: batchId, sha256: upload.sha256, server: enrolment.serverURL,
                                       serverBatchId: serverBatchId, sentBytes: 0, alreadyHeld: true)
            }
            tracker.finished(items: upload.items, bytes: upload.size, sha256: upload.sha256)
        }
        return uploads.filter { !accepted.contains($0.sha256) }
    }

    /// How a commit ended.
    private enum CommitAnswer {
        case receipted(SignedEnvelope)
        /// 409: the server lacks a blob of the batch.
        case missingBlobs(String)
    }

    /// Commits the batch, withdrawing the items this gateway cannot deliver.
    private func commit(batchId: Int64, serverBatchId: String) async throws(SyncError) -> CommitAnswer {
        let withdraw = try storeCall { try store.hashes(inBatch: batchId, state: .refused) }
        let commitBody = try ServerConnection.json(CommitRequest(withdraw: withdraw))
        let committed = try await connection.send(.POST, Route.commit(serverBatchId),
                                                  headers: [("Content-Type", "application/json")], body: { .bytes(commitBody) })
        if committed.status == 409 { return .missingBlobs(committed.reason) }
        try committed.expect([200, 201], doing: "committing batch \(serverBatchId)")
        return .receipted(try committed.decode(SignedEnvelope.self))
    }

    /// Verifies the receipt against the pinned server key and this batch, then marks the items
    /// it names receipted.
    private func keep(_ receiptEnvelope: SignedEnvelope, of batch: SyncBatch, batchId: Int64, serverBatchId: String,
                      manifest: BatchManifest, entries: [SyncEntry], summary: inout SyncSummary) throws(SyncError) {
        let payload: Data
        let receipt: Receipt
        do {
            payload = try receiptEnvelope.openedBytes(verifyingWith: serverKey)
            receipt = try receiptEnvelope.open(Receipt.self, verifyingWith: serverKey)
        } catch {
            throw .untrustedServer("the receipt for batch \(serverBatchId) was rejected: \(error)")
        }
        let receipted = Set(receipt.items.map(\.sha256))
        guard receipt.batchId == serverBatchId, receipt.batchKey == batch.batchKey, receipt.gatewayId == enrolment.gatewayId else {
            throw .untrustedServer("the receipt for batch \(serverBatchId) names another batch or gateway")
        }
        if let problem = try answerProblem(receipt, batchId: batchId, manifest: manifest) {
            throw .untrustedServer("the receipt for batch \(serverBatchId) does not answer the manifest sent: \(problem)")
        }
        try storeCall {
            try store.markReceipted(batchId: batchId, serverBatchId: serverBatchId, payload: payload,
                                    signature: receiptEnvelope.signature, serverTime: receipt.serverTime, receiptedHashes: receipted)
        }
        summary.receipted += entries.filter { receipted.contains($0.item.sha256) && $0.item.state != .refused }.count
        summary.receipts.append(serverBatchId)
    }
}

extension BatchSession {
    /// What is wrong with the receipt as the answer to the batch's kept manifest; a batch sent
    /// before manifests were kept has only its items to compare (the server may hold other
    /// bytes for it than those signed now).
    func answerProblem(_ receipt: Receipt, batchId: Int64, manifest: BatchManifest) throws(SyncError) -> String? {
        let batch = try storeCall { try store.batch(id: batchId) }
        guard let payload = batch?.manifestPayload else {
            let sent = Set(manifest.items.map(\.sha256))
            return receipt.items.first { !sent.contains($0.sha256) }.map { "it receipts blob \($0.sha256), which the manifest does not list" }
        }
        guard let kept = try? WireCoding.decoder.decode(BatchManifest.self, from: payload) else {
            throw .protocolViolation("batch \(batchId)'s kept manifest is damaged")
        }
        return receipt.problem(answering: payload, manifest: kept)
    }
}

/// The answer to a possession challenge, computed from the gateway's stored copy.
enum PossessionProof {
    /// Lower-case hex SHA-256 of the nonce's bytes and the challenged range; nil when the copy
    /// cannot be read that far (the upload then says why).
    static func answer(_ challenge: PossessionChallenge, from path: String) -> String? {
        guard let nonce = Data(base64Encoded: challenge.nonce), challenge.offset >= 0, challenge.length >= 0 else { return nil }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var hasher = SHA256()
        hasher.update(data: nonce)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < challenge.length {
            let got = pread(descriptor, buffer.baseAddress, Int(min(Int64(buffer.count), challenge.length - done)), off_t(challenge.offset + done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            done += Int64(got)
        }
        return hasher.finalize().hexString
    }
}

/// A blob of a batch the server lacks.
struct PendingUpload: Sendable {
    var sha256: String
    var size: Int64
    /// Items of the batch with this blob.
    var items: Int
}

extension BatchSession {
    /// Uploads the blobs, at most `options.parallel` at once, recording each outcome as it
    /// comes. The first failure stops the others (cancelled, resumed by the next sync) and is
    /// thrown once every upload has ended.
    func upload(_ uploads: [PendingUpload], batchId: Int64, serverBatchId: String, summary: inout SyncSummary) async throws(SyncError) {
        let connection = connection, store = store, tracker = tracker, options = options, algorithm = checksumAlgorithm
        let limiter = tracker.limiter(rate: options.limitRate, clock: options.clock)
        var failure: SyncError?
        var pending = uploads[...]
        await withTaskGroup(of: UploadFinished.self) { group in
            func start(_ blob: PendingUpload) {
                group.addTask {
                    let uploader = TusUploader(connection: connection, store: store, chunkSize: options.chunkSize, limiter: limiter,
                                               limitRate: options.limitRate,
                                               progress: { acknowledged in tracker.blob(blob.sha256, acknowledged: acknowledged) },
                                               checksumAlgorithm: algorithm)
                    do throws(SyncError) {
                        return UploadFinished(blob, .success(try await uploader.upload(sha256: blob.sha256, length: blob.size, batchId: serverBatchId)))
                    } catch {
                        return UploadFinished(blob, .failure(error))
                    }
                }
            }
            for _ in 0..<max(1, options.parallel) {
                guard let blob = pending.popFirst() else { break }
                start(blob)
            }
            while let finished = await group.next() {
                let blob = finished.blob, result = finished.result
                do throws(SyncError) {
                    switch try result.get() {
                    case .completed(let sent):
                        summary.uploaded += 1
                        summary.sentBytes += sent
                        try storeCall {
                            try store.markUploaded(batchId: batchId, sha256: blob.sha256, server: enrolment.serverURL,
                                                   serverBatchId: serverBatchId, sentBytes: sent, alreadyHeld: false)
                        }
                    case .refused(let reason):
                        try storeCall { try store.markRefused(batchId: batchId, sha256: blob.sha256, reason: reason) }
                    }
                    tracker.finished(items: blob.items, bytes: blob.size, sha256: blob.sha256)
                } catch {
                    if failure == nil {
                        failure = error
                        group.cancelAll()
                    }
                }
                if failure == nil, let next = pending.popFirst() { start(next) }
            }
        }
        if let failure { throw failure }
    }
}

/// Counts items and bytes across batches for the progress bar.
final class ProgressTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var itemsDone = 0
    private var bytesDone: Int64 = 0
    private var inFlight: [String: Int64] = [:]
    private let itemsTotal: Int
    private let bytesTotal: Int64
    private let report: @Sendable (SyncProgress) -> Void
    private var sharedLimiter: RateLimiter?

    init(itemsTotal: Int, bytesTotal: Int64, report: @escaping @Sendable (SyncProgress) -> Void) {
        self.itemsTotal = itemsTotal
        self.bytesTotal = bytesTotal
        self.report = report
    }

    /// One limiter for the whole sync, so `--limit-rate` bounds the sum of all uploads.
    func limiter(rate: Int64?, clock: any SyncClock) -> RateLimiter? {
        guard let rate else { return nil }
        return lock.withLock {
            if sharedLimiter == nil { sharedLimiter = RateLimiter(bytesPerSecond: rate, clock: clock) }
            return sharedLimiter
        }
    }

    func blob(_ sha256: String, acknowledged: Int64) {
        let snapshot = lock.withLock {
            inFlight[sha256] = acknowledged
            return SyncProgress(itemsDone: itemsDone, itemsTotal: itemsTotal,
                                bytesDone: bytesDone + inFlight.values.reduce(0, +), bytesTotal: bytesTotal)
        }
        report(snapshot)
    }

    func finished(items: Int, bytes: Int64, sha256: String? = nil) {
        let snapshot = lock.withLock {
            if let sha256 { inFlight[sha256] = nil }
            itemsDone += items
            bytesDone += bytes
            return SyncProgress(itemsDone: itemsDone, itemsTotal: itemsTotal, bytesDone: bytesDone, bytesTotal: bytesTotal)
        }
        report(snapshot)
    }
}

/// Runs a store call, turning its error into a sync error.
func storeCall<Value>(_ body: () throws -> Value) throws(SyncError) -> Value {
    do {
        return try body()
    } catch let error as SyncError {
        throw error
    } catch {
        throw .store("\(error)")
    }
}

/// One upload's end, as its child task hands it to the group. A class, not a tuple: in release
/// builds (Swift 6.3.1) a child result of type `(PendingUpload, Result<UploadOutcome, SyncError>)`
/// was copied wrongly into the waiting parent (crashes in the task group's `offer`, corrupted
/// strings afterwards; debug builds were fine), and a reference is a single pointer to copy.
final class UploadFinished: Sendable {
    let blob: PendingUpload
    let result: Result<UploadOutcome, SyncError>

    init(_ blob: PendingUpload, _ result: Result<UploadOutcome, SyncError>) {
        self.blob = blob
        self.result = result
    }
}
