/// Why a recording needs a person's attention. It is collected anyway: evidence is never
/// dropped for being odd.
public enum RecordingFlag: String, Sendable, Codable, CaseIterable {
    case unregisteredCamera = "unregistered-camera"
    case nonstandardName = "nonstandard-name"
    case serialMismatch = "serial-mismatch"
    case emptyFile = "empty-file"
    case changedWhileCopying = "changed-while-copying"
    case unrecognisedContent = "unrecognised-content"
    case damagedContent = "damaged-content"
    case certificateRevoked = "certificate-revoked"
    case certificateExpired = "certificate-expired"
    case unknownOfficer = "unknown-officer"
    /// Recorded more than a day before its camera was docked (the station's rule: footage is
    /// entered within 24 hours of the end of duty).
    case lateDocking = "late-docking"
}

/// A recording's flags: a set, always listed in the order of `RecordingFlag.allCases`, and
/// written (in the store, the ledger's JSON and CSV, the sync manifest) as comma-separated text,
/// e.g. "unregistered-camera,unknown-officer"; no flags is the empty text.
public struct RecordingFlags: Sendable, Hashable, Codable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    private var members: Set<RecordingFlag>

    public init(_ flags: some Sequence<RecordingFlag>) { members = Set(flags) }
    public init(arrayLiteral flags: RecordingFlag...) { self.init(flags) }

    /// Parses the comma-separated text; a flag this build does not know is an error naming it.
    public init(text: String) throws(UnknownRecordingFlag) {
        var flags: [RecordingFlag] = []
        for name in text.split(separator: ",") {
            guard let flag = RecordingFlag(rawValue: String(name)) else { throw UnknownRecordingFlag(name: String(name)) }
            flags.append(flag)
        }
        self.init(flags)
    }

    public var isEmpty: Bool { members.isEmpty }
    public func contains(_ flag: RecordingFlag) -> Bool { members.contains(flag) }
    public mutating func insert(_ flag: RecordingFlag) { members.insert(flag) }

    /// In the canonical order.
    public var list: [RecordingFlag] { RecordingFlag.allCases.filter(members.contains) }
    public func makeIterator() -> IndexingIterator<[RecordingFlag]> { list.makeIterator() }

    public var text: String { list.map(\.rawValue).joined(separator: ",") }
    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

public struct UnknownRecordingFlag: Error, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public init(name: String) { self.name = name }
    public var description: String { "unknown recording flag \"\(name)\"" }
}
