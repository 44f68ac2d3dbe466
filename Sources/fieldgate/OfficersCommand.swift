import ArgumentParser
import Console
import Foundation
import Roster
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
        subcommands: [Import.self, List.self, Bind.self], defaultSubcommand: List.self)

    struct Bind: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind recordings to a case: `export --case` then takes them, and their manifest names the case.",
            discussion: """
                Each recording gets a `case-bound` custody event. A recording belongs to one case;                 binding it again to the same case changes nothing. Bind before the recording is                 synced for the server to learn the case from its manifest.
                """)

        @Argument(help: ArgumentHelp("The case number, as `fieldgate cases` lists it.", valueName: "case"))
        var caseNumber: String
        @Argument(help: ArgumentHelp("Recording ids, as `fieldgate list` shows them.", valueName: "recording-id"))
        var recordings: [Int64]
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard !recordings.isEmpty else { throw ValidationError("give at least one recording id") }
        }

        func run() throws {
            let bound = try store.openStore().bind(recordings: recordings, toCase: caseNumber)
            if output.json { return print(try jsonString(Bound(caseNumber: caseNumber, bound: bound, alreadyBound: recordings.filter { !bound.contains($0) }))) }
            let already = recordings.count - bound.count
            print("Bound \(bound.count) recording(s) to case \(caseNumber)" + (already > 0 ? " (\(already) bound to it already)." : "."))
        }

        struct Bound: Encodable {
            var caseNumber: String
            var bound: [Int64]
            var alreadyBound: [Int64]
        }
    }

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
            for item in cases { table.add([item.number, item.title, item.procedure.rawValue, item.openedAt]) }
            print(table.render())
        }
    }
}
