import ArgumentParser
import Console
import Devices
import Foundation
import Store

/// Where device profiles come from; shared by every command that reads the catalog.
struct CatalogOptions: ParsableArguments {
    @Option(name: .customLong("devices"), help: ArgumentHelp(
        "A folder of extra device profiles (repeatable). Loaded after the installed catalog and $FIELDGATE_DEVICES; a later folder overrides an earlier one for the same USB ids.",
        valueName: "dir"))
    var folders: [String] = []

    /// The folders to read, in load order.
    var allFolders: [String] { CatalogLocations.folders(extra: folders) }

    /// Loads the catalog; a bad profile is reported on stderr but does not stop the others.
    func load(reportErrors: Bool = true) -> DeviceCatalog {
        let catalog = DeviceCatalog.load(folders: allFolders)
        if catalog.folders.isEmpty {
            printError("warning: no device catalog found (looked in /usr/share/fieldgate/devices and for a fieldgate checkout above the working directory): install the fieldgate package, or name a folder with --devices or $FIELDGATE_DEVICES")
        }
        if reportErrors {
            for error in catalog.errors {
                printError("warning: skipped profile: \(error) (check with `fieldgate devices check`)")
            }
        }
        return catalog
    }
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of a table, for scripts.")
    var json = false
}

/// Where the evidence store and the gateway's config live; shared by every command that uses them.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The gateway's home folder: evidence database, blobs, config.toml. Default: $FIELDGATE_HOME, else /var/lib/fieldgate as root, else ~/.local/share/fieldgate.", valueName: "dir"))
    var home: String?

    @Option(help: ArgumentHelp("The config file (camera passwords, freeing policy). Default: $FIELDGATE_CONFIG, else <home>/config.toml. Must be mode 0600.", valueName: "file"))
    var config: String?

    var homeURL: URL { home.map { URL(fileURLWithPath: $0) } ?? EvidenceStore.defaultHome() }

    func openStore() throws -> EvidenceStore { try EvidenceStore(home: homeURL) }

    func loadConfig() throws -> GatewayConfig {
        let path = config ?? ProcessInfo.processInfo.environment[GatewayConfig.environmentVariable]
            ?? homeURL.appendingPathComponent("config.toml").path
        return try GatewayConfig.load(path: path)
    }
}
