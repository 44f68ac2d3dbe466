import Common
import Crypto
import Foundation
import Hummingbird
import SyncProtocol

/// Batches: a signed manifest opens one (`POST /v1/batches`), the server says which blobs it
/// lacks, and the commit (`POST /v1/batches/{id}/commit`) turns the items into evidence and
/// answers a signed receipt.
struct BatchRoutes {
    let context: ServerContext
    static let maxManifestSize = 32 << 20
    static let maxCommitBodySize = 1 << 20

    func register(on router: Router<ServerRequestContext>) {
        let batchId = Route.Parameter.pattern(Route.Parameter.batchId)
        router.gatewayRoutes(authenticatedBy: context.authenticator)
            .post(RouterPath(Route.batches)) { request, requestContext in try await createBatch(request, requestContext: requestContext) }
            .get(RouterPath(Route.batch(batchId))) { _, requestContext in
                try await showBatch(requestContext.parameters.require(Route.Parameter.batchId), of: requestContext.gateway)
            }
            .post(RouterPath(Route.commit(batchId))) { request, requestContext in
                try await commitBatch(request, batchId: requestContext.parameters.require(Route.Parameter.batchId), requestContext: requestContext)
            }
            .get(RouterPath(Route.timestamp(batchId))) { _, requestContext in
                try await showTimestamp(requestContext.parameters.require(Route.Parameter.batchId), of: requestContext.gateway)
            }
            .post(RouterPath(Route.possession(batchId))) { request, requestContext in
                try await prove(request, batchId: requestContext.parameters.require(Route.Parameter.batchId), requestContext: requestContext)
            }
    }

    /// 201 with the batch's missing blobs; 200 when the same manifest (same batch key) came before.
    func createBatch(_ request: Request, requestContext: GatewayRequestContext) async throws -> EditedResponse<BatchCreated> {
        let gateway = requestContext.gateway
        let body = try await JSONBody.collect(request, limit: Self.maxManifestSize, what: "the manifest", context: requestContext)
        let envelope = try JSONBody.decode(SignedEnvelope.self, from: body, what: "the signed manifest")
        guard let publicKeyText = gateway.publicKey, let publicKey = WireCoding.publicKey(base64: publicKeyText) else {
            throw ServerError.unauthorized("gateway \(gateway.name) has no enrolled key: enrol it again")
        }
        let manifestBytes: Data
        do {
            manifestBytes = try envelope.openedBytes(verifyingWith: publicKey)
        } catch EnvelopeError.badSignature {
            context.metrics.requestsUnauthorized.increment()
            throw ServerError.unauthorized("manifest signature does not verify with the key gateway \(gateway.name) enrolled")
        } catch {
            throw ServerError.badRequest("\(error)")
        }
        let manifest = try JSONBody.decode(BatchManifest.self, from: ByteBuffer(bytes: manifestBytes), what: "the manifest payload")
        guard manifest.gatewayId == gateway.id else {
            throw ServerError(.forbidden, "manifest names gateway \(manifest.gatewayId), but the credential is gateway \(gateway.id)'s")
        }
        try Self.validate(manifest, quotas: context.quotas)
        let batch = BatchRecord(id: UUID().uuidString.lowercased(), gatewayId: gateway.id, batchKey: manifest.batchKey,
                                state: .open, envelope: String(decoding: try WireCoding.encoder.encode(envelope), as: UTF8.self),
                                createdAt: manifest.createdAt, receivedAt: Date(), committedAt: nil, receipt: nil)
        let items = manifest.items.enumerated().map { position, item in
            BatchItemRecord(position: position, sha256: item.sha256, size: item.size, kind: item.kind, metadata: item.metadata,
                            custody: item.custody, withdrawn: false)
        }
        let (stored, created) = try await context.repository.createBatch(batch, items: items)
        if let waiting = manifest.waiting {
            try await context.repository.recordBacklog(gatewayId: gateway.id, backlog: waiting, reportedAt: manifest.createdAt,
                                                       at: context.clock.now())
        }
        let storedItems = created ? items : try await context.repository.items(batchId: stored.id)
        return EditedResponse(status: created ? .created : .ok, response: try await batchCreated(stored, items: storedItems))
    }

    /// Every problem of the manifest at once, each naming its field.
    static func validate(_ manifest: BatchManifest, quotas: UploadQuotas) throws {
        guard manifest.items.count <= quotas.itemsPerManifest else {
            throw ServerError(.contentTooLarge, "the manifest has \(manifest.items.count) items; at most \(quotas.itemsPerManifest) per batch")
        }
        var problems: [String] = []
        // No name a gateway sends holds a NUL (file names cannot); PostgreSQL's text and jsonb
        // cannot store one either, so it is refused here by field on every backend.
        let holdsNUL: (String) -> Bool = { $0.utf8.contains(0) }
        if manifest.batchKey.isEmpty { problems.append("batchKey is empty") }
        if holdsNUL(manifest.batchKey) { problems.append("batchKey holds a NUL character") }
        if holdsNUL(manifest.createdAt) { problems.append("createdAt holds a NUL character") }
        for (index, item) in manifest.items.enumerated() {
            if !WireCoding.isSHA256(item.sha256) { problems.append("items[\(index)].sha256 is not 64 lower-case hex digits") }
            if item.size < 0 { problems.append("items[\(index)].size is negative") }
            if item.kind.isEmpty { problems.append("items[\(index)].kind is empty") }
            if holdsNUL(item.kind) { problems.append("items[\(index)].kind holds a NUL character") }
            for (key, value) in item.metadata.sorted(by: { $0.key < $1.key }) where holdsNUL(key) || holdsNUL(value) {
                problems.append("items[\(index)].metadata[\(key.replacingOccurrences(of: "\u{0}", with: "\\0"))] holds a NUL character")
            }
            let metadataBytes = item.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            if metadataBytes > quotas.metadataBytesPerItem {
                problems.append("items[\(index)].metadata is \(metadataBytes) bytes; at most \(quotas.metadataBytesPerItem)")
            }
        }
        if let waiting = manifest.waiting { problems += Self.problems(of: waiting) }
        guard problems.isEmpty else { throw ServerError.badRequest("invalid manifest: " + problems.joined(separator: "; ")) }
    }

    /// A backlog report is counts and months: anything else in it is refused by field.
    static func problems(of waiting: GatewayBacklog) -> [String] {
        var problems: [String] = []
        if waiting.items < 0 || waiting.bytes < 0 { problems.append("waiting holds a negative count") }
        if waiting.byMonth.count > 600 { problems.append("waiting.byMonth has \(waiting.byMonth.count) months; at most 600") }
        let isMonth: (String) -> Bool = { key in
            let parts = key.split(separator: "-")
            return key.utf8.count == 7 && parts.count == 2 && parts.allSatisfy { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
                && (1...12).contains(Int(parts[1]) ?? 0)
        }
        if let bad = waiting.byMonth.keys.sorted().first(where: { !isMonth($0) }) {
            problems.append("waiting.byMonth names \"\(bad.prefix(16))\", not a month written YYYY-MM")
        }
        if waiting.byMonth.values.contains(where: { $0 < 0 }) { problems.append("waiting.byMonth holds a negative count") }
        let isPlainText: (String) -> Bool = { text in
            text.count <= 64 && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }
        if let unit = waiting.unit, !isPlainText(unit) { problems.append("waiting.unit is over 64 characters or holds a control character") }
        if let oldest = waiting.oldestRecordedAt, !isPlainText(oldest) { problems.append("waiting.oldestRecordedAt is not a time") }
        return problems
    }

    func showBatch(_ batchId: String, of gateway: GatewayRecord) async throws -> BatchCreated {
        let batch = try await ownedBatch(batchId, of: gateway)
        return try await batchCreated(batch, items: try await context.repository.items(batchId: batch.id))
    }

    /// The batch, only when it is this gateway's: another gateway's batch is as unknown as a missing one.
    private func ownedBatch(_ batchId: String, of gateway: GatewayRecord) async throws -> BatchRecord {
        guard let batch = try await context.repository.batch(id: batchId), batch.gatewayId == gateway.id else {
            throw ServerError.notFound("no batch \(batchId) for gateway \(gateway.name)")
        }
        return batch
    }

    /// The batch's state and the blobs of its items (withdrawn ones aside) this gateway has not
    /// delivered (uploaded whole, or proved it holds), each once, in manifest order, each with a
    /// challenge. Whether another gateway sent a blob changes nothing in the answer.
    private func batchCreated(_ batch: BatchRecord, items: [BatchItemRecord]) async throws -> BatchCreated {
        let missing = try await undelivered(items.filter { !$0.withdrawn }, of: batch.gatewayId)
        let challenges = missing.map { item in
            context.challenges.challenge(batchId: batch.id, sha256: item.sha256, declaredSize: item.size)
        }
        return BatchCreated(batchId: batch.id, missing: missing.map(\.sha256), state: batch.state.rawValue, challenges: challenges)
    }

    /// The first item of each blob this gateway has not delivered, or whose bytes are not held.
    private func undelivered(_ items: [BatchItemRecord], of gatewayId: String) async throws -> [BatchItemRecord] {
        let hashes = items.map(\.sha256)
        let held = try await context.repository.heldBlobs(among: hashes)
        let delivered = try await context.repository.possessed(gatewayId: gatewayId, among: hashes)
        var seen = Set<String>()
        return items.filter { !(held.contains($0.sha256) && delivered.contains($0.sha256)) && seen.insert($0.sha256).inserted }
    }

    /// Answers to the batch's challenges: each one right, for a blob the server holds, counts as
    /// delivered by this gateway. The answer lists only those; a wrong proof and a blob the
    /// server lacks look the same, so the answer tells nothing about other gateways' blobs.
    func prove(_ request: Request, batchId: String, requestContext: GatewayRequestContext) async throws -> PossessionAnswer {
        let gateway = requestContext.gateway
        let body = try await JSONBody.collect(request, limit: Self.maxManifestSize, what: "the possession proofs", context: requestContext)
        let proofs = try JSONBody.decode(PossessionProofs.self, from: body, what: "the possession proofs").proofs
        let batch = try await ownedBatch(batchId, of: gateway)
        let missing = try await undelivered(try await context.repository.items(batchId: batch.id).filter { !$0.withdrawn }, of: gateway.id)
        let declared = Dictionary(missing.map { ($0.sha256, $0.size) }, uniquingKeysWith: { first, _ in first })
        let sizes = try await context.repository.heldBlobSizes(among: proofs.map(\.sha256))
        var accepted: [String] = []
        for proof in proofs where !accepted.contains(proof.sha256) {
            guard let declaredSize = declared[proof.sha256], let size = sizes[proof.sha256], size == declaredSize else { continue }
            let challenge = context.challenges.challenge(batchId: batch.id, sha256: proof.sha256, declaredSize: declaredSize)
            let range = try await context.blobs.read(challenge.sha256, offset: challenge.offset, length: Int(challenge.length))
            guard let range, PossessionChallenges.proof(for: challenge, over: range) == proof.proof else {
                requestContext.logger.info("gateway \(gateway.name): possession proof for \(proof.sha256) in batch \(batch.id) not accepted")
                continue
            }
            try await context.repository.recordPossession(gatewayId: gateway.id, sha256: proof.sha256, at: Date())
            accepted.append(proof.sha256)
        }
        return PossessionAnswer(accepted: accepted)
    }

    /// The signed receipt; a batch committed already answers the receipt it was first given.
    func commitBatch(_ request: Request, batchId: String, requestContext: GatewayRequestContext) async throws -> SignedEnvelope {
        let gateway = requestContext.gateway
        let body = try await JSONBody.collect(request, limit: Self.maxCommitBodySize, what: "the commit request", context: requestContext)
        let batch = try await ownedBatch(batchId, of: gateway)
        if batch.state == .committed, let receipt = batch.receipt {
            return try Self.storedReceipt(receipt, of: batch.id)
        }
        let withdraw = body.readableBytes == 0
            ? [] : try JSONBody.decode(CommitRequest.self, from: body, what: "the commit request").withdraw
        let items = try await context.repository.items(batchId: batch.id)
        let hashesInBatch = Set(items.map(\.sha256))
        let strangers = withdraw.filter { !hashesInBatch.contains($0) }
        guard strangers.isEmpty else {
            throw ServerError.badRequest("withdraw names blobs that are not in batch \(batch.id): \(strangers.joined(separator: ", "))")
        }
        let withdrawn = Set(withdraw)
        let kept = items.filter { !withdrawn.contains($0.sha256) }
        // A blob is in the blob table only after its whole content was verified against its
        // SHA-256 on upload; the commit trusts that and checks the bytes are still present,
        // rather than re-reading gigabytes per commit.
        var held = try await context.repository.heldBlobSizes(among: kept.map(\.sha256))
        if kept.contains(where: { held[$0.sha256] == nil }) {
            // Bytes that all arrived but whose completion a crash interrupted are completed now.
            try await completeInterruptedUploads(of: gateway, among: Set(kept.map(\.sha256)).subtracting(held.keys))
            held = try await context.repository.heldBlobSizes(among: kept.map(\.sha256))
        }
        var seen = Set<String>()
        // A blob another gateway sent is receipted only once this gateway proved it holds it.
        let delivered = try await context.repository.possessed(gatewayId: gateway.id, among: kept.map(\.sha256))
        var missing: [String] = []
        for sha256 in kept.map(\.sha256) where seen.insert(sha256).inserted {
            if held[sha256] == nil || !delivered.contains(sha256) { missing.append(sha256); continue }
            if try await !context.blobs.contains(sha256) { missing.append(sha256) }
        }
        guard missing.isEmpty else {
            throw ServerError(.conflict, "batch \(batch.id) cannot be committed: this gateway has not delivered blobs \(missing.joined(separator: ", ")) (upload them, or answer their challenges); or withdraw them")
        }
        // A receipt signs each item's size: the size must be the stored blob's.
        let wrongSizes = kept.compactMap { item -> String? in
            guard let size = held[item.sha256], size != item.size else { return nil }
            return "items[\(item.position)] (\(item.sha256)) declares \(item.size) bytes, the blob has \(size)"
        }
        guard wrongSizes.isEmpty else {
            throw ServerError(.unprocessableContent, "batch \(batch.id) cannot be committed: " + wrongSizes.joined(separator: "; "))
        }
        let now = context.clock.now()
        let receipt = Receipt(version: Receipt.currentVersion, batchId: batch.id, batchKey: batch.batchKey, gatewayId: gateway.id,
                              manifestSha256: try Self.manifestSha256(of: batch),
                              items: kept.map { Receipt.Item(sha256: $0.sha256, size: $0.size, lastCustodyHash: $0.custody.last?.hash) },
                              serverTime: now.formatted(WireCoding.timestampFormat))
        let sealed = try SignedEnvelope.seal(receipt, with: context.signingKey.key)
        let sealedText = String(decoding: try WireCoding.encoder.encode(sealed), as: UTF8.self)
        let committed = try await context.repository.commitBatch(id: batch.id, withdrawn: withdrawn, receipt: sealedText, at: now)
        guard let storedReceipt = committed.receipt else {
            throw RepositoryError.corrupt("batch \(batch.id) is committed without a receipt")
        }
        if storedReceipt == sealedText {
            context.metrics.batchesCommitted.increment()
            context.metrics.receiptsIssued.increment()
            if let timestamper = context.timestamper { await timestamper.nudge() }
        }
        return try Self.storedReceipt(storedReceipt, of: batch.id)
    }

    /// The time-stamp over the batch's receipt, or why there is none yet.
    func showTimestamp(_ batchId: String, of gateway: GatewayRecord) async throws -> ReceiptTimestampAnswer {
        guard let timestamper = context.timestamper else {
            throw ServerError.notFound("this server does not time-stamp receipts (it was started without --tsa-url)")
        }
        let batch = try await ownedBatch(batchId, of: gateway)
        guard batch.state == .committed else {
            throw ServerError(.conflict, "batch \(batch.id) is not committed: it has no receipt to time-stamp yet")
        }
        let certificates = timestamper.authority.certificatesPEM
        guard let stamp = try await context.repository.timestamp(batchId: batch.id) else {
            await timestamper.nudge()
            return ReceiptTimestampAnswer(state: .pending, authorityCertificates: certificates, reason: await timestamper.pendingReason)
        }
        return ReceiptTimestampAnswer(state: .granted, reply: stamp.reply.base64EncodedString(),
                                      stampedAt: stamp.stampedAt.formatted(WireCoding.timestampFormat), authorityCertificates: certificates)
    }

    /// Completes this gateway's uploads of these blobs that have every byte but no blob (a
    /// crash came between); one another request holds is left to it.
    private func completeInterruptedUploads(of gateway: GatewayRecord, among hashes: Set<String>) async throws {
        for upload in try await context.repository.uploadsAwaitingCompletion()
        where upload.gatewayId == gateway.id && hashes.contains(upload.sha256) {
            do {
                _ = try await context.uploadLocks.exclusively(upload.id) {
                    guard let current = try await context.repository.upload(id: upload.id) else { return false }
                    _ = try await context.completion.complete(current)
                    return true
                }
            } catch is UploadLockError {
                continue
            }
        }
    }

    /// The SHA-256 of the manifest payload exactly as the gateway signed and sent it: what the
    /// receipt answers, metadata and custody included.
    static func manifestSha256(of batch: BatchRecord) throws -> String {
        guard let envelope = try? WireCoding.decoder.decode(SignedEnvelope.self, from: Data(batch.envelope.utf8)),
              let payload = Data(base64Encoded: envelope.payload) else {
            throw RepositoryError.corrupt("batch \(batch.id)'s stored manifest is not a signed envelope")
        }
        return SHA256.hash(data: payload).hexString
    }

    /// The stored receipt as first issued. It was written by ``WireCoding/encoder``, whose output
    /// (sorted keys, two strings) is deterministic, so answering it re-encoded gives a repeated
    /// commit the same bytes.
    static func storedReceipt(_ receipt: String, of batchId: String) throws -> SignedEnvelope {
        do {
            return try WireCoding.decoder.decode(SignedEnvelope.self, from: Data(receipt.utf8))
        } catch {
            throw RepositoryError.corrupt("batch \(batchId)'s stored receipt is not a signed envelope: \(error)")
        }
    }
}
