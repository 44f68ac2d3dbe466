import ArgumentParser
import Common
import Console
import Foundation
import Server

struct ImportBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-bundle",
        abstract: "Take in a bundle a gateway exported (carried by hand, e.g. while its network was down): verified whole first, then receipted.",
        discussion: """
            The bundle (a folder, or the .tar `fieldgate export` wrote) is checked as its \
            verify.sh does, without running anything in it: both manifests, every file's SHA-256, \
            no file added, no link, and the gateway's signature over it all. Its key must be an \
            active gateway's of this server. Items that gateway delivered already are left as \
            they are; the rest are stored (each blob once), committed as one batch whose key is \
            hand-carried-<bundle id> and receipted. Importing the same bundle again adds nothing. \
            Each import is recorded (`fieldgate-server imports`).
            """)

    @Argument(help: ArgumentHelp("The bundle: its folder, or its .tar file.", valueName: "dir|file.tar"))
    var bundle: String

    @OptionGroup var data: DataOptions

    @Flag(help: "Print the summary as JSON, for scripts.")
    var json = false

    func run() async throws {
        let summary: BundleImportSummary
        do {
            summary = try await BundleImport.importBundle(at: URL(fileURLWithPath: bundle), dataDirectory: data.dataURL,
                                                          database: data.databaseLocation(), blobs: data.blobLocation(),
                                                          serverKey: data.serverKeyURL)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(summary))
            return
        }
        print("Bundle \(summary.bundleId) from gateway \(summary.gatewayName): \(summary.imported) item(s) taken in and receipted"
              + (summary.batchId.map { " (batch \($0))" } ?? "") + ", \(summary.newBlobs) new blob(s), \(formatBytes(summary.newBytes))")
        if summary.alreadyReceipted > 0 { print("  \(summary.alreadyReceipted) item(s) this gateway had delivered already") }
        if summary.withoutContent > 0 { print("  \(summary.withoutContent) item(s) without content in the bundle (not taken)") }
    }
}

struct ImportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imports",
        abstract: "List the bundles carried by hand and taken in: when, from which gateway, what was new, and the batch that receipts it.")

    @OptionGroup var data: DataOptions

    @Flag(help: "Print JSON instead of a table, for scripts.")
    var json = false

    func run() async throws {
        let imports: [BundleImportRecord]
        do {
            imports = try await BundleImport.imports(dataDirectory: data.dataURL, database: data.databaseLocation())
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(imports))
            return
        }
        if imports.isEmpty {
            print("no bundles imported yet: take one in with `fieldgate-server import-bundle`")
            return
        }
        var table = TextTable("IMPORTED", "BUNDLE", "GATEWAY", "BATCH", "ITEMS", "NEW BLOBS", "ALREADY RECEIPTED", "SOURCE")
        for record in imports {
            table.add([Timestamp.string(record.importedAt), record.bundleId, record.gatewayId, record.batchId ?? "-", String(record.imported),
                       String(record.newBlobs), String(record.alreadyReceipted), record.source])
        }
        print(table.render())
    }
}
