import Common
import Crypto
import Evidence
import Foundation

/// The messages gateway and server exchange, as JSON bodies. `openapi.yaml` (in the Server
/// module) describes the same shapes for other clients.

/// `POST /v1/enroll`: a one-time token and the gateway's Ed25519 public key.
public struct EnrollRequest: Codable, Sendable, Equatable {
    public var token: String
    /// The gateway's Ed25519 public key, raw 32 bytes in base64.
    public var publicKey: String

    public init(token: String, publicKey: String) {
        self.token = token
        self.publicKey = publicKey
    }
}

/// The answer to an enrolment: who the gateway is now, how it authenticates, and the key
/// that signs the server's receipts (the gateway pins it).
public struct EnrollResponse: Codable, Sendable, Equatable {
    public var gatewayId: String
    public var gatewayName: String
    /// Sent as `Authorization: Bearer <credential>` on every later request.
    public var credential: String
    /// The server's Ed25519 public key, raw 32 bytes in base64.
    public var serverPublicKey: String

    public init(gatewayId: String, gatewayName: String, credential: String, serverPublicKey: String) {
        self.gatewayId = gatewayId
        self.gatewayName = gatewayName
        self.credential = credential
        self.serverPublicKey = serverPublicKey
    }
}

/// One evidence item of a batch: the blob it stands for, what it is, and its custody so far.
public struct ManifestItem: Codable, Sendable, Equatable {
    /// Lower-case hex SHA-256 of the blob.
    public var sha256: String
    public var size: Int64
    /// "recording", "printout", "fingerprint", …
    public var kind: String
    /// Descriptive fields (camera, officer, start time, flags…), all as text.
    public var metadata: [String: String]
    public var custody: [CustodyEvent]

    public init(sha256: String, size: Int64, kind: String, metadata: [String: String], custody: [CustodyEvent]) {
        self.sha256 = sha256
        self.size = size
        self.kind = kind
        self.metadata = metadata
        self.custody = custody
    }
}

/// `POST /v1/batches`: sent as the payload of a ``SignedEnvelope`` signed with the gateway's key.
public struct BatchManifest: Codable, Sendable, Equatable {
    /// Chosen by the gateway and kept before sending, so a manifest sent twice (a lost answer)
    /// names the same batch.
    public var batchKey: String
    public var gatewayId: String
    public var createdAt: String
    public var items: [ManifestItem]
    /// What else the gateway holds unreceipted as it signs this manifest; absent from older gateways.
    public var waiting: GatewayBacklog?

    public init(batchKey: String, gatewayId: String, createdAt: String, items: [ManifestItem], waiting: GatewayBacklog? = nil) {
        self.batchKey = batchKey
        self.gatewayId = gatewayId
        self.createdAt = createdAt
        self.items = items
        self.waiting = waiting
    }
}

/// The items a gateway holds that the server has not receipted, counted when it signs a batch's
/// manifest, that batch's own items left out: what the centre has not received yet.
public struct GatewayBacklog: Codable, Sendable, Equatable {
    public var items: Int
    public var bytes: Int64
    /// When the oldest of them was recorded (printed, captured), ISO 8601 UTC.
    public var oldestRecordedAt: String?
    /// How many were recorded in each month ("2026-11"), on the gateway's calendar.
    public var byMonth: [String: Int]
    /// The gateway's unit, which the centre counts them for.
    public var unit: String?

    public init(items: Int, bytes: Int64, oldestRecordedAt: String?, byMonth: [String: Int], unit: String? = nil) {
        self.unit = unit
        self.items = items
        self.bytes = bytes
        self.oldestRecordedAt = oldestRecordedAt
        self.byMonth = byMonth
    }
}

/// The server's answer to a manifest: the batch and the blobs this gateway has yet to deliver.
public struct BatchCreated: Codable, Sendable, Equatable {
    public var batchId: String
    /// SHA-256 of every blob of the batch this gateway has neither uploaded nor proved it holds.
    /// Whether another gateway uploaded it is not said: the list is the same either way.
    public var missing: [String]
    /// "open" or "committed".
    public var state: String
    /// One per missing blob: a gateway that holds the blob may answer it
    /// (`POST /v1/batches/{id}/possession`) instead of uploading; the server accepts the
    /// answer only when it holds the blob itself and the answer matches.
    public var challenges: [PossessionChallenge]

    public init(batchId: String, missing: [String], state: String, challenges: [PossessionChallenge] = []) {
        self.batchId = batchId
        self.missing = missing
        self.state = state
        self.challenges = challenges
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        batchId = try container.decode(String.self, forKey: .batchId)
        missing = try container.decode([String].self, forKey: .missing)
        state = try container.decode(String.self, forKey: .state)
        challenges = try container.decodeIfPresent([PossessionChallenge].self, forKey: .challenges) ?? []
    }
}

/// A server-chosen question only a holder of the blob can answer: the lower-case hex SHA-256
/// of the nonce's bytes followed by the blob's bytes `offset ..< offset + length`.
public struct PossessionChallenge: Codable, Sendable, Equatable {
    public var sha256: String
    /// Base64, unpredictable to the gateway.
    public var nonce: String
    public var offset: Int64
    public var length: Int64

    public init(sha256: String, nonce: String, offset: Int64, length: Int64) {
        self.sha256 = sha256
        self.nonce = nonce
        self.offset = offset
        self.length = length
    }
}

/// `POST /v1/batches/{id}/possession`: answers to the batch's challenges.
public struct PossessionProofs: Codable, Sendable, Equatable {
    public struct Proof: Codable, Sendable, Equatable {
        public var sha256: String
        /// Lower-case hex SHA-256 of the nonce's bytes and the challenged range.
        public var proof: String

        public init(sha256: String, proof: String) {
            self.sha256 = sha256
            self.proof = proof
        }
    }

    public var proofs: [Proof]

    public init(proofs: [Proof]) { self.proofs = proofs }
}

/// The blobs whose proof the server accepted: they count as delivered by this gateway. A blob
/// not listed is to be uploaded (whether the server lacks it or the proof was wrong is not said).
public struct PossessionAnswer: Codable, Sendable, Equatable {
    public var accepted: [String]

    public init(accepted: [String]) { self.accepted = accepted }
}

/// `GET /v1/batches/{id}/timestamp`: the RFC 3161 time-stamp a time-stamping authority signed
/// over the batch's receipt payload (the bytes the server signed), or why there is none yet.
public struct ReceiptTimestampAnswer: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case granted
        /// Asked for and not yet had (the authority was down, say); the receipt stands without it.
        case pending
    }

    public var state: State
    /// The authority's TimeStampResp (DER), base64, when granted: `openssl ts -verify -in` reads it.
    public var reply: String?
    /// When the authority says it stamped, when granted.
    public var stampedAt: String?
    /// The CA certificates (PEM) that the server was told verify its authority's tokens.
    public var authorityCertificates: String
    /// The last attempt's error, when pending.
    public var reason: String?

    public init(state: State, reply: String? = nil, stampedAt: String? = nil, authorityCertificates: String, reason: String? = nil) {
        self.state = state
        self.reply = reply
        self.stampedAt = stampedAt
        self.authorityCertificates = authorityCertificates
        self.reason = reason
    }
}

/// `POST /v1/batches/{id}/commit`: the items the gateway could not deliver (a disk that failed
/// mid-upload, say). An empty body, or one without `withdraw`, withdraws nothing.
public struct CommitRequest: Codable, Sendable, Equatable {
    /// SHA-256 of each blob of the batch the gateway withdraws.
    public var withdraw: [String]

    public init(withdraw: [String] = []) { self.withdraw = withdraw }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        withdraw = try container.decodeIfPresent([String].self, forKey: .withdraw) ?? []
    }
}

/// Which fields a receipt carries. A receipt is checked by the version it says it is, so a
/// receipt issued before a change keeps verifying.
public enum ReceiptVersion: Int, Codable, Sendable, Comparable {
    /// The batch, the gateway, each item's hash and size, the server time.
    case v1 = 1
    /// Also the SHA-256 of the exact signed manifest payload answered, and each item's last
    /// custody event as received: the receipt covers the record, not only the bytes.
    case v2 = 2

    public static func < (lhs: ReceiptVersion, rhs: ReceiptVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What the server signs when it commits a batch: only a receipt counts as retained online.
public struct Receipt: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var sha256: String
        public var size: Int64
        /// v2: the `hash` of the item's last custody event in the manifest (nil when it had none).
        public var lastCustodyHash: String?

        public init(sha256: String, size: Int64, lastCustodyHash: String? = nil) {
            self.sha256 = sha256
            self.size = size
            self.lastCustodyHash = lastCustodyHash
        }
    }

    /// Absent from v1 receipts (read as ``ReceiptVersion/v1``).
    public var version: ReceiptVersion
    public var batchId: String
    public var batchKey: String
    public var gatewayId: String
    /// v2: lower-case hex SHA-256 of the signed manifest payload's bytes, exactly as received.
    public var manifestSha256: String?
    public var items: [Item]
    /// ISO 8601 UTC.
    public var serverTime: String

    public static let currentVersion = ReceiptVersion.v2

    enum CodingKeys: String, CodingKey {
        case version, batchId, batchKey, gatewayId, manifestSha256, items, serverTime
    }

    /// A v1 receipt: nothing about the manifest.
    public init(batchId: String, batchKey: String, gatewayId: String, items: [Item], serverTime: String) {
        self.init(version: .v1, batchId: batchId, batchKey: batchKey, gatewayId: gatewayId, manifestSha256: nil, items: items,
                  serverTime: serverTime)
    }

    public init(version: ReceiptVersion, batchId: String, batchKey: String, gatewayId: String, manifestSha256: String?,
                items: [Item], serverTime: String) {
        self.version = version
        self.batchId = batchId
        self.batchKey = batchKey
        self.gatewayId = gatewayId
        self.manifestSha256 = manifestSha256
        self.items = items
        self.serverTime = serverTime
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(ReceiptVersion.self, forKey: .version) ?? .v1
        batchId = try container.decode(String.self, forKey: .batchId)
        batchKey = try container.decode(String.self, forKey: .batchKey)
        gatewayId = try container.decode(String.self, forKey: .gatewayId)
        manifestSha256 = try container.decodeIfPresent(String.self, forKey: .manifestSha256)
        items = try container.decode([Item].self, forKey: .items)
        serverTime = try container.decode(String.self, forKey: .serverTime)
        if version >= .v2, manifestSha256.map(WireCoding.isSHA256) != true {
            throw DecodingError.dataCorruptedError(forKey: .manifestSha256, in: container,
                                                   debugDescription: "a v2 receipt names its manifest by a lower-case hex SHA-256")
        }
    }

    /// A v1 receipt is encoded as v1 receipts were: without `version`, so its bytes are unchanged.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if version != .v1 { try container.encode(version, forKey: .version) }
        try container.encode(batchId, forKey: .batchId)
        try container.encode(batchKey, forKey: .batchKey)
        try container.encode(gatewayId, forKey: .gatewayId)
        try container.encodeIfPresent(manifestSha256, forKey: .manifestSha256)
        try container.encode(items, forKey: .items)
        try container.encode(serverTime, forKey: .serverTime)
    }

    /// What is wrong with this receipt as the answer to `manifestPayload` (the exact bytes the
    /// gateway signed): nil when it answers it. A v1 receipt only has its items to compare.
    public func problem(answering manifestPayload: Data, manifest: BatchManifest) -> String? {
        let sent = Set(manifest.items.map(\.sha256))
        if let stranger = items.first(where: { !sent.contains($0.sha256) }) {
            return "it receipts blob \(stranger.sha256), which the manifest does not list"
        }
        guard version >= .v2 else { return nil }
        let payloadHash = SHA256.hash(data: manifestPayload).hexString
        guard manifestSha256 == payloadHash else {
            return "it answers manifest \(manifestSha256 ?? "none"), not the one signed (\(payloadHash))"
        }
        let lastEvents = Set(manifest.items.map { "\($0.sha256) \($0.custody.last?.hash ?? "")" })
        if let item = items.first(where: { !lastEvents.contains("\($0.sha256) \($0.lastCustodyHash ?? "")") }) {
            return "its last custody event for \(item.sha256) (\(item.lastCustodyHash ?? "none")) is not the manifest's"
        }
        return nil
    }
}

/// `GET /v1/evidence/{sha256}`: what the server holds of one blob, for the asking gateway.
public struct EvidenceRecord: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var batchId: String
        public var kind: String
        public var metadata: [String: String]
        public var custody: [CustodyEvent]
        public var receivedAt: String

        public init(batchId: String, kind: String, metadata: [String: String], custody: [CustodyEvent], receivedAt: String) {
            self.batchId = batchId
            self.kind = kind
            self.metadata = metadata
            self.custody = custody
            self.receivedAt = receivedAt
        }
    }

    public var sha256: String
    public var size: Int64
    public var entries: [Entry]

    public init(sha256: String, size: Int64, entries: [Entry]) {
        self.sha256 = sha256
        self.size = size
        self.entries = entries
    }
}

/// Every error body: a reason a person can act on.
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: String

    public init(error: String) { self.error = error }
}
