import Crypto
import Foundation
import GRDB

/// What happened to evidence; every kind is one custody event in the chain.
public enum CustodyKind: String, Codable, Sendable, CaseIterable {
    case collected, verified, flagged, wiped, assigned, registered
    case clockDrift = "clock-drift"
    case clockCorrected = "clock-corrected"
    case uploaded, receipted, printed
}

/// One link of the custody chain. Its hash covers the previous link's hash and its own
/// canonical content, so changing, removing or reordering any event breaks every later link.
public struct CustodyEvent: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "custodyEvent"
    public var seq: Int64
    /// ISO 8601 UTC with milliseconds, as stored (hashed as text, never re-formatted).
    public var at: String
    public var kind: String
    public var cameraSerial: String?
    public var recordingId: Int64?
    public var sha256: String?
    /// JSON object with sorted keys, as stored.
    public var details: String
    public var previousHash: String
    public var hash: String

    /// The hash of the chain's start: no event before the first.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The text that is hashed: the fields joined by the ASCII unit separator (which JSON escapes, so
    /// it cannot appear inside a field).
    var canonicalContent: String {
        ["fieldgate-custody-v1", String(seq), at, kind, cameraSerial ?? "", recordingId.map(String.init) ?? "",
         sha256 ?? "", details].joined(separator: "\u{1F}")
    }

    func computedHash() -> String {
        let digest = SHA256.hash(data: Data((previousHash + "\u{1E}" + canonicalContent).utf8))
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

enum CustodyChain {
    static let timestampFormat: Date.ISO8601FormatStyle = .iso8601.year().month().day().time(includingFractionalSeconds: true)
        .timeZone(separator: .omitted).dateSeparator(.dash).timeSeparator(.colon)

    /// Appends an event inside the caller's transaction.
    @discardableResult
    static func append(_ db: Database, kind: CustodyKind, at date: Date = Date(), camera: String? = nil,
                       recordingId: Int64? = nil, sha256: String? = nil, details: [String: String] = [:]) throws -> CustodyEvent {
        let last = try CustodyEvent.order(Column("seq").desc).fetchOne(db)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var event = CustodyEvent(
            seq: (last?.seq ?? 0) + 1, at: date.formatted(timestampFormat), kind: kind.rawValue, cameraSerial: camera,
            recordingId: recordingId, sha256: sha256,
            details: String(decoding: try encoder.encode(details), as: UTF8.self),
            previousHash: last?.hash ?? CustodyEvent.genesisHash, hash: "")
        event.hash = event.computedHash()
        try event.insert(db)
        return event
    }
}
