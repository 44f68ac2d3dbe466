import ArgumentParser
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

struct CSVError: Error, CustomStringConvertible {
    var description: String
}

enum OfficerCSV {
    static let header = ["number", "name", "certificate_number", "certificate_status", "certificate_expires", "unit"]

    static func parse(_ text: String, file: String) throws -> [Officer] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { throw CSVError(description: "\(file): empty file") }
        let columns = fields(first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first)
        guard columns == header else {
            throw CSVError(description: "\(file): line 1 must be the header \(header.joined(separator: ","))")
        }
        var officers: [Officer] = []
        var problems: [String] = []
        for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let values = fields(line)
            let where_ = "\(file): line \(index + 1)"
            guard values.count == header.count else {
                problems.append("\(where_): \(values.count) fields instead of \(header.count)")
                continue
            }
            guard values[0].count == 6, values[0].allSatisfy(\.isNumber) else {
                problems.append("\(where_): number \"\(values[0])\" is not 6 digits")
                continue
            }
            guard let status = Officer.CertificateStatus(rawValue: values[3]) else {
                problems.append("\(where_): certificate_status \"\(values[3])\" is not valid, expired or revoked")
                continue
            }
            let expires = values[4].isEmpty ? nil : values[4]
            if let expires, ListCommand.parseTime(expires) == nil || expires.count != 10 {
                problems.append("\(where_): certificate_expires \"\(expires)\" is not YYYY-MM-DD")
                continue
            }
            guard !values[1].isEmpty, !values[2].isEmpty else {
                problems.append("\(where_): name and certificate_number must not be empty")
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
