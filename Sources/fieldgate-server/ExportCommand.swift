import ArgumentParser
import Common
import Console
import Evidence
import EvidenceBundle
import Foundation
import Server

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export receipted evidence as a bundle a court can check with standard tools (a BagIt bag: folder or .tar).",
        discussion: """
            Give one of --case, --officer, --camera or --item. The bundle holds each selected \
            item the server receipted (from any gateway): the file, its record and custody as \
            the gateway sent them, the manifest that gateway signed, the server's receipt and its \
            RFC 3161 time-stamp, every key that verifies them, VERIFY.md, verify.sh (sh, \
            coreutils, OpenSSL 3) and index.html. The server's key signs the bag. Each export is \
            recorded (`fieldgate-server exports`). --since/--until take YYYY-MM-DD or an ISO 8601 time.
            """)

    @Option(name: .customLong("case"), help: ArgumentHelp("The items bound to a case (case number).", valueName: "number"))
    var caseNumber: String?
    @Option(help: ArgumentHelp("An officer's recordings (officer number).", valueName: "number")) var officer: String?
    @Option(help: ArgumentHelp("A camera's recordings (serial).", valueName: "serial")) var camera: String?
    @Option(name: .customLong("item"), parsing: .upToNextOption, help: ArgumentHelp("Items by SHA-256; several may follow.", valueName: "sha256"))
    var items: [String] = []
    @Option(help: "Only items taken at or after this time.") var since: String?
    @Option(help: "Only items taken before this time.") var until: String?
    @Option(help: ArgumentHelp("A new folder, or a file ending in .tar.", valueName: "dir|file.tar")) var to: String
    @Option(help: ArgumentHelp("The organisation named in bag-info.txt (Source-Organization).", valueName: "name"))
    var organisation: String?
    @Option(name: .customLong("tsa-ca-file"), help: ArgumentHelp(
        "The time-stamping authority's CA (PEM), as `serve --tsa-ca-file` has it; needed when the receipts carry time-stamps.",
        valueName: "file"))
    var tsaCAFile: String?

    @OptionGroup var data: DataOptions

    @Flag(help: "Print the summary as JSON, for scripts.")
    var json = false

    func validate() throws {
        let scopes = [caseNumber != nil, officer != nil, camera != nil, !items.isEmpty].filter { $0 }.count
        guard scopes == 1 else { throw ValidationError("give exactly one of --case, --officer, --camera, --item") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Timestamp.parse(value) == nil { throw ValidationError("\(name) \(value): not YYYY-MM-DD or an ISO 8601 time") }
        }
        for hash in items where hash.utf8.count != 64 || !hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
            throw ValidationError("--item \(hash): not a SHA-256 (64 lower-case hex digits)")
        }
        if to.isEmpty { throw ValidationError("--to needs a folder or a .tar file") }
    }

    var selection: ExportSelection {
        let scope: ExportSelection.Scope = if let caseNumber { .caseNumber(caseNumber) }
            else if let officer { .officer(officer) }
            else if let camera { .camera(camera) }
            else { .items(items) }
        return ExportSelection(scope: scope, since: since.flatMap(Timestamp.parse), until: until.flatMap(Timestamp.parse))
    }

    func run() async throws {
        let summary: BundleSummary
        do {
            let authority = try tsaCAFile.map { path in
                do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw ValidationError("--tsa-ca-file \(path): cannot read it (\(error.localizedDescription))")
                }
            }
            summary = try await ServerBundleExport.export(selection, to: URL(fileURLWithPath: to), dataDirectory: data.dataURL,
                                                          database: data.databaseLocation(), blobs: data.blobLocation(),
                                                          serverKey: data.serverKeyURL, timestampAuthorityCA: authority,
                                                          organisation: organisation)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(summary))
            return
        }
        print("Exported \(summary.items) item(s), \(formatBytes(summary.bytes)), to \(summary.destination) (bundle \(summary.bundleId))")
        print("Check it with: sh \(summary.destination.hasSuffix(".tar") ? "<extracted folder>" : summary.destination)/verify.sh")
    }
}

struct ExportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exports",
        abstract: "List the evidence bundles this server exported: when, what, where, and the SHA-256 of each signed tag manifest.")

    @OptionGroup var data: DataOptions

    @Flag(help: "Print JSON instead of a table, for scripts.")
    var json = false

    func run() async throws {
        let exports: [BundleExportRecord]
        do {
            exports = try await ServerBundleExport.exports(dataDirectory: data.dataURL, database: data.databaseLocation())
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(exports))
            return
        }
        if exports.isEmpty {
            print("no bundles exported yet: make one with `fieldgate-server export`")
            return
        }
        var table = TextTable("EXPORTED", "BUNDLE", "SELECTION", "ITEMS", "BYTES", "DESTINATION", "TAG MANIFEST SHA-256")
        for export in exports {
            table.add([Timestamp.string(export.exportedAt), export.id, export.selection, String(export.items), formatBytes(export.bytes),
                       export.destination, export.tagManifestSha256])
        }
        print(table.render())
    }
}
