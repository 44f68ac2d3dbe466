import Common
import Foundation

/// What the console's search looks for among committed, not withdrawn items. Every field is
/// optional; those given must all match. Text matches exactly (a case number, an officer's
/// number, a camera's serial); days are the server's local calendar days.
struct ItemQuery: Sendable, Equatable {
    var officer: String?
    var camera: String?
    /// The gateway's name.
    var gateway: String?
    var caseNumber: String?
    /// The unit (执法单位) the gateway counted the item for.
    var unit: String?
    var kind: ItemKind?
    /// Items recorded (printed, captured) on or after the start of this day.
    var from: Date?
    /// Items recorded before the end of this day.
    var until: Date?
    var flaggedOnly = false
    var importantOnly = false
    var category: CategoryFilter?
    /// The work list reads oldest first; a search, newest first.
    var oldestFirst = false

    enum CategoryFilter: Sendable, Equatable {
        /// Items no reviewer has categorised yet.
        case uncategorised
        case code(String)
    }

    /// A field longer than this is refused: no real number or serial comes near it.
    static let maximumFieldLength = 128

    var isEmpty: Bool { self == ItemQuery() }

    /// The query a search form sent, or why it cannot be run.
    static func parse(_ parameters: [String: String], calendar: Calendar = .current) throws(ItemQueryError) -> ItemQuery {
        func text(_ name: String) throws(ItemQueryError) -> String? {
            guard let value = parameters[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            guard value.count <= maximumFieldLength else { throw .tooLong(name) }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw .control(name) }
            return value
        }
        func day(_ name: String) throws(ItemQueryError) -> Date? {
            guard let value = try text(name) else { return nil }
            let parts = value.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, value.count == 10,
                  let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
                  calendar.component(.day, from: date) == parts[2] else { throw .badDay(name, value) }
            return date
        }
        var query = ItemQuery()
        query.officer = try text("officer")
        query.camera = try text("camera")
        query.gateway = try text("gateway")
        query.caseNumber = try text("case")
        query.unit = try text("unit")
        if let kind = try text("kind") {
            guard let known = ItemKind(rawValue: kind) else { throw .badKind(kind) }
            query.kind = known
        }
        query.from = try day("from")
        if let until = try day("until") { query.until = calendar.date(byAdding: .day, value: 1, to: until) }
        if let from = query.from, let until = query.until, until <= from { throw .emptyRange }
        if let category = try text("category") {
            query.category = category == "none" ? .uncategorised : .code(category)
        }
        query.flaggedOnly = parameters["flagged"] == "1"
        query.importantOnly = parameters["important"] == "1"
        return query
    }

    /// The bounds as the metadata stores times (ISO 8601 UTC), so they compare as text.
    var fromText: String? { from.map { $0.formatted(Timestamp.format) } }
    var untilText: String? { until.map { $0.formatted(Timestamp.format) } }
}

/// The kinds of item a gateway sends, as manifests name them.
enum ItemKind: String, CaseIterable, Sendable {
    case recording, printout, fingerprint
}

enum ItemQueryError: Error, Equatable, CustomStringConvertible {
    case tooLong(String)
    case control(String)
    case badDay(String, String)
    case badKind(String)
    case emptyRange

    var description: String {
        switch self {
        case .tooLong(let field): "\(field) is longer than \(ItemQuery.maximumFieldLength) characters"
        case .control(let field): "\(field) holds a control character"
        case .badDay(let field, let value): "\(field) \"\(value)\" is not a day written YYYY-MM-DD"
        case .badKind(let kind): "\"\(kind)\" is not a kind of item (recording, printout, fingerprint)"
        case .emptyRange: "the range ends before it starts"
        }
    }
}

/// An item as the console shows it: where it came from and what it is.
struct FoundItem: Sendable, Equatable {
    var batchId: String
    var gatewayName: String
    var committedAt: Date?
    var item: BatchItemRecord
    /// The reviewer's category; nil: uncategorised (and kept).
    var category: String?
    /// The case bound on the console, if any.
    var reviewedCase: String?
    /// Marked "do not disclose".
    var withheld = false
    /// Under legal hold.
    var held = false
    var retentionState: RetentionState?
    var purgeAfter: Date?
    var deletedAt: Date?
    /// The category's period, when it names one.
    var retentionDays: Int?

    /// What retention will do with the item, as its page says it.
    var retention: RetentionCandidate? {
        guard let committedAt else { return nil }
        return RetentionCandidate(batchId: batchId, position: item.position, sha256: item.sha256, committedAt: committedAt, category: category,
                                  retentionDays: retentionDays, metadataCase: item.metadata["case"], reviewedCase: reviewedCase,
                                  important: item.metadata["important"] == "true", held: held, state: retentionState, purgeAfter: purgeAfter,
                                  gatewayChainHash: item.custody.last?.hash ?? AccessEvent.genesisHash)
    }

    /// The case the item belongs to: bound on the console, else as the gateway sent it.
    var caseNumber: String? { reviewedCase ?? item.metadata["case"] }

    /// When it was recorded (printed, captured), as its metadata says; the collection time otherwise.
    var recordedAt: String? { Self.recordedAt(in: item.metadata) }

    /// The metadata's time of recording (printing, capture), else of collection.
    static func recordedAt(in metadata: [String: String]) -> String? {
        ["startedAt", "printedAt", "capturedAt", "collectedAt"].lazy.compactMap { metadata[$0] }.first
    }
}
