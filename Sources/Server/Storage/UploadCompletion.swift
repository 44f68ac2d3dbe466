import Common
import Foundation
import Logging

/// Turns an upload whose every byte is acknowledged into a held blob: verify against its
/// SHA-256, move into the blob store, record the blob, mark the upload complete. Each step is
/// durable before the next starts, and the whole is idempotent: run again after a crash at any
/// step (at start, on HEAD, on commit, or on an empty PATCH at the final offset), it picks up
/// where the crash left it and ends in the same state. The caller holds the upload's lock.
struct UploadCompletion: Sendable {
    let repository: any EvidenceRepository
    let blobs: any BlobStorage
    let staging: any UploadStaging
    let digests: UploadDigests
    let metrics: ServerMetrics
    let clock: ServerClock

    enum Outcome: Sendable, Equatable {
        /// The blob is held and the upload complete.
        case completed(UploadRecord)
        /// The bytes do not match the upload's SHA-256 (or were lost): the upload and what it
        /// staged are gone, so the gateway, finding it unknown (404), starts it afresh.
        case discarded(reason: String)
    }

    func complete(_ upload: UploadRecord) async throws -> Outcome {
        if upload.state == .complete { return .completed(upload) }
        precondition(upload.offset == upload.length, "only an upload with every byte acknowledged is completed")
        switch try await staging.seal(upload, digest: takeDigest(of: upload)) {
        case .stored:
            break
        case .mismatch:
            return try await discard(upload, "content does not match sha256 \(upload.sha256) given in Upload-Metadata")
        case .absent:
            // Nothing staged: a crash came after the bytes went into the blob store and before
            // the blob was recorded. What is stored under the hash is checked before it counts.
            if try await repository.heldBlobs(among: [upload.sha256]).isEmpty {
                let stored = try await blobs.sha256(of: upload.sha256)
                guard let stored, stored.sha256 == upload.sha256, stored.size == upload.length else {
                    if stored != nil { try await blobs.remove(upload.sha256) }
                    return try await discard(upload, "the received bytes of upload \(upload.id) are lost or damaged")
                }
            }
        }
        try await repository.recordBlob(sha256: upload.sha256, size: upload.length, at: clock.now())
        // Every byte came from this gateway: it holds the blob, whoever sent it first.
        try await repository.recordPossession(gatewayId: upload.gatewayId, sha256: upload.sha256, at: clock.now())
        try await repository.updateUpload(id: upload.id, offset: upload.length, state: .complete, at: clock.now())
        metrics.uploadsCompleted.increment()
        var complete = upload
        complete.state = .complete
        return .completed(complete)
    }

    /// The digest taken as the bytes arrived, when this process saw them all; nil means "read them again".
    private func takeDigest(of upload: UploadRecord) -> String? {
        defer { digests.forget(upload.id) }
        guard upload.length > 0, let digest = digests.take(upload.id, at: upload.length) else { return nil }
        return digest.finalize().hexString
    }

    private func discard(_ upload: UploadRecord, _ reason: String) async throws -> Outcome {
        try await repository.deleteUpload(id: upload.id)
        await staging.remove(upload.id)
        digests.forget(upload.id)
        return .discarded(reason: reason + "; upload discarded")
    }

    /// Completes every upload a crash left with all its bytes but no blob. Runs at start,
    /// before the server answers anything; an upload another request holds is left to it.
    func recoverInterrupted(locks: any UploadLocks, logger: Logger) async throws {
        for upload in try await repository.uploadsAwaitingCompletion() {
            do {
                let outcome = try await locks.exclusively(upload.id) { try await complete(upload) }
                switch outcome {
                case .completed:
                    logger.info("completed upload \(upload.id) of \(upload.sha256) that a crash had interrupted")
                case .discarded(let reason):
                    logger.warning("upload \(upload.id) of \(upload.sha256) interrupted by a crash: \(reason)")
                }
            } catch is UploadLockError {
                continue
            }
        }
    }
}
