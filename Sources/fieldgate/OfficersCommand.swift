import ArgumentParser
import Console
import Foundation
import Store

struct OfficersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "officers", abstract: "The officers (执法人员) and their certificates (执法证).",
        subcommands: [Import.self, List.self], defaultSubcommand: List.self)

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load officers from a CSV file (adds new ones, updates known ones).",
            discussion: """
                Columns (header line first): number,name,certificate_number,certificate_status,certificate_expires,unit
                number: the 6-digit officer number cameras carry; certificate_status: valid, expired or revoked; \
                certificate_expires: YYYY-MM-DD or empty. Every bad line is named; nothing is loaded if any is bad.
                """)

        @Argument(help: "The CSV file.") var file: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let officers = try OfficerCSV.parse(try String(contentsOfFile: file, encoding: .utf8), file: file)
            try store.openStore().save(officers: officers)
            print("Imported \(officers.count) officer(s) from \(file).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the officers.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let officers = try store.openStore().officers()
            if output.json { return print(try jsonString(officers)) }
            var table = TextTable("NUMBER", "NAME", "CERTIFICATE", "STATUS", "EXPIRES", "UNIT")
            for officer in officers {
                table.add([officer.number, officer.name, officer.certificateNumber, officer.certificateStatus.rawValue,
                           officer.certificateExpires, officer.unit])
            }
            print(table.render())
        }
    }
}

struct CasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases", abstract: "The cases (案件) evidence can be bound to.",
        subcommands: [Import.self, List.self], defaultSubcommand: List.self)

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load cases from a CSV file (adds new ones, updates known ones).",
            discussion: """
                Columns (header line first): number,title,procedure,opened_at
                procedure: simple (简易程序) or general (普通程序); opened_at: YYYY-MM-DD or empty. \
                Every bad line is named; nothing is loaded if any is bad.
                """)

        @Argument(help: "The CSV file.") var file: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let cases = try CaseCSV.parse(try String(contentsOfFile: file, encoding: .utf8), file: file)
            try store.openStore().save(cases: cases)
            print("Imported \(cases.count) case(s) from \(file).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cases.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let cases = try store.openStore().cases()
            if output.json { return print(try jsonString(cases)) }
            var table = TextTable("NUMBER", "TITLE", "PROCEDURE", "OPENED")
            for item in cases { table.add([item.number, item.title, item.procedure, item.openedAt]) }
            print(table.render())
        }
    }
}

enum CaseCSV {
    static let header = ["number", "title", "procedure", "opened_at"]

    static func parse(_ text: String, file: String) throws -> [EnforcementCase] {
        var cases: [EnforcementCase] = []
        var problems: [String] = []
        for (line, values) in try CSVTable.rows(text, file: file, header: header) {
            let place = "\(file): line \(line)"
            guard !values[0].isEmpty, !values[1].isEmpty else {
                problems.append("\(place): number and title must not be empty")
                continue
            }
            guard ["simple", "general"].contains(values[2]) else {
                problems.append("\(place): procedure \"\(values[2])\" is not simple or general")
                continue
            }
            if !values[3].isEmpty && (values[3].count != 10 || ListCommand.parseTime(values[3]) == nil) {
                problems.append("\(place): opened_at \"\(values[3])\" is not YYYY-MM-DD")
                continue
            }
            cases.append(EnforcementCase(number: values[0], title: values[1], procedure: values[2],
                                         openedAt: values[3].isEmpty ? nil : values[3]))
        }
        if !problems.isEmpty { throw CSVError(description: problems.joined(separator: "\n")) }
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
        guard let first = lines.first else { throw CSVError(description: "\(file): empty file") }
        guard OfficerCSV.fields(first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first) == header else {
            throw CSVError(description: "\(file): line 1 must be the header \(header.joined(separator: ","))")
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
        if !problems.isEmpty { throw CSVError(description: problems.joined(separator: "\n")) }
        return rows
    }
}

struct CSVError: Error, CustomStringConvertible {
    var description: String
}

enum OfficerCSV {
    static let header = ["number", "name", "certificate_number", "certificate_status", "certificate_expires", "unit"]

    static func parse(_ text: String, file: String) throws -> [Officer] {
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
            if let expires, ListCommand.parseTime(expires) == nil || expires.count != 10 {
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
        if !problems.isEmpty { throw CSVError(description: problems.joined(separator: "\n")) }
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
