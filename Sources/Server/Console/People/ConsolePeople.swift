import Foundation

/// What a person may do on the console. Checked on the server for every page and action.
public enum ConsoleRole: String, CaseIterable, Sendable, Codable {
    /// Manages people and every setting, and does all a reviewer does.
    case admin
    /// Categorises, binds to cases and shares evidence.
    case reviewer
    /// Reads the access log and the reports.
    case auditor
    /// Finds and views evidence.
    case viewer

    func may(_ permission: ConsolePermission) -> Bool {
        switch permission {
        case .signIn, .viewEvidence: true
        case .managePeople, .restore: self == .admin
        case .readAccessLog: self == .admin || self == .auditor
        case .viewRetention, .readReports: self != .viewer
        case .categorise, .share: self == .admin || self == .reviewer
        }
    }
}

/// An action the console guards by role.
enum ConsolePermission: Sendable {
    case signIn
    /// Search, item pages, playback, receipts.
    case viewEvidence
    case managePeople
    case readAccessLog
    /// The page of deletions due and the recycle state.
    case viewRetention
    /// Set an item's category and case; see the work list of uncategorised items.
    case categorise
    /// Make and revoke shares.
    case share
    /// The monthly report, the ledger and reconciliation.
    case readReports
    /// Bring a recycled item back before its bytes are deleted.
    case restore
}

/// A person who signs in to the console. Only the bcrypt hash of the password is kept.
public struct ConsoleUserRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: ConsoleRole
    var passwordHash: String
    public var createdAt: Date
    public var passwordChangedAt: Date
    /// Set once disabled: the person cannot sign in, and their sessions are gone.
    public var disabledAt: Date?

    public var isDisabled: Bool { disabledAt != nil }
}

/// A signed-in browser. The cookie carries a random token; only its SHA-256 is kept, so the
/// database alone opens no session.
struct ConsoleSessionRecord: Sendable, Equatable {
    var tokenHash: String
    var userId: String
    /// Every form of the session carries it; a POST without it is refused (CSRF).
    var csrfToken: String
    var createdAt: Date
    var lastSeenAt: Date
    /// Where the sign-in came from, for the access log.
    var address: String
}

public enum ConsoleAccountError: Error, CustomStringConvertible, Equatable {
    case duplicateName(String)
    case unknownName(String)
    case invalidName(String)
    case weakPassword(String)

    public var description: String {
        switch self {
        case .duplicateName(let name): "a console user named \(name) exists already: choose another name, or reset that user's password"
        case .unknownName(let name): "no console user named \(name) (fieldgate-server users list shows them)"
        case .invalidName(let name):
            "\"\(name)\" cannot name a console user: give 1 to 64 letters, digits, '.', '_' or '-'"
        case .weakPassword(let reason): "password refused: \(reason)"
        }
    }
}
