import Crypto
import Foundation
import Store
import SyncProtocol
import Timestamping

extension BatchSession {
    /// Receipts whose time-stamp is asked for per sync, at most.
    static let timestampsPerSync = 500

    /// Fetches the RFC 3161 time-stamps the server's authority granted over receipts kept without
    /// one. A server without an authority (404) ends it at the first ask; a pending one is asked
    /// again next sync. A token is kept only when it stamps the receipt kept here; the authority's
    /// signature is the verifier's part, with its CA (`openssl ts -verify`, as a bundle does).
    func collectTimestamps(summary: inout SyncSummary) async throws(SyncError) {
        for batch in try storeCall({ try store.batchesAwaitingTimestamp(limit: Self.timestampsPerSync) }) {
            guard let batchId = batch.id, let serverBatchId = batch.serverBatchId, let receipt = batch.receiptPayload else { continue }
            let answer = try await connection.send(.GET, Route.timestamp(serverBatchId))
            if answer.status == 404 { return }
            try answer.expect([200], doing: "fetching the time-stamp of batch \(serverBatchId)'s receipt")
            let timestamp = try answer.decode(ReceiptTimestampAnswer.self)
            guard timestamp.state == .granted else {
                summary.timestampsPending += 1
                continue
            }
            guard let replyText = timestamp.reply, let reply = Data(base64Encoded: replyText), let stampedAt = timestamp.stampedAt else {
                throw .protocolViolation("the time-stamp of batch \(serverBatchId) is granted without its reply or time")
            }
            do {
                _ = try TimeStampReply(derEncoded: Array(reply)).check(stamping: MessageImprint(sha256: Array(SHA256.hash(data: receipt))))
            } catch {
                throw .untrustedServer("the time-stamp of batch \(serverBatchId) does not stamp the receipt kept here: \(error)")
            }
            try storeCall {
                try store.keepTimestamp(batchId: batchId, reply: reply, stampedAt: stampedAt, authorityCertificates: timestamp.authorityCertificates)
            }
            summary.timestamped += 1
        }
    }
}
