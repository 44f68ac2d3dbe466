import Foundation

/// Where profiles come from, in the order they load (later folders override earlier ones):
/// the installed catalog, then `FIELDGATE_DEVICES` (colon-separated), then each `--devices`.
public enum CatalogLocations {
    /// The environment variable naming extra profile folders, colon-separated.
    public static let environmentVariable = "FIELDGATE_DEVICES"

    /// The installed catalog: `share/fieldgate/devices` beside the executable's prefix, the
    /// system-wide copies, or the source checkout this binary was built from.
    public static func installedFolder(executable: String = CommandLine.arguments.first ?? "") -> String? {
        var candidates: [String] = []
        if !executable.isEmpty {
            let binary = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            candidates.append(binary.deletingLastPathComponent().appendingPathComponent("share/fieldgate/devices").path)
        }
        candidates += ["/usr/local/share/fieldgate/devices", "/usr/share/fieldgate/devices"]
        // A build run from its checkout (`swift run`) uses the checkout's catalog.
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("devices").path
        candidates.append(checkout)
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The folders to load, in order.
    public static func folders(extra: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                               includeInstalled: Bool = true) -> [String] {
        var folders: [String] = []
        if includeInstalled, let installed = installedFolder() { folders.append(installed) }
        if let list = environment[environmentVariable] {
            folders += list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        return folders + extra
    }
}
