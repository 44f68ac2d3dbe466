import Common
import Crypto
import Foundation

/// What someone did on the console (or to its people from the command line).
public enum AccessAction: String, CaseIterable, Sendable, Codable {
    case signIn = "sign-in"
    case signInRefused = "sign-in-refused"
    case signInThrottled = "sign-in-throttled"
    case signOut = "sign-out"
    case viewPeople = "view-people"
    case search
    case viewItem = "view-item"
    case playItem = "play-item"
    case viewReceipt = "view-receipt"
    case categorise
    case bindCase = "bind-case"
    case viewWorkList = "view-work-list"
    case markDisclosure = "mark-disclosure"
    case legalHold = "legal-hold"
    case shareCreated = "share-created"
    case shareRevoked = "share-revoked"
    case viewShares = "view-shares"
    /// Through a share's link: the actor is `share:` and its id.
    case shareViewed = "share-viewed"
    case sharePlayed = "share-played"
    case shareRefused = "share-refused"
    case viewAccessLog = "view-access-log"
    case exportAccessLog = "export-access-log"
    case userAdded = "user-added"
    case userDisabled = "user-disabled"
    case passwordReset = "password-reset"
    case roleChanged = "role-changed"
    case retentionRecycled = "retention-recycled"
    case retentionRestored = "retention-restored"
    case retentionDeleted = "retention-deleted"
    case viewRetention = "view-retention"
    case viewReport = "view-report"
    case exportReport = "export-report"
    case exportLedger = "export-ledger"
    case viewReconciliation = "view-reconciliation"
}

/// One entry of the access log: who did what, when, from where. Entries are hash-chained as
/// custody is: each hash covers the previous entry's hash and this entry's content, so changing,
/// removing or reordering any entry breaks every later link (``AccessLogVerification``).
public struct AccessEvent: Sendable, Equatable {
    public var seq: Int64
    /// ISO 8601 UTC with milliseconds, as stored and hashed (never re-formatted).
    public var at: String
    /// The person's name; for a command, `cli:` and the system user who ran it.
    public var actor: String
    /// The client's address; `local` for a command.
    public var address: String
    public var action: AccessAction
    /// What it was done to: a person's name, a page.
    public var subject: String
    public var detail: String
    public var previousHash: String
    public var hash: String

    public static let genesisHash = String(repeating: "0", count: 64)

    /// previousHash, 0x1E, then the content as a JSON array of strings (which escapes every
    /// control character, so no field can pass for another).
    func computedHash() -> String {
        let fields = ["fieldgate-access-v1", String(seq), at, actor, address, action.rawValue, subject, detail]
        // Encoding an array of strings cannot fail.
        let content = (try? JSONEncoder().encode(fields)) ?? Data()
        var bytes = Array(previousHash.utf8)
        bytes.append(0x1E)
        bytes.append(contentsOf: content)
        return SHA256.hash(data: bytes).hexString
    }

    /// The entry that follows `previous` (nil: the first).
    static func next(after previous: (seq: Int64, hash: String)?, at: Date, actor: String, address: String, action: AccessAction,
                     subject: String, detail: String) -> AccessEvent {
        var event = AccessEvent(seq: (previous?.seq ?? 0) + 1, at: at.formatted(Self.timeFormat), actor: actor, address: address,
                                action: action, subject: subject, detail: detail, previousHash: previous?.hash ?? genesisHash, hash: "")
        event.hash = event.computedHash()
        return event
    }

    static let timeFormat: Date.ISO8601FormatStyle = .iso8601.year().month().day().time(includingFractionalSeconds: true)

    static let csvHeader = "seq,at,actor,address,action,subject,detail,previous_hash,hash"

    /// One CSV line (RFC 4180). A field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
    /// tab, CR first) is prefixed with `'`.
    var csvLine: String {
        [String(seq), at, actor, address, action.rawValue, subject, detail, previousHash, hash].map(Self.csvField).joined(separator: ",")
    }

    static func csvField(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The outcome of re-checking the whole access log.
public struct AccessLogVerification: Sendable, Equatable, Codable {
    public var entries: Int64
    /// The first entry whose link does not hold, and why; nil when the chain is whole.
    public var brokenAt: Int64?
    public var reason: String?

    public var isIntact: Bool { brokenAt == nil }

    public init(entries: Int64, brokenAt: Int64?, reason: String?) {
        self.entries = entries
        self.brokenAt = brokenAt
        self.reason = reason
    }
}

/// Who ran a command, for the access log: `cli:` and the system user.
func commandActor() -> String {
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return "cli:" + String(cString: name) }
    return "cli:uid-\(geteuid())"
}
