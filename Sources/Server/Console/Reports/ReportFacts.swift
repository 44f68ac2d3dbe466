import Common
import Foundation

/// What a committed batch adds to the reports, worked out once as it is committed and kept
/// with the commit in one transaction: the monthly counts per unit, each camera's latest
/// recording, and the items that reached the server more than a day after they were recorded.
/// The reports then read a few hundred rows instead of a month of items.
struct ReportFacts: Sendable, Equatable {
    /// One line of the monthly counts. Empty `unit` and `documentType` stand for none named.
    struct TallyKey: Hashable, Sendable {
        var month: String
        var unit: String
        var kind: String
        var documentType: String
    }

    struct Tally: Sendable, Equatable {
        var items = 0
        /// Recordings' length together.
        var seconds = 0.0
        var flagged = 0
        /// Receipted more than ``lateAfter`` after they were recorded.
        var late = 0
    }

    struct CameraSighting: Sendable, Equatable {
        var unit: String
        /// ISO 8601 UTC, as the metadata has it, so later ones compare greater as text.
        var lastRecordedAt: String
    }

    struct LateItem: Sendable, Equatable {
        var position: Int
        var month: String
        var unit: String
        var kind: String
        var officer: String?
        var camera: String?
        var recordedAt: String
    }

    /// Docking later than this after recording is late (the bureau's rule: within 24 hours).
    static let lateAfter: TimeInterval = 24 * 3600

    var tallies: [TallyKey: Tally] = [:]
    var cameras: [String: CameraSighting] = [:]
    var late: [LateItem] = []

    /// The item as the facts need it: its metadata and whether the commit withdrew it.
    struct Item: Sendable {
        var position: Int
        var kind: String
        var metadata: [String: String]
        var withdrawn: Bool
    }

    init(items: [Item], committedAt: Date, calendar: Calendar = .current) {
        for item in items where !item.withdrawn {
            let metadata = item.metadata
            let recordedText = FoundItem.recordedAt(in: metadata)
            // A time that does not parse counts in the month it was receipted, never in none.
            let recorded = recordedText.flatMap(Timestamp.parse) ?? committedAt
            let month = Self.month(of: recorded, calendar: calendar)
            let unit = metadata["unit"] ?? ""
            let key = TallyKey(month: month, unit: unit, kind: item.kind,
                               documentType: item.kind == "printout" ? metadata["template"] ?? "" : "")
            var tally = tallies[key] ?? Tally()
            tally.items += 1
            if item.kind == "recording", let seconds = metadata["durationSeconds"].flatMap(Double.init), seconds.isFinite, seconds >= 0 {
                tally.seconds += seconds
            }
            if !(metadata["flags"] ?? "").isEmpty { tally.flagged += 1 }
            if committedAt.timeIntervalSince(recorded) > Self.lateAfter {
                tally.late += 1
                late.append(LateItem(position: item.position, month: month, unit: unit, kind: item.kind, officer: metadata["officer"],
                                     camera: metadata["camera"], recordedAt: recorded.formatted(Timestamp.format)))
            }
            tallies[key] = tally
            if item.kind == "recording", let camera = metadata["camera"], !camera.isEmpty {
                let recordedAt = recorded.formatted(Timestamp.format)
                if let seen = cameras[camera], seen.lastRecordedAt >= recordedAt { continue }
                cameras[camera] = CameraSighting(unit: unit, lastRecordedAt: recordedAt)
            }
        }
    }

    /// "2026-11" on the server's calendar.
    static func month(of date: Date, calendar: Calendar) -> String {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return String(format: "%04d-%02d", parts.year ?? 0, parts.month ?? 0)
    }
}
