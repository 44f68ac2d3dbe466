import Foundation

/// Where fieldgate's data (the device catalog, document templates, seed data) is found: the
/// installed data folder, else the source checkout that the working directory is in. Found at
/// run time, never from the build's own paths, so a binary works wherever it is installed.
public enum DataLocations {
    /// The installed data folders, most specific first: `share/fieldgate` beside the
    /// executable's prefix (e.g. /usr/local), then the system-wide one the package installs.
    public static func installedCandidates(executable: String = ownExecutable()) -> [String] {
        var candidates: [String] = []
        if !executable.isEmpty {
            let binary = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            candidates.append(binary.deletingLastPathComponent().appendingPathComponent("share/fieldgate").path)
        }
        return candidates + ["/usr/local/share/fieldgate", "/usr/share/fieldgate"]
    }

    /// The fieldgate checkout holding `directory` (or one of its parents): a folder with a
    /// `Package.swift` and a `devices/` folder, as when a developer uses `swift run`.
    public static func checkout(containing directory: String = FileManager.default.currentDirectoryPath) -> String? {
        var folder = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            let manifest = folder.appendingPathComponent("Package.swift").path
            let devices = folder.appendingPathComponent("devices").path
            if FileManager.default.fileExists(atPath: manifest), FileManager.default.fileExists(atPath: devices) { return folder.path }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { return nil }
            folder = parent
        }
    }

    /// The first folder holding `name` (e.g. `devices`, `seeds`): installed, then the checkout.
    public static func folder(named name: String, executable: String = ownExecutable(),
                              workingDirectory: String = FileManager.default.currentDirectoryPath) -> String? {
        let installed = installedCandidates(executable: executable).map { $0 + "/" + name }
        let fromCheckout = checkout(containing: workingDirectory).map { [$0 + "/" + name] } ?? []
        return (installed + fromCheckout).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// This process's executable, as the kernel knows it (not as it was typed).
    public static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
    }
}

/// Where profiles come from, in the order they load (later folders override earlier ones):
/// the base catalog (installed, else the checkout's), then `FIELDGATE_DEVICES`
/// (colon-separated), then each `--devices`.
public enum CatalogLocations {
    /// The environment variable naming extra profile folders, colon-separated.
    public static let environmentVariable = "FIELDGATE_DEVICES"

    /// The base catalog: the installed `devices` folder, else the checkout's.
    public static func installedFolder() -> String? { DataLocations.folder(named: "devices") }

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
