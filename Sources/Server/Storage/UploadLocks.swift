import Crypto
import Foundation

/// Who may write an upload: one request at a time, so two PATCHes (or a PATCH and a DELETE)
/// never interleave bytes in one part file or race on its offset. The default
/// (``InProcessUploadLocks``) holds the claims in this process's memory; servers sharing one
/// database need a lock held there instead, which implements the same contract.
protocol UploadLocks: Sendable {
    /// Runs `body` as the only holder of the upload's lock; the lock is released when `body`
    /// ends, however it ends. Throws ``UploadLockError/busy(_:)`` at once (no waiting) when
    /// another request holds it.
    func exclusively<Value: Sendable>(_ uploadId: String, _ body: () async throws -> Value) async throws -> Value
}

enum UploadLockError: Error, CustomStringConvertible {
    case busy(String)

    var description: String {
        switch self {
        case .busy(let uploadId): "upload \(uploadId) is being written by another request; retry after it ends"
        }
    }
}

/// Upload locks for one server process.
actor InProcessUploadLocks: UploadLocks {
    private var held: Set<String> = []

    nonisolated func exclusively<Value: Sendable>(_ uploadId: String, _ body: () async throws -> Value) async throws -> Value {
        guard await claim(uploadId) else { throw UploadLockError.busy(uploadId) }
        do {
            let value = try await body()
            await release(uploadId)
            return value
        } catch {
            await release(uploadId)
            throw error
        }
    }

    private func claim(_ uploadId: String) -> Bool { held.insert(uploadId).inserted }

    private func release(_ uploadId: String) { held.remove(uploadId) }
}

/// The running SHA-256 of uploads as their bytes arrive, so completing an upload need not read
/// its whole part file again. Only the holder of an upload's lock touches its entry. A digest
/// lives in this process only: after a restart, or when another process took the upload
/// (its entry is missing or at another offset), completion reads the part file instead —
/// the result is the same, only slower.
final class UploadDigests: @unchecked Sendable {
    // Guarded by `lock`; entries are small (a hash state and an offset).
    private let lock = NSLock()
    private var digests: [String: (offset: Int64, hasher: SHA256)] = [:]
    /// Uploads with a digest kept at once; past that the oldest is dropped (it is then re-read).
    static let capacity = 4096
    private var order: [String] = []

    /// The digest of the upload's first `offset` bytes, when this process saw them all arrive.
    func take(_ uploadId: String, at offset: Int64) -> SHA256? {
        lock.withLock {
            if offset == 0 { return SHA256() }
            guard let entry = digests[uploadId], entry.offset == offset else { return nil }
            return entry.hasher
        }
    }

    func keep(_ uploadId: String, at offset: Int64, _ hasher: SHA256) {
        lock.withLock {
            if digests.updateValue((offset, hasher), forKey: uploadId) == nil {
                order.append(uploadId)
                if order.count > Self.capacity {
                    digests[order.removeFirst()] = nil
                }
            }
        }
    }

    func forget(_ uploadId: String) {
        lock.withLock {
            if digests.removeValue(forKey: uploadId) != nil { order.removeAll { $0 == uploadId } }
        }
    }
}
