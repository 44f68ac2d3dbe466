import Crypto
import Foundation
import Store
import SyncProtocol
import Timestamping

/// A kept receipt, checked again against the pinned server key and the manifest it answers.
public struct CheckedReceipt: Sendable, Codable, Equatable {
    public var batchId: String
    public var serverTime: String
    public var items: Int
    public var bytes: Int64
    /// 1: hashes and sizes only; 2: also the manifest (metadata, custody) it answers.
    public var version: Int
    /// Whether the signature still verifies against the pinned key, the payload is intact and
    /// (v2) it names the manifest the gateway kept and each item's last custody event in it.
    public var verified: Bool
    public var problem: String?
    /// When the server's RFC 3161 authority stamped the receipt; nil while it has no token.
    public var timestampedAt: String?

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
                                      bytes: receipt.items.reduce(0) { $0 + $1.size }, version: receipt.version.rawValue,
                                      verified: true, problem: nil).checked(receipt, against: batch).checkedTimestamp(of: batch)
            } catch {
                return CheckedReceipt(batchId: batch.serverBatchId ?? "?", serverTime: batch.serverTime ?? "?", items: 0, bytes: 0,
                                      version: 0, verified: false, problem: "\(error)")
            }
        }
    }

    /// A kept time-stamp must still stamp the kept receipt.
    private func checkedTimestamp(of batch: SyncBatch) -> CheckedReceipt {
        guard let reply = batch.timestampReply, let payload = batch.receiptPayload else { return self }
        var checked = self
        checked.timestampedAt = batch.timestampedAt
        do {
            _ = try TimeStampReply(derEncoded: Array(reply)).check(stamping: MessageImprint(sha256: Array(SHA256.hash(data: payload))))
        } catch {
            checked.verified = false
            checked.problem = [checked.problem, "the kept time-stamp does not stamp this receipt: \(error)"].compactMap { $0 }.joined(separator: "; ")
        }
        return checked
    }

    /// A v2 receipt must answer the kept manifest; a batch kept before manifests were kept has
    /// none to compare.
    private func checked(_ receipt: Receipt, against batch: SyncBatch) -> CheckedReceipt {
        guard receipt.version >= .v2, let payload = batch.manifestPayload else { return self }
        var checked = self
        guard let manifest = try? WireCoding.decoder.decode(BatchManifest.self, from: payload) else {
            checked.verified = false
            checked.problem = "the kept manifest is not a manifest"
            return checked
        }
        if let problem = receipt.problem(answering: payload, manifest: manifest) {
            checked.verified = false
            checked.problem = "the receipt does not answer the kept manifest: \(problem)"
        }
        return checked
    }
}
