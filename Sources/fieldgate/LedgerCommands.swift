import ArgumentParser
import Common
import Console
import Foundation
import Store

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Totals of the evidence store: by upload state, camera and officer; flagged items; last collection.",
        discussion: """
            With --watch: the docking station's live status instead (each bay, the sync queue, \
            the disk), read from its status page (`fieldgate station`) and redrawn every second; \
            with --json, one JSON object per update (the format of /api/status).
            """)

    @Flag(help: "Follow the running docking station's bays and sync queue until Ctrl-C.")
    var watch = false

    @Option(help: ArgumentHelp("With --watch: the station's status page.", valueName: "url"))
    var station = "http://127.0.0.1:8470"

    @Option(help: ArgumentHelp("With --watch: stop after this many updates.", valueName: "n"))
    var count: Int?

    @Option(help: ArgumentHelp("With --watch: seconds between updates.", valueName: "seconds"))
    var interval = 1.0

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if interval < 0.1 || interval > 3600 { throw ValidationError("--interval: give 0.1 to 3600 seconds") }
        if !watch && (count != nil) { throw ValidationError("--count goes with --watch") }
    }

    func run() async throws {
        if watch {
            try await StationWatch(url: station, count: count, interval: interval, json: output.json).run()
            return
        }
        let status = try store.openStore().status()
        if output.json {
            print(try jsonString(status))
            return
        }
        print("Recordings: \(status.recordings) (\(formatBytes(status.bytes))), flagged: \(status.flagged), store: \(formatBytes(status.storeBytes))")
        if let sync = status.sync {
            print("Sync: \(sync.pending) pending, \(sync.uploading) uploading, \(sync.uploaded) uploaded, \(sync.receipted) receipted, \(sync.refused) refused")
            print("Retained online (网上留存率): \(sync.receipted)/\(sync.collected) = \(percent(sync.retainedOnline)) (\(kindCounts(sync)))"
                + (sync.server.map { ", server \($0) as \(sync.gatewayName ?? "?")" } ?? ", not enrolled with a server")
                + (sync.lastReceiptAt.map { ", last receipt \(Timestamp.string($0))" } ?? ""))
            for waiting in sync.waiting {
                print("  \(waiting.state): \(waiting.camera.map { $0 + " " } ?? "")\(waiting.source) (\(waiting.sha256.prefix(12))): \(waiting.reason)")
            }
        }
        for (title, groups) in [("CAMERA", status.byCamera), ("OFFICER", status.byOfficer)] where !groups.isEmpty {
            var table = TextTable(title, "RECORDINGS", "SIZE", "FLAGGED")
            for group in groups { table.add([group.key, String(group.recordings), formatBytes(group.bytes), String(group.flagged)]) }
            print("\n" + table.render())
        }
        if let last = status.lastCollection {
            print("\nLast collection: \(last.cameraSerial) from \(last.source) at \(Timestamp.string(last.startedAt)): \(last.newCount) new, \(last.alreadyCount) already, \(last.flaggedCount) flagged, \(last.failedCount) not collected")
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The A/V ledger (音像记录台账): every collected recording, with filters.",
        discussion: "Times are the drift-corrected start (UTC); --since/--until take YYYY-MM-DD or an ISO 8601 time.")

    @Option(help: "Only this officer's recordings (officer number).") var officer: String?
    @Option(help: "Only this camera's recordings (serial).") var camera: String?
    @Option(help: "Recordings that started at or after this time.") var since: String?
    @Option(help: "Recordings that started before this time.") var until: String?
    @Flag(help: "Only recordings the officer marked important (_IMP).") var important = false
    @Flag(help: "Only flagged recordings.") var flagged = false
    @Flag(help: "Print CSV (for spreadsheets) instead of a table.") var csv = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Self.parseTime(value) == nil { throw ValidationError("\(name) \(value): not YYYY-MM-DD or an ISO 8601 time") }
        }
        if csv && output.json { throw ValidationError("give --csv or --json, not both") }
    }

    static func parseTime(_ text: String) -> Date? {
        Timestamp.parse(text)
    }

    func run() throws {
        let filter = RecordingFilter(officer: officer, camera: camera, since: since.flatMap(Self.parseTime),
                                     until: until.flatMap(Self.parseTime), importantOnly: important, flaggedOnly: flagged)
        let recordings = try store.openStore().recordings(matching: filter)
        let rows = recordings.map(LedgerRow.init)
        if output.json {
            print(try jsonString(rows))
        } else if csv {
            print(LedgerRow.csvHeader)
            for row in rows { print(row.csvLine) }
        } else if rows.isEmpty {
            print("No recordings match.")
        } else {
            var table = TextTable("ID", "CAMERA", "OFFICER", "STARTED (UTC)", "TYPE", "DURATION", "SIZE", "IMP", "FLAGS", "SOURCE")
            for row in rows {
                table.add([String(row.id), row.camera, row.officer, row.started, row.mediaType,
                           row.durationSeconds.map { String(format: "%.1f s", $0) }, formatBytes(row.size), row.important ? "yes" : "",
                           row.flags.isEmpty ? "" : row.flags, row.source])
            }
            print(table.render())
        }
    }
}

/// One line of the ledger, as --json and --csv print it.
struct LedgerRow: Encodable {
    var id: Int64
    var camera: String
    var officer: String?
    var started: String?
    var cameraStartedAt: String?
    var clockDriftSeconds: Double?
    var mediaType: String
    var durationSeconds: Double?
    var size: Int64
    var sha256: String
    var important: Bool
    var flags: String
    var source: String
    var collectedAt: String
    /// The case it is bound to (`fieldgate cases bind`).
    var caseNumber: String?

    init(_ recording: Recording) {
        id = recording.id ?? 0
        camera = recording.cameraSerial
        officer = recording.officerNumber
        started = recording.correctedStartedAt.map(Timestamp.string)
        cameraStartedAt = recording.cameraStartedAt
        clockDriftSeconds = recording.clockDriftSeconds
        mediaType = recording.mediaType.rawValue
        durationSeconds = recording.durationSeconds
        size = recording.size
        sha256 = recording.sha256
        important = recording.important
        flags = recording.flags.text
        source = recording.sourceName
        collectedAt = Timestamp.string(recording.collectedAt)
        caseNumber = recording.caseNumber
    }

    static let csvHeader = "id,camera,officer,started_utc,camera_started_at,clock_drift_s,media_type,duration_s,size,sha256,important,flags,source,collected_at,case"

    var csvLine: String {
        [String(id), camera, officer ?? "", started ?? "", cameraStartedAt ?? "", clockDriftSeconds.map { String(Int($0)) } ?? "",
         mediaType, durationSeconds.map { String(format: "%.3f", $0) } ?? "", String(size), sha256, important ? "1" : "0", flags,
         source, collectedAt, caseNumber ?? ""].map(Self.csvField).joined(separator: ",")
    }

    /// Quotes a field when it holds a comma, quote or line break. A cell a spreadsheet would
    /// run as a formula (leading =, +, -, @, tab or carriage return) is prefixed with ', as
    /// OWASP advises; a plain number such as a clock drift of -600 is data and stays as it is.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isPlainNumber(value) {
            value = "'" + value
        }
        guard value.contains(where: { ",\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An optional sign, digits, and at most one decimal point with digits: `-600`, `+3.5`.
    static func isPlainNumber(_ text: String) -> Bool {
        var rest = Substring(text)
        if let sign = rest.first, sign == "-" || sign == "+" { rest = rest.dropFirst() }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy { $0.isASCII && $0.isNumber })
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check the chain of custody.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check every custody link and every stored blob's hash; exit 1 on any tampering.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let report = try store.openStore().verify()
            if output.json {
                print(try jsonString(report))
            } else {
                for problem in report.problems { print("TAMPERED: \(problem.message)") }
                print("\(report.events) custody events, \(report.recordings) recordings, \(report.printedDocuments) printouts, "
                      + "\(report.fingerprints) fingerprints, \(report.blobsChecked) blobs verified"
                      + (report.heldByServer > 0 ? ", \(report.heldByServer) held by the server per receipt (local copy removed to make room)" : "")
                      + ": " + (report.isIntact ? "intact" : "\(report.problems.count) problem(s)"))
            }
            if !report.isIntact { throw ExitCode.failure }
        }
    }
}
