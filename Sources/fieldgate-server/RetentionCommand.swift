import ArgumentParser
import Console
import Foundation
import Server

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Expire evidence past its category's period: the only way anything is deleted.",
        discussion: """
            An item expires only when a reviewer gave it a category, the category's period (default \
            \(RetentionPolicy.defaultDays) days) has passed since the server receipted it, and it belongs \
            to no case, is not marked important and is under no legal hold. Uncategorised items are kept. \
            An expired item is first recycled (restorable for \(RetentionPolicy.recycleDays) days), then \
            deleted by a later run; its record and custody stay. Each step is a custody event and an \
            access-log entry. Run it from cron, e.g. daily with --apply.
            """,
        subcommands: [Run.self, Restore.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what would be recycled, deleted or restored now; with --apply, do it."
        )

        @OptionGroup var data: DataOptions

        @Flag(help: "Take the steps (without it, a dry run that changes nothing).")
        var apply = false

        @Flag(help: "Print JSON instead of lines, for scripts.")
        var json = false

        func run() async throws {
            let report: RetentionReport
            do {
                report = try await RetentionRun.run(dataDirectory: data.dataURL, database: data.databaseLocation(), blobs: data.blobLocation(),
                                                    apply: apply)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            if json {
                print(try jsonString(report))
                return
            }
            let verb = apply ? "" : "would be "
            for entry in report.recycled { print("\(verb)recycled: \(entry.item) \(entry.sha256.prefix(12))… (\(entry.detail))") }
            for entry in report.deleted { print("\(verb)deleted: \(entry.item) \(entry.sha256.prefix(12))… (\(entry.detail))") }
            for entry in report.restored { print("\(verb)restored: \(entry.item) \(entry.sha256.prefix(12))… (\(entry.detail))") }
            print(apply ? "\(report.recycled.count) recycled, \(report.deleted.count) deleted (\(report.blobsRemoved) blob(s) removed), \(report.restored.count) restored"
                  : "dry run: \(report.recycled.count) to recycle, \(report.deleted.count) to delete, \(report.restored.count) to restore; nothing changed (add --apply)")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring a recycled item back before it is deleted.")

        @Argument(help: "The item as BATCH/POSITION (its console page's address ends with it).")
        var item: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await RetentionRun.restore(item: item, dataDirectory: data.dataURL, database: data.databaseLocation())
                print("item \(item) restored")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
