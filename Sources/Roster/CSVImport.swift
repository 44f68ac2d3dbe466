import Foundation
import Store

/// Cases from CSV: number,title,procedure,opened_at.
public enum CaseCSV {
    public static let header = ["number", "title", "procedure", "opened_at"]

    public static func parse(_ text: String, file: String) throws -> [EnforcementCase] {
        var cases: [EnforcementCase] = []
        var problems: [String] = []
        for (line, values) in try CSVTable.rows(text, file: file, header: header) {
            let place = "\(file): line \(line)"
            guard !values[0].isEmpty, !values[1].isEmpty else {
                problems.append("\(place): number and title must not be empty")
                continue
            }
            guard let procedure = CaseProcedure(rawValue: values[2]) else {
                problems.append("\(place): procedure \"\(values[2])\" is not simple or general")
                continue
            }
            if !values[3].isEmpty && !CalendarDay.isValid(values[3]) {
                problems.append("\(place): opened_at \"\(values[3])\" is not YYYY-MM-DD")
                continue
            }
            cases.append(EnforcementCase(number: values[0], title: values[1], procedure: procedure,
                                         openedAt: values[3].isEmpty ? nil : values[3]))
        }
        if !problems.isEmpty { throw CSVError(problems: problems) }
        return cases
    }
}

/// A CSV file with a fixed header: its data rows with their line numbers, or an error naming
/// the file and the first bad line's shape.
enum CSVTable {
    static func rows(_ text: String, file: String, header: [String]) throws -> [(line: Int, values: [String])] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { throw CSVError(problems: ["\(file): empty file"]) }
        guard OfficerCSV.fields(first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first) == header else {
            throw CSVError(problems: ["\(file): line 1 must be the header \(header.joined(separator: ","))"])
        }
        var rows: [(Int, [String])] = []
        var problems: [String] = []
        for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let values = OfficerCSV.fields(line)
            if values.count == header.count {
                rows.append((index + 1, values))
            } else {
                problems.append("\(file): line \(index + 1): \(values.count) fields instead of \(header.count)")
            }
        }
        if !problems.isEmpty { throw CSVError(problems: problems) }
        return rows
    }
}

/// A CSV file that was not loaded: every problem found, each naming the file and line.
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// A calendar day written YYYY-MM-DD.
enum CalendarDay {
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month) else { return false }
        var components = DateComponents(year: year, month: month, day: day)
        components.calendar = Calendar(identifier: .gregorian)
        return components.isValidDate
    }
}

/// Officers from CSV: number,name,certificate_number,certificate_status,certificate_expires,unit.
public enum OfficerCSV {
    public static let header = ["number", "name", "certificate_number", "certificate_status", "certificate_expires", "unit"]

    public static func parse(_ text: String, file: String) throws -> [Officer] {
        var officers: [Officer] = []
        var problems: [String] = []
        for (line, values) in try CSVTable.rows(text, file: file, header: header) {
            let place = "\(file): line \(line)"
            guard values[0].count == 6, values[0].allSatisfy(\.isNumber) else {
                problems.append("\(place): number \"\(values[0])\" is not 6 digits")
                continue
            }
            guard let status = Officer.CertificateStatus(rawValue: values[3]) else {
                problems.append("\(place): certificate_status \"\(values[3])\" is not valid, expired or revoked")
                continue
            }
            let expires = values[4].isEmpty ? nil : values[4]
            if let expires, !CalendarDay.isValid(expires) {
                problems.append("\(place): certificate_expires \"\(expires)\" is not YYYY-MM-DD")
                continue
            }
            guard !values[1].isEmpty, !values[2].isEmpty else {
                problems.append("\(place): name and certificate_number must not be empty")
                continue
            }
            officers.append(Officer(number: values[0], name: values[1], certificateNumber: values[2], certificateStatus: status,
                                    certificateExpires: expires, unit: values[5].isEmpty ? nil : values[5]))
        }
        if !problems.isEmpty { throw CSVError(problems: problems) }
        return officers
    }

    /// Splits one CSV line, honouring double quotes.
    static func fields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pendingQuote = false
        while let character = iterator.next() {
            if pendingQuote {
                pendingQuote = false
                if character == "\"" { current.append("\""); continue }
                quoted = false
            }
            if quoted {
                if character == "\"" { pendingQuote = true } else { current.append(character) }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
