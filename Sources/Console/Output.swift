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
