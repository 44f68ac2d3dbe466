import ArgumentParser
import Console
import Foundation
import Server

struct AccessLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-log",
        abstract: "Check the console's access log (every sign-in, view and change, hash-chained).",
        discussion: "Auditors read it on the console (/console/access-log) and download it as CSV there.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check every link of the access log; exit status 1 names the first entry that was changed, removed or reordered."
        )

        @OptionGroup var data: DataOptions

        @Flag(help: "Print JSON instead of a sentence, for scripts.")
        var json = false

        func run() async throws {
            let outcome: AccessLogVerification
            do {
                outcome = try await ConsoleAccounts.verifyAccessLog(dataDirectory: data.dataURL, database: data.databaseLocation())
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            if json {
                print(try jsonString(outcome))
            } else if let reason = outcome.reason {
                print("the access log is broken: \(reason)")
            } else {
                print("the access log holds: \(outcome.entries) entries, every link checked")
            }
            if !outcome.isIntact { throw ExitCode.failure }
        }
    }
}
