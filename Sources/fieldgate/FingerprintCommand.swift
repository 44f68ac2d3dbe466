import ArgumentParser
import Common
import Console
import Fingerprint
import Foundation
import Paperwork
import Store

struct FingerprintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint", abstract: "Capture fingerprints (捺印) on printed documents, through libfprint.",
        subcommands: [Capture.self])

    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a finger on the reader and keep the image as evidence, bound to a printed document.",
            discussion: """
                Uses the first fingerprint reader libfprint supports (see `fieldgate scan`), waits \
                at most --timeout seconds for a finger, and stores the image losslessly (8-bit \
                grey PGM) as a blob, with its size and capture time, and a `fingerprint-captured` \
                custody event binding it to the case and the document. The document must have \
                been printed for that case (`fieldgate print`). A failed, cancelled or timed-out \
                capture is an error and stores nothing.
                """)

        @Option(help: ArgumentHelp("The case number the document belongs to.", valueName: "case"))
        var `case`: String
        @Option(help: ArgumentHelp("The printed document's number (documentNumber in its data).", valueName: "number"))
        var document: String
        @Option(help: ArgumentHelp("The name of the person pressing the finger.", valueName: "name"))
        var person: String
        @Option(help: "The person's role on the document: party (当事人) or witness (见证人).")
        var role = SignatoryRole.party
        @Option(help: ArgumentHelp("Seconds to wait for a finger.", valueName: "seconds"))
        var timeout = 30
        @Option(help: ArgumentHelp("A reader's libfprint device id, when several are attached (see `fieldgate scan --json`).", valueName: "id"))
        var reader: String?

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...300).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 300 seconds") }
            if person.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--person cannot be empty") }
        }

        func run() throws {
            let evidence = try store.openStore()
            let job = FingerprintJob(caseNumber: `case`, documentNumber: document, person: person, role: role)
            let json = output.json
            let capture = try job.run(store: evidence, scanner: LibfprintScanner(deviceId: reader), timeoutSeconds: timeout) {
                if !json { printError("Waiting up to \(timeout) s for \(person)'s finger on the reader…") }
            }
            if output.json {
                print(try jsonString(Row(capture)))
            } else {
                print("Captured \(person)'s fingerprint (\(role.rawValue)) for document \(document), case \(`case`): \(capture.width)×\(capture.height) PGM, \(capture.size) bytes.")
                print("Kept as evidence: blob \(capture.sha256), custody event `fingerprint-captured`.")
            }
        }

        struct Row: Encodable {
            var caseNumber: String, document: String, person: String, role: SignatoryRole, reader: String, format: String
            var width: Int, height: Int, bytes: Int64, sha256: String, capturedAt: String

            init(_ capture: FingerprintCapture) {
                caseNumber = capture.caseNumber
                document = capture.documentNumber
                person = capture.person
                role = capture.role
                reader = capture.reader
                format = capture.format
                width = capture.width
                height = capture.height
                bytes = capture.size
                sha256 = capture.sha256
                capturedAt = Timestamp.string(capture.capturedAt)
            }
        }
    }
}

extension SignatoryRole: ExpressibleByArgument {}
