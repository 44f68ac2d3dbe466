import ArgumentParser
import Console
import Dispatch
import Foundation
import Scan
import USB

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Report devices as they are docked and undocked, one line each.",
        discussion: """
            Runs until interrupted (Ctrl-C or SIGTERM end it cleanly, exit 0), until --count \
            events were seen, or until --timeout seconds passed. With --json each event is one \
            JSON object per line: the keys of `scan --json` plus "event" ("arrived" or "left").
            """)

    @Option(help: "Exit after this many events.")
    var count: Int?

    @Option(help: "Exit after this many seconds.")
    var timeout: Double?

    @Flag(help: "Also report devices the catalog does not know.")
    var all = false

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
        let scanner = DeviceScanner(context: try USBContext(), catalog: catalog.load())
        let events = try DeviceWatcher(scanner: scanner, includeUnknown: all).events()
        if !output.json { printError("Watching for devices (Ctrl-C to stop)…") }
        let json = output.json
        let limit = count
        let watching = Task {
            var seen = 0
            for await event in events {
                emitLine(json ? try jsonString(event, pretty: false) : Self.line(event))
                seen += 1
                if let limit, seen >= limit { return }
            }
        }
        let stopSignals = StopSignals { watching.cancel() }
        defer { stopSignals.cancel() }
        if let timeout {
            let deadline = Task {
                try await Task.sleep(for: .seconds(timeout))
                watching.cancel()
            }
            defer { deadline.cancel() }
            try await watching.value
        } else {
            try await watching.value
        }
    }

    static func line(_ event: DeviceEvent) -> String {
        let device = event.device
        let what = [device.vendor ?? device.manufacturer, device.model ?? device.product].compactMap { $0 }.joined(separator: " ")
        var line = "\(event.event == .arrived ? "+ arrived" : "- left   ")  \(device.busAddress)  \(device.ids)  \(device.kind)  "
        line += sanitized(what.isEmpty ? "-" : what)
        if let mode = device.mode { line += "  mode=\(mode)" }
        if let serial = device.serial { line += "  serial=\(sanitized(serial))" }
        if event.event == .arrived { line += "  \(device.state.rawValue)" }
        if let hint = device.hint, event.event == .arrived { line += "  (\(hint))" }
        return line
    }
}

/// SIGINT and SIGTERM run `action` instead of killing the process, so a command can finish
/// its output and exit 0.
final class StopSignals {
    private let sources: [DispatchSourceSignal]

    init(action: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
