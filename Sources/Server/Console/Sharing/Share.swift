import Foundation

/// Items handed to someone outside the bureau (a prosecutor, a court, a party's lawyer): opened
/// by a link with no account, until it expires or is revoked. The link carries a random token;
/// only its SHA-256 is kept.
struct ShareRecord: Sendable, Equatable {
    struct Item: Sendable, Equatable, Hashable {
        var batchId: String
        var position: Int
    }

    var id: String
    var recipient: String
    var purpose: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date
    /// When false the share's pages offer no download and its bytes go only to the page's own players.
    var allowDownload: Bool
    var revokedAt: Date?
    var items: [Item]

    enum State: String, Sendable {
        case active, expired, revoked
    }

    func state(at now: Date) -> State {
        if revokedAt != nil { return .revoked }
        return now < expiresAt ? .active : .expired
    }
}

/// A share as a reviewer asks for it, checked before it is made.
struct ShareRequest: Sendable, Equatable {
    var recipient: String
    var purpose: String
    var days: Int
    var allowDownload: Bool
    var items: [ShareRecord.Item]

    static let maximumDays = 90
    static let maximumItems = 500

    static func parse(_ pairs: [(String, String)]) throws(ShareRequestError) -> ShareRequest {
        func first(_ name: String) -> String? { pairs.first { $0.0 == name }?.1.trimmingCharacters(in: .whitespaces) }
        guard let recipient = first("recipient"), !recipient.isEmpty else { throw .noRecipient }
        guard recipient.count <= 128, !recipient.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badRecipient
        }
        let purpose = first("purpose") ?? ""
        guard purpose.count <= 256, !purpose.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badPurpose
        }
        guard let days = first("days").flatMap(Int.init), (1...maximumDays).contains(days) else { throw .badDays }
        var items: [ShareRecord.Item] = []
        for (name, value) in pairs where name == "item" {
            let parts = value.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, ConsoleRoutes.isBatchId(String(parts[0])), parts[1].count <= 9, let position = Int(parts[1]), position >= 0 else {
                throw .badItem(value)
            }
            let item = ShareRecord.Item(batchId: String(parts[0]), position: position)
            if !items.contains(item) { items.append(item) }
        }
        guard !items.isEmpty else { throw .noItems }
        guard items.count <= maximumItems else { throw .tooManyItems }
        return ShareRequest(recipient: recipient, purpose: purpose, days: days, allowDownload: first("download") == "1", items: items)
    }
}

enum ShareRequestError: Error, Equatable, CustomStringConvertible {
    case noRecipient, badRecipient, badPurpose, badDays, noItems, tooManyItems
    case badItem(String)
    case unknownItem(String)
    case withheld(String)

    var description: String {
        switch self {
        case .noRecipient: "say whom the share is for (a prosecutor, a court, a party's lawyer)"
        case .badRecipient: "the recipient is at most 128 characters, without control characters"
        case .badPurpose: "the purpose is at most 256 characters, without control characters"
        case .badDays: "a share lasts 1 to \(ShareRequest.maximumDays) days"
        case .noItems: "choose at least one item to share"
        case .tooManyItems: "a share holds at most \(ShareRequest.maximumItems) items"
        case .badItem(let value): "\"\(value)\" does not name an item"
        case .unknownItem(let value): "no committed item \(value)"
        case .withheld(let sha256): "item \(sha256.prefix(12))… is marked do-not-disclose and cannot be shared"
        }
    }
}
