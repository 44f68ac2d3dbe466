import Common
import Foundation

/// Which items an export takes: one case, officer or camera, or named items; optionally only
/// those taken in a time window.
public struct ExportSelection: Sendable, Codable, Equatable {
    public enum Scope: Sendable, Codable, Equatable {
        /// A case's printouts, fingerprints and the recordings bound to it.
        case caseNumber(String)
        /// An officer's recordings.
        case officer(String)
        /// A camera's recordings.
        case camera(String)
        /// Items named by recording id (as `fieldgate list` shows) or by SHA-256.
        case items([String])
    }

    public var scope: Scope
    /// Items taken at or after this time (recordings: drift-corrected start).
    public var since: Date?
    /// Items taken before this time.
    public var until: Date?

    public init(scope: Scope, since: Date? = nil, until: Date? = nil) {
        self.scope = scope
        self.since = since
        self.until = until
    }

    /// One line a person reads (`bag-info.txt`, the custody event).
    public var summary: String {
        var text = switch scope {
        case .caseNumber(let number): "case \(number)"
        case .officer(let number): "officer \(number)"
        case .camera(let serial): "camera \(serial)"
        case .items(let names): "items \(names.joined(separator: " "))"
        }
        if let since { text += " since \(Timestamp.string(since))" }
        if let until { text += " until \(Timestamp.string(until))" }
        return text
    }
}
