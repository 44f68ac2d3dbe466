import Foundation

/// The one way the project writes a moment: ISO 8601 in UTC with milliseconds, e.g.
/// `2026-11-25T10:00:00.000Z`. Custody events are hashed over this text, manifests and receipts
/// carry it, and every report and `--json` prints it, so a time reads the same everywhere.
public enum Timestamp {
    public static let format: Date.ISO8601FormatStyle = .iso8601.year().month().day()
        .time(includingFractionalSeconds: true).timeZone(separator: .omitted).dateSeparator(.dash).timeSeparator(.colon)

    public static func string(_ date: Date) -> String { date.formatted(format) }

    /// A time as a person or another program writes it: ISO 8601 with or without fractional
    /// seconds, or a calendar day `YYYY-MM-DD` (its start, in UTC). Nil for anything else.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: format) { return date }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        // The day form alone: the parser would take the day off the front of a longer text.
        guard text.utf8.count == 10 else { return nil }
        return try? Date(text, strategy: day)
    }

    private static let day: Date.ISO8601FormatStyle = .iso8601.year().month().day().dateSeparator(.dash)
}
