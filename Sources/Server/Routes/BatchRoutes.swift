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
        try Self.validate(manifest)
        let batch = BatchRecord(id: UUID().uuidString.lowercased(), gatewayId: gateway.id, batchKey: manifest.batchKey,
                                state: .open, envelope: String(decoding: try WireCoding.encoder.encode(envelope), as: UTF8.self),
                                createdAt: manifest.createdAt, receivedAt: Date(), committedAt: nil, receipt: nil)
        let items = manifest.items.enumerated().map { position, item in
            BatchItemRecord(position: position, sha256: item.sha256, size: item.size, kind: item.kind, metadata: item.metadata,
                            custody: item.custody, withdrawn: false)
        }
        let (stored, created) = try await context.repository.createBatch(batch, items: items)
        let storedItems = created ? items : try await context.repository.items(batchId: stored.id)
        return EditedResponse(status: created ? .created : .ok, response: try await batchCreated(stored, items: storedItems))
    }

    /// Every problem of the manifest at once, each naming its field.
    static func validate(_ manifest: BatchManifest) throws {
        var problems: [String] = []
        if manifest.batchKey.isEmpty { problems.append("batchKey is empty") }
        for (index, item) in manifest.items.enumerated() {
            if !WireCoding.isSHA256(item.sha256) { problems.append("items[\(index)].sha256 is not 64 lower-case hex digits") }
            if item.size < 0 { problems.append("items[\(index)].size is negative") }
            if item.kind.isEmpty { problems.append("items[\(index)].kind is empty") }
        }
        guard problems.isEmpty else { throw ServerError.badRequest("invalid manifest: " + problems.joined(separator: "; ")) }
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

    /// The batch's state and the blobs of its items (withdrawn ones aside) the server does not
    /// hold, from any gateway: each once, in manifest order.
    private func batchCreated(_ batch: BatchRecord, items: [BatchItemRecord]) async throws -> BatchCreated {
        let wanted = items.filter { !$0.withdrawn }.map(\.sha256)
        let held = try await context.repository.heldBlobs(among: wanted)
        var seen = Set<String>()
        let missing = wanted.filter { !held.contains($0) && seen.insert($0).inserted }
        return BatchCreated(batchId: batch.id, missing: missing, state: batch.state.rawValue)
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
        let missing = kept.map(\.sha256).filter { (held[$0] == nil || !context.blobs.contains($0)) && seen.insert($0).inserted }
        guard missing.isEmpty else {
            throw ServerError(.conflict, "batch \(batch.id) cannot be committed: the server has not received blobs \(missing.joined(separator: ", ")); upload them or withdraw them")
        }
        // A receipt signs each item's size: the size must be the stored blob's.
        let wrongSizes = kept.compactMap { item -> String? in
            guard let size = held[item.sha256], size != item.size else { return nil }
            return "items[\(item.position)] (\(item.sha256)) declares \(item.size) bytes, the blob has \(size)"
        }
        guard wrongSizes.isEmpty else {
            throw ServerError(.unprocessableContent, "batch \(batch.id) cannot be committed: " + wrongSizes.joined(separator: "; "))
        }
        let now = Date()
        let receipt = Receipt(batchId: batch.id, batchKey: batch.batchKey, gatewayId: gateway.id,
                              items: kept.map { Receipt.Item(sha256: $0.sha256, size: $0.size) },
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
        }
        return try Self.storedReceipt(storedReceipt, of: batch.id)
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
