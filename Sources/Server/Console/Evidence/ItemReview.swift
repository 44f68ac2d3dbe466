import Common
import Crypto
import Foundation

/// A category of the bureau's list of matters to be recorded (音像记录事项清单). The list is
/// data, rows of the database (seeded by a migration), not code.
public struct EvidenceCategory: Sendable, Equatable {
    public var code: String
    public var zh: String
    public var en: String
    /// How long an item of this category is kept; nil: the retention policy's default.
    public var retentionDays: Int?

    func label(_ language: ConsoleLanguage) -> String { language == .zh ? zh : en }
}

/// What a reviewer decided about an item: its category and the case it belongs to. An item
/// without a category is "uncategorised — kept", never given a short-lived default.
struct ItemReviewRecord: Sendable, Equatable {
    var category: String?
    /// Marked "do not disclose": no share may carry it.
    var withheld: Bool
    /// Under legal hold: kept whatever its category's period.
    var held = false
    /// The case bound on the console; the gateway's own case (its metadata) stands otherwise.
    var caseNumber: String?
    var reviewedAt: Date
    var reviewedBy: String
}

/// What the server did to an item, as custody: each event continues the item's chain from the
/// gateway's last link, hashed the same way, so a court re-checks one chain end to end.
enum ServerCustodyKind: String, Sendable, CaseIterable {
    case categorised
    case caseBound = "case-bound"
    case caseUnbound = "case-unbound"
    case withheld
    case released
    case held
    case holdReleased = "hold-released"
    case recycled
    case restored
    case purged
}

struct ServerCustodyEvent: Sendable, Equatable {
    var seq: Int64
    var at: String
    var actor: String
    var kind: ServerCustodyKind
    /// JSON object with sorted keys.
    var details: String
    var previousHash: String
    var hash: String

    func computedHash() -> String {
        let fields = ["fieldgate-server-custody-v1", String(seq), at, actor, kind.rawValue, details]
        let content = (try? JSONEncoder().encode(fields)) ?? Data()
        var bytes = Array(previousHash.utf8)
        bytes.append(0x1E)
        bytes.append(contentsOf: content)
        return SHA256.hash(data: bytes).hexString
    }

    /// The event after `previous` (the item's last server event, or its gateway chain's last link).
    static func next(seq: Int64, previousHash: String, at: Date, actor: String, kind: ServerCustodyKind,
                     details: [String: String]) -> ServerCustodyEvent {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(details)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var event = ServerCustodyEvent(seq: seq, at: at.formatted(AccessEvent.timeFormat), actor: actor, kind: kind, details: text,
                                       previousHash: previousHash, hash: "")
        event.hash = event.computedHash()
        return event
    }
}

/// A reviewer's change to an item, checked before it is stored.
struct ItemReviewChange: Sendable, Equatable {
    var category: String?
    var caseNumber: String?
    var withheld = false
    var held = false

    static let maximumCaseLength = 64

    /// The change a review form sent, or why it cannot be made.
    static func parse(category: String?, caseNumber: String?, withheld: Bool = false, held: Bool = false,
                      known: [EvidenceCategory]) throws(ItemReviewError) -> ItemReviewChange {
        let category = category?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        if let category, !known.contains(where: { $0.code == category }) { throw .unknownCategory(category) }
        let caseNumber = caseNumber?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        if let caseNumber {
            guard caseNumber.count <= maximumCaseLength else { throw .caseTooLong }
            guard !caseNumber.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw .caseControl }
        }
        return ItemReviewChange(category: category, caseNumber: caseNumber, withheld: withheld, held: held)
    }
}

/// The custody events a review makes: one for each field it changes.
enum ItemReviewDiff {
    static func events(before: (category: String?, caseNumber: String?, withheld: Bool, held: Bool),
                       after: ItemReviewChange) -> [(ServerCustodyKind, [String: String])] {
        var events: [(ServerCustodyKind, [String: String])] = []
        if after.held != before.held { events.append((after.held ? .held : .holdReleased, [:])) }
        if after.withheld != before.withheld { events.append((after.withheld ? .withheld : .released, [:])) }
        if after.category != before.category, let category = after.category {
            var details = ["category": category]
            if let old = before.category { details["previous"] = old }
            events.append((.categorised, details))
        }
        if after.caseNumber != before.caseNumber {
            if let caseNumber = after.caseNumber {
                var details = ["case": caseNumber]
                if let old = before.caseNumber { details["previous"] = old }
                events.append((.caseBound, details))
            } else if let old = before.caseNumber {
                events.append((.caseUnbound, ["previous": old]))
            }
        }
        return events
    }
}

enum ItemReviewError: Error, Equatable, CustomStringConvertible {
    case unknownCategory(String)
    case caseTooLong
    case caseControl

    var description: String {
        switch self {
        case .unknownCategory(let code): "\"\(code)\" is not a category of the bureau's list"
        case .caseTooLong: "a case number has at most \(ItemReviewChange.maximumCaseLength) characters"
        case .caseControl: "the case number holds a control character"
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
