import Crypto
import Evidence
import Foundation
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

/// One item as a bag holds it, whether the gateway's store or the server's records gave it.
public struct BagItem: Sendable {
    /// The exporter's name for it: "recording 12", or the server's "BATCH #3".
    public var label: String
    public var kind: String
    public var sha256: String
    public var size: Int64
    /// Where its bytes are read; nil when the exporter no longer holds them.
    public var blobPath: String?
    public var metadata: [String: String]
    /// The custody events as the gateway recorded them, each with its hash link.
    public var custody: [CustodyEvent]

    public init(label: String, kind: String, sha256: String, size: Int64, blobPath: String?, metadata: [String: String],
                custody: [CustodyEvent]) {
        self.label = label
        self.kind = kind
        self.sha256 = sha256
        self.size = size
        self.blobPath = blobPath
        self.metadata = metadata
        self.custody = custody
    }

    /// The blob's file name in the bag: its hash and an extension a viewer recognises.
    var fileName: String {
        let sourceName: String
        let fallback: String
        switch kind {
        case "printout": (sourceName, fallback) = ("", "escpos")
        case "fingerprint": (sourceName, fallback) = ("x." + (metadata["format"] ?? ""), "bin")
        default: (sourceName, fallback) = (metadata["source"] ?? "", "bin")
        }
        let ext = sourceName.split(separator: ".", omittingEmptySubsequences: false).last.map { $0.lowercased() } ?? ""
        let plain = sourceName.contains(".") && !ext.isEmpty && ext.utf8.count <= 8
            && ext.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) }
        return "data/items/\(sha256).\(plain ? ext : fallback)"
    }
}

/// One batch an item of the bag was part of, with what was signed for it.
public struct BagBatch: Sendable {
    public var batchKey: String
    public var serverBatchId: String?
    /// The gateway that signed the manifest; nil in a gateway's own bag (its key is the bag's).
    public var gatewayId: String?
    /// The manifest payload exactly as signed, and its raw 64-byte Ed25519 signature.
    public var manifest: (payload: Data, signature: Data)?
    /// The server's receipt payload exactly as signed, and its signature.
    public var receipt: (payload: Data, signature: Data)?
    /// The RFC 3161 reply over the receipt, when it was stamped, and the authority's CA (PEM).
    public var timestampReply: Data?
    public var timestampedAt: String?
    public var timestampAuthority: String?
    /// The labels of the bag's items this batch holds.
    public var members: Set<String>

    public init(batchKey: String, serverBatchId: String?, gatewayId: String?, manifest: (payload: Data, signature: Data)?,
                receipt: (payload: Data, signature: Data)?, timestampReply: Data?, timestampedAt: String?,
                timestampAuthority: String?, members: Set<String>) {
        self.batchKey = batchKey
        self.serverBatchId = serverBatchId
        self.gatewayId = gatewayId
        self.manifest = manifest
        self.receipt = receipt
        self.timestampReply = timestampReply
        self.timestampedAt = timestampedAt
        self.timestampAuthority = timestampAuthority
        self.members = members
    }
}

/// Who exports the bag and signs its tag manifest.
public enum BagExporter: Sendable {
    /// A gateway: its own items; its key signs the bag and its manifests.
    case gateway(id: String, name: String, server: String)
    /// The evidence server: items from any gateway; its key signs the bag, each gateway's key
    /// its own manifests (`data/keys/gateways/<id>.pem`).
    case server(name: String)
}

/// A gateway whose manifests a server bag holds.
public struct BagGateway {
    public var id: String
    public var name: String
    public var publicKey: Curve25519.Signing.PublicKey

    public init(id: String, name: String, publicKey: Curve25519.Signing.PublicKey) {
        self.id = id
        self.name = name
        self.publicKey = publicKey
    }
}

/// What every file of one bag is made from, besides its items and batches.
public struct BagContext {
    public var bundleId: String
    public var date: Date
    public var selection: String
    public var organisation: String
    public var exporter: BagExporter
    public var signingKey: Curve25519.Signing.PrivateKey
    public var serverKey: Curve25519.Signing.PublicKey?
    /// Server bags: each gateway whose manifests are in it.
    public var gateways: [BagGateway]

    public init(bundleId: String = UUID().uuidString.lowercased(), date: Date, selection: String, organisation: String,
                exporter: BagExporter, signingKey: Curve25519.Signing.PrivateKey, serverKey: Curve25519.Signing.PublicKey?,
                gateways: [BagGateway] = []) {
        self.bundleId = bundleId
        self.date = date
        self.selection = selection
        self.organisation = organisation
        self.exporter = exporter
        self.signingKey = signingKey
        self.serverKey = serverKey
        self.gateways = gateways
    }

    /// The key file that verifies the tag manifest.
    var signerKeyPath: String {
        switch exporter {
        case .gateway: "data/keys/gateway.pem"
        case .server: "data/keys/server.pem"
        }
    }

    /// The public keys the bag carries, by path: the signer's, the server's, each gateway's.
    var publicKeys: [(path: String, key: Curve25519.Signing.PublicKey)] {
        var keys: [(path: String, key: Curve25519.Signing.PublicKey)] = []
        if case .gateway = exporter { keys.append(("data/keys/gateway.pem", signingKey.publicKey)) }
        if let serverKey { keys.append(("data/keys/server.pem", serverKey)) }
        for gateway in gateways {
            if let name = BagDocuments.safeName(gateway.id) { keys.append(("data/keys/gateways/\(name).pem", gateway.publicKey)) }
        }
        return keys
    }

    /// "gateway NAME (ID)" or "evidence server NAME", for bag-info.txt and the guides.
    var exporterDescription: String {
        switch exporter {
        case .gateway(let id, let name, _): "gateway \(name) (\(id))"
        case .server(let name): "evidence server \(name)"
        }
    }

    /// The key file that verifies a batch's manifest.
    func manifestKeyPath(_ batch: BagBatch) -> String {
        guard case .server = exporter, let gatewayId = batch.gatewayId.flatMap(BagDocuments.safeName) else { return "data/keys/gateway.pem" }
        return "data/keys/gateways/\(gatewayId).pem"
    }
}

/// `data/items.json`: everything a reader needs to tie each file to who made it and who held it.
struct ItemsDocument: Codable {
    struct Item: Codable {
        var id: String
        var kind: String
        var sha256: String
        var size: Int64
        /// The blob in the bag; nil when the exporter no longer holds it (freed after its receipt).
        var file: String?
        var standing: ItemStanding
        var metadata: [String: String]
        var custody: [CustodyEvent]
        /// The signed manifests and receipts in the bag that name this item.
        var manifests: [String]
        var receipts: [String]
    }

    struct Batch: Codable {
        var batchKey: String
        var serverBatchId: String?
        /// Server bags: the gateway that signed the manifest.
        var gatewayId: String?
        var manifest: String?
        var receipt: String?
        var receiptVersion: Int?
        var serverTime: String?
        /// The RFC 3161 time-stamp over the receipt (`<receipt>.tsr`) and when it says it was made.
        var timestamp: String?
        var timestampedAt: String?
    }

    struct Gateway: Codable {
        var id: String
        var name: String
        var key: String
    }

    var format = "fieldgate-bundle-1"
    var bundleId: String
    var exportedAt: String
    /// "gateway" or "server": whose key signs `tagmanifest-sha256.txt`.
    var exportedBy: String
    var selection: String
    /// Gateway bags: the exporting gateway.
    var gatewayId: String?
    var gatewayName: String?
    var server: String
    /// Server bags: the gateways whose manifests it holds.
    var gateways: [Gateway]?
    var keys: [String: String]
    var items: [Item]
    var batches: [Batch]
}

/// One batch's signed documents as they go into the bag, with their paths.
struct BagDocuments {
    var batch: BagBatch
    var manifestPath: String?
    var receiptPath: String?
    var receipt: Receipt?
    /// The authority's reply over the receipt, beside it.
    var timestampPath: String?

    /// Batch keys and ids become file names only when they are plain (they are UUIDs).
    static func safeName(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || $0 == 0x2d })
        else { return nil }
        return text
    }

    init(_ batch: BagBatch, index: Int, context: BagContext) {
        self.batch = batch
        let name = Self.safeName(batch.batchKey) ?? "batch-\(index + 1)"
        if batch.manifest != nil {
            switch context.exporter {
            case .gateway: manifestPath = "data/manifests/\(name).json"
            case .server:
                // Two gateways may pick the same batch key: the server's id is unique.
                let gateway = Self.safeName(batch.gatewayId) ?? "unknown-gateway"
                manifestPath = "data/manifests/\(gateway)/\(Self.safeName(batch.serverBatchId) ?? name).json"
            }
        }
        if let signed = batch.receipt {
            receiptPath = "data/receipts/\(Self.safeName(batch.serverBatchId) ?? name).json"
            receipt = try? WireCoding.decoder.decode(Receipt.self, from: signed.payload)
            if batch.timestampReply != nil, let receiptPath { timestampPath = receiptPath + ".tsr" }
        }
    }

    /// Whether this batch's receipt names the item's blob.
    func receipts(_ item: BagItem) -> Bool {
        batch.members.contains(item.label) && receipt?.items.contains { $0.sha256 == item.sha256 } == true
    }
}
