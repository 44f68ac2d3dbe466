import Foundation
import GRDB

/// A date as GRDB stores it, `yyyy-MM-dd HH:mm:ss.SSS` in UTC, written without its
/// DateFormatter: a small file's row holds four dates, and ICU formatting them was a tenth of
/// a collection's commit. The tests hold this equal to GRDB's own `databaseValue`.
enum StoredDate {
    static func text(_ date: Date) -> String {
        // GRDB's formatter keeps whole milliseconds, rounded to the nearest.
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000 + 0.5).rounded(.down))
        let (days, inDay) = floorDivide(milliseconds, 86_400_000)
        let (year, month, day) = civilDate(daysSince1970: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(23)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: " "))
        digits(inDay / 3_600_000, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(inDay / 60_000 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(inDay / 1000 % 60, 2)
        bytes.append(UInt8(ascii: "."))
        digits(inDay % 1000, 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// GRDB's value for the date: the text above for years 1000–9999 (every date a camera or
    /// this program writes), GRDB's own formatting otherwise.
    static func databaseValue(_ date: Date?) -> DatabaseValue {
        guard let date else { return .null }
        let seconds = date.timeIntervalSince1970
        guard seconds >= -30_610_224_000, seconds < 253_402_300_800 else { return date.databaseValue }
        return text(date).databaseValue
    }

    /// The date GRDB's text holds (`yyyy-MM-dd HH:mm:ss.SSS`, `yyyy-MM-dd HH:mm:ss` or
    /// `yyyy-MM-dd`, UTC), read without a Calendar; any other form (or a number) as GRDB reads it.
    @Sendable static func date(_ value: DatabaseValue) -> Date? {
        guard case .string(let text) = value.storage else { return Date.fromDatabaseValue(value) }
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            var result: Int64 = 0
            for byte in bytes[start..<(start + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                result = result * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return result
        }
        guard [10, 19, 23].contains(bytes.count), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              (1...12).contains(month), (1...31).contains(day), year >= 1000 else { return Date.fromDatabaseValue(value) }
        var milliseconds: Int64 = 0
        if bytes.count >= 19 {
            guard bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                  let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                  hour < 24, minute < 60, second < 60 else { return Date.fromDatabaseValue(value) }
            milliseconds = ((hour * 60 + minute) * 60 + second) * 1000
            if bytes.count == 23 {
                guard bytes[19] == UInt8(ascii: "."), let fraction = number(20, 3) else { return Date.fromDatabaseValue(value) }
                milliseconds += fraction
            }
        }
        // A day past the month's end (31 April) is GRDB's to judge.
        guard civilDate(daysSince1970: daysSince1970(year: year, month: month, day: day)) == (year, month, day) else {
            return Date.fromDatabaseValue(value)
        }
        // Whole seconds from 2001 plus the milliseconds, as Foundation's calendar adds them: the
        // same Double to the last bit as GRDB's own reading.
        let seconds = daysSince1970(year: year, month: month, day: day) * 86_400 + milliseconds / 1000 - 978_307_200
        return Date(timeIntervalSinceReferenceDate: Double(seconds) + Double(milliseconds % 1000) / 1000)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    private static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor, remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    /// Proleptic Gregorian year, month, day of a day count from 1970-01-01 (H. Hinnant's
    /// `civil_from_days`).
    private static func civilDate(daysSince1970 days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Records whose dates are written and read by ``StoredDate``: GRDB's own text, without the
/// ICU formatter and calendar GRDB's defaults load (megabytes of resident memory in every sync).
public protocol StoredDates: FetchableRecord, EncodableRecord {}

extension StoredDates {
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .custom(StoredDate.date) }
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .custom { StoredDate.databaseValue($0) }
    }
}
