import Common
import Foundation

/// Writes a line and flushes at once, so a process reading the pipe sees each event as it happens.
public func emitLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to standard error.
public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The JSON every command prints with `--json`: sorted keys, so scripts and diffs see a stable
/// order, and times in the one timestamp format.
public func jsonString<Value: Encodable>(_ value: Value, pretty: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(Timestamp.string(date))
    }
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// The release all three programs report with `--version`; the Debian packages take it from here.
public let fieldgateVersion = "0.2.0"

/// Bytes as a person reads them: "512 B", "1.5 MB" (decimal units).
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
