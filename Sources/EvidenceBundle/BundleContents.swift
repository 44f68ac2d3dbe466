import Evidence
import Foundation
import Store
import Sync
import SyncProtocol

/// How far an item's proof goes in a bundle.
public enum ItemStanding: String, Codable, Sendable {
    /// A receipt signed by the server names it: retained online.
    case receipted
    /// In a manifest the gateway signed, not (yet) receipted.
    case signedByGateway = "signed-by-gateway"
    /// Not yet sent to the server: only the gateway's signature over the bag covers it.
    case exportedOnly = "exported-only"
}

/// `data/items.json`: everything a reader needs to tie each file to who made it and who held it.
struct ItemsDocument: Codable {
    struct Item: Codable {
        /// "recording 12", "printout 3": the gateway's name for it.
        var id: String
        var kind: String
        var sha256: String
        var size: Int64
        /// The blob in the bag; nil when the gateway no longer holds it (freed after its receipt).
        var file: String?
        var standing: ItemStanding
        var metadata: [String: String]
        /// The custody events as the gateway recorded them, each with its hash link.
        var custody: [CustodyEvent]
        /// The signed manifests and receipts in the bag that name this item.
        var manifests: [String]
        var receipts: [String]
    }

    struct Batch: Codable {
        var batchKey: String
        var serverBatchId: String?
        var manifest: String?
        var receipt: String?
        var receiptVersion: Int?
        var serverTime: String?
        /// The RFC 3161 time-stamp over the receipt (`<receipt>.tsr`) and when it says it was made.
        var timestamp: String?
        var timestampedAt: String?
    }

    var format = "fieldgate-bundle-1"
    var bundleId: String
    var exportedAt: String
    var selection: String
    var gatewayId: String
    var gatewayName: String
    var server: String
    var keys: [String: String]
    var items: [Item]
    var batches: [Batch]
}

/// One batch's signed documents as they go into the bag.
struct BatchDocuments {
    var batch: SyncBatch
    var itemIds: Set<Int64>
    var manifestPath: String?
    var receiptPath: String?
    var receipt: Receipt?
    /// The authority's reply over the receipt, beside it.
    var timestampPath: String?

    /// Batch keys and server ids become file names only when they are plain (they are UUIDs).
    static func safeName(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || $0 == 0x2d })
        else { return nil }
        return text
    }

    init(_ exported: ExportedBatch) {
        batch = exported.batch
        itemIds = exported.itemIds
        let name = Self.safeName(batch.batchKey) ?? "batch-\(batch.id ?? 0)"
        if batch.manifestPayload != nil, batch.manifestSignature != nil { manifestPath = "data/manifests/\(name).json" }
        if let payload = batch.receiptPayload, batch.receiptSignature != nil {
            receiptPath = "data/receipts/\(Self.safeName(batch.serverBatchId) ?? name).json"
            receipt = try? WireCoding.decoder.decode(Receipt.self, from: payload)
            if batch.timestampReply != nil, let receiptPath { timestampPath = receiptPath + ".tsr" }
        }
    }

    /// Whether this batch's receipt names the item's blob.
    func receipts(_ entry: SyncEntry) -> Bool {
        itemIds.contains(entry.item.id) && receipt?.items.contains { $0.sha256 == entry.item.sha256 } == true
    }
}

/// The blob's file name in the bag: its hash and an extension a viewer recognises.
func itemFileName(_ entry: SyncEntry) -> String {
    let fallback: String
    let sourceName: String
    switch entry.source {
    case .recording(let recording):
        sourceName = recording.sourceName
        fallback = "bin"
    case .printout:
        sourceName = ""
        fallback = "escpos"
    case .fingerprint(let capture):
        sourceName = "x." + capture.format
        fallback = "bin"
    }
    let ext = sourceName.split(separator: ".", omittingEmptySubsequences: false).last.map { $0.lowercased() } ?? ""
    let plain = sourceName.contains(".") && !ext.isEmpty && ext.utf8.count <= 8
        && ext.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) }
    return "data/items/\(entry.item.sha256).\(plain ? ext : fallback)"
}

func itemLabel(_ entry: SyncEntry) -> String {
    "\(entry.item.kind.rawValue) \(entry.item.sourceId)"
}
