import ArgumentParser
import Common
import Console
import Evidence
import EvidenceBundle
import GatewayExport
import Foundation
import Store

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export evidence as a bundle a court can check with standard tools (a BagIt bag: folder or .tar).",
        discussion: """
            Give one of --case, --officer, --camera or --item. The bundle holds the files, each \
            item's record and custody, the manifests the gateway signed and the receipts the \
            server signed, the public keys, VERIFY.md, verify.sh (sh, coreutils, OpenSSL 3) and \
            index.html. Items not yet receipted are included and say so. Each exported item gets \
            an `exported` custody event. --since/--until take YYYY-MM-DD or an ISO 8601 time.
            """)

    @Option(name: .customLong("case"), help: ArgumentHelp("A case's printouts and fingerprints (case number).", valueName: "number"))
    var caseNumber: String?
    @Option(help: ArgumentHelp("An officer's recordings (officer number).", valueName: "number")) var officer: String?
    @Option(help: ArgumentHelp("A camera's recordings (serial).", valueName: "serial")) var camera: String?
    @Option(name: .customLong("item"), parsing: .upToNextOption,
            help: ArgumentHelp("Items by recording id (as `fieldgate list` shows) or SHA-256; several may follow.", valueName: "id"))
    var items: [String] = []
    @Option(help: "Only items taken at or after this time.") var since: String?
    @Option(help: "Only items taken before this time.") var until: String?
    @Option(help: ArgumentHelp("A new folder, or a file ending in .tar.", valueName: "dir|file.tar")) var to: String
    @Option(help: ArgumentHelp("The organisation named in bag-info.txt (Source-Organization).", valueName: "name"))
    var organisation: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let scopes = [caseNumber != nil, officer != nil, camera != nil, !items.isEmpty].filter { $0 }.count
        guard scopes == 1 else { throw ValidationError("give exactly one of --case, --officer, --camera, --item") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Timestamp.parse(value) == nil { throw ValidationError("\(name) \(value): not YYYY-MM-DD or an ISO 8601 time") }
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

    func run() throws {
        let exporter = BundleExporter(store: try store.openStore(), organisation: organisation)
        let summary = try exporter.export(selection, to: URL(fileURLWithPath: to))
        if output.json {
            print(try jsonString(summary))
            return
        }
        print("Exported \(summary.items) item(s), \(formatBytes(summary.bytes)), to \(summary.destination) (bundle \(summary.bundleId)):")
        print("  \(summary.receipted) receipted by the server, \(summary.signedByGateway) signed by the gateway only, "
              + "\(summary.exportedOnly) not yet sent" + (summary.withoutContent > 0 ? ", \(summary.withoutContent) without content (held by the server)" : ""))
        print("Check it with: sh \(summary.destination.hasSuffix(".tar") ? "<extracted folder>" : summary.destination)/verify.sh")
    }
}
