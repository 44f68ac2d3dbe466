import Common
import Crypto
import Foundation

/// What happened to evidence; every kind is one custody event in the chain.
public enum CustodyKind: String, Codable, Sendable, CaseIterable {
    case collected, verified, flagged, wiped, assigned, registered
    case clockDrift = "clock-drift"
    case clockCorrected = "clock-corrected"
    case uploaded, receipted, printed
    /// The server refused a blob because its bytes did not match its hash (see `audit verify`).
    case uploadRefused = "upload-refused"
    case fingerprintCaptured = "fingerprint-captured"
    /// The local copy was removed to make room on the gateway's disk; the server holds it per its receipt.
    case localCopyRemoved = "local-copy-removed"
    /// The item was written into an evidence bundle (details: the bundle's id and selection).
    case exported
    /// A recording bound to a case (`fieldgate cases bind`); details name the case.
    case caseBound = "case-bound"
}

/// One link of the custody chain, as the gateway keeps it and as its manifests carry it, so the
/// server (or a court) can re-check the links. Its hash covers the previous link's hash and its
/// own canonical content, so changing, removing or reordering any event breaks every later link.
public struct CustodyEvent: Codable, Sendable, Equatable {
    public var seq: Int64
    /// ISO 8601 UTC with milliseconds, as stored (hashed as text, never re-formatted).
    public var at: String
    public var kind: CustodyKind
    public var cameraSerial: String?
    public var recordingId: Int64?
    public var sha256: String?
    /// JSON object with sorted keys, as stored and hashed.
    public var details: String
    public var previousHash: String
    public var hash: String

    public init(seq: Int64, at: String, kind: CustodyKind, cameraSerial: String?, recordingId: Int64?, sha256: String?,
                details: String, previousHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.kind = kind
        self.cameraSerial = cameraSerial
        self.recordingId = recordingId
        self.sha256 = sha256
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The hash of the chain's start: no event before the first.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The text that is hashed: the fields joined by the ASCII unit separator (which JSON escapes, so
    /// it cannot appear inside a field).
    public var canonicalContent: String {
        ["fieldgate-custody-v1", String(seq), at, kind.rawValue, cameraSerial ?? "", recordingId.map(String.init) ?? "",
         sha256 ?? "", details].joined(separator: "\u{1F}")
    }

    /// What `hash` must be for the link to hold.
    public func computedHash() -> String {
        // The bytes of previousHash, 0x1E and canonicalContent, gathered into one buffer rather
        // than joined as strings first (a small file's commit hashes several events).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(previousHash.utf8.count + at.utf8.count + details.utf8.count + 160)
        bytes.append(contentsOf: previousHash.utf8)
        bytes.append(0x1E)
        bytes.append(contentsOf: "fieldgate-custody-v1".utf8)
        for field in [String(seq), at, kind.rawValue, cameraSerial ?? "", recordingId.map(String.init) ?? "", sha256 ?? "", details] {
            bytes.append(0x1F)
            bytes.append(contentsOf: field.utf8)
        }
        return SHA256.hash(data: bytes).hexString
    }

}
