import ArgumentParser
import Common
import Console
import Foundation
import Server

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a server's data folder (SQLite and blobs) into PostgreSQL and an S3 bucket, verifying every blob; run it again to finish an interrupted move.",
        discussion: """
            --from is the data folder of the server to move (stop it first); --database, --blobs \
            and --data name the target, as for `serve`. The source is only read. Its key goes \
            into the database first (gateways pinned it; receipts it signed still verify). Each \
            blob is hashed as it is read and moved only if it matches its name; a blob missing \
            or damaged at the source is named, the others moved, and the exit status is 1. \
            Then every record (gateways with their credentials, batches with their signed \
            manifests and receipts, items, which gateway delivered which blob, time-stamps, \
            exports, imports). Rows and blobs already at the target are skipped, so running \
            it again after an interruption finishes the move and adds nothing twice. Uploads \
            still in progress are not moved: their gateways start them again. Then point \
            `serve` at the target.
            """)

    @Option(help: ArgumentHelp("The data folder of the server to move (server.sqlite, blobs/, server-key).", valueName: "dir"))
    var from: String

    @OptionGroup var data: DataOptions

    @Flag(help: "Print the summary as JSON, for scripts.")
    var json = false

    func run() async throws {
        let summary: MigrationSummary
        let quiet = json
        let progress = ProgressLine()
        do {
            summary = try await ServerMigration.migrate(
                from: URL(fileURLWithPath: from), dataDirectory: data.dataURL, database: data.databaseLocation(),
                blobs: data.blobLocation(), serverKey: data.serverKeyURL) { step in
                    guard !quiet else { return }
                    switch step {
                    case .blob(let done, let total, let bytes):
                        progress.show("blobs: \(done)/\(total), \(formatBytes(bytes)) moved", final: done == total)
                    case .table(let table, let rows, let new):
                        printError("\(table): \(rows) row(s), \(new) new")
                    }
                }
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(summary))
        } else {
            print("Moved \(summary.blobsMoved) blob(s) (\(formatBytes(summary.bytesMoved))); \(summary.blobsAlreadyThere) already at the target; "
                  + "server key \(summary.serverKeyFingerprint) kept in the database")
            if summary.uploadsNotMoved > 0 {
                print("  \(summary.uploadsNotMoved) upload(s) in progress not moved: their gateways start them again")
            }
            for failed in summary.failedBlobs { print("  not moved: \(failed.sha256): \(failed.reason)") }
        }
        if !summary.failedBlobs.isEmpty { throw ExitCode.failure }
    }
}

/// Progress on standard error: a line at most twice a second, and the last one always.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var shown = Date.distantPast

    func show(_ text: String, final: Bool) {
        lock.withLock {
            guard final || Date().timeIntervalSince(shown) >= 0.5 else { return }
            shown = Date()
            printError(text)
        }
    }
}
