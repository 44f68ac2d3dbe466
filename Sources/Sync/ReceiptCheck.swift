import Foundation
import Store
import SyncProtocol

/// A kept receipt, checked again against the pinned server key.
public struct CheckedReceipt: Sendable, Codable, Equatable {
    public var batchId: String
    public var serverTime: String
    public var items: Int
    public var bytes: Int64
    /// Whether the signature still verifies against the pinned key and the payload is intact.
    public var verified: Bool
    public var problem: String?

    /// Checks every receipt in the store.
    public static func all(in store: EvidenceStore) throws(SyncError) -> [CheckedReceipt] {
        guard let enrolment = try storeCall({ try store.enrolment() }) else { throw .notEnrolled }
        let key = WireCoding.publicKey(base64: enrolment.serverPublicKey)
        return try storeCall { try store.receipts() }.map { batch in
            let envelope = SignedEnvelope(payload: batch.receiptPayload?.base64EncodedString() ?? "", signature: batch.receiptSignature ?? "")
            do {
                guard let key else { throw EnvelopeError.malformed("the pinned server key is damaged") }
                let receipt = try envelope.open(Receipt.self, verifyingWith: key)
                return CheckedReceipt(batchId: receipt.batchId, serverTime: receipt.serverTime, items: receipt.items.count,
                                      bytes: receipt.items.reduce(0) { $0 + $1.size }, verified: true, problem: nil)
            } catch {
                return CheckedReceipt(batchId: batch.serverBatchId ?? "?", serverTime: batch.serverTime ?? "?", items: 0, bytes: 0,
                                      verified: false, problem: "\(error)")
            }
        }
    }
}
