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
    let parts: UploadParts
    let digests: UploadDigests
    let metrics: ServerMetrics
    let clock: ServerClock

    enum Outcome: Sendable, Equatable {
        /// The blob is held and the upload complete.
        case completed(UploadRecord)
        /// The bytes do not match the upload's SHA-256 (or were lost): the upload and its part
        /// file are gone, so the gateway, finding it unknown (404), starts it afresh.
        case discarded(reason: String)
    }

    func complete(_ upload: UploadRecord) async throws -> Outcome {
        if upload.state == .complete { return .completed(upload) }
        precondition(upload.offset == upload.length, "only an upload with every byte acknowledged is completed")
        if parts.exists(upload.id) {
            let (sha256, size) = try await verifiedDigest(of: upload)
            guard sha256 == upload.sha256, size == upload.length else {
                return try await discard(upload, "content does not match sha256 \(upload.sha256) given in Upload-Metadata")
            }
            try await BlockingIO.run { [blobs, file = parts.path(of: upload.id)] in
                try blobs.store(verifiedFile: file, sha256: sha256)
            }
        } else if try await repository.heldBlobs(among: [upload.sha256]).isEmpty {
            // No part file: a crash came after the part file went into the blob store and before
            // the blob was recorded. What is stored under the hash is checked before it counts.
            let stored = try await BlockingIO.run { [blobs, sha256 = upload.sha256] in try blobs.sha256(of: sha256) }
            guard let stored, stored.sha256 == upload.sha256, stored.size == upload.length else {
                if stored != nil { blobs.remove(upload.sha256) }
                return try await discard(upload, "the received bytes of upload \(upload.id) are lost or damaged")
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

    /// The digest taken as the bytes arrived when this process saw them all; else the part file read again.
    private func verifiedDigest(of upload: UploadRecord) async throws -> (String, Int64) {
        defer { digests.forget(upload.id) }
        if upload.length > 0, let digest = digests.take(upload.id, at: upload.length) {
            return (digest.finalize().hexString, try parts.size(of: upload.id))
        }
        return try await BlockingIO.run { [parts, id = upload.id] in try parts.sha256(of: id) }
    }

    private func discard(_ upload: UploadRecord, _ reason: String) async throws -> Outcome {
        try await repository.deleteUpload(id: upload.id)
        parts.remove(upload.id)
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
