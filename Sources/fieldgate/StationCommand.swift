import ArgumentParser
import CMemory
import Console
import Devices
import Drivers
import Foundation
import Station
import Store
import USB

struct StationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Run the docking station: collect every camera the moment it is docked, sync in the background, serve a status page.",
        discussion: """
            Takes every camera already docked, then each that arrives, and collects each in a bay \
            of its own, up to max_parallel_bays at once (config, default 8). A camera's failure \
            (wrong or missing password, undocked mid-copy, unreadable volume) is that bay's error, \
            with its reason and what to do; the other bays go on. A camera undocked mid-copy and \
            docked again continues: nothing stored is copied twice. A bay is "done — safe to \
            undock" only when every file is durable and its hash verified.

            When enrolled, stored evidence is synced in the background (limit_rate and \
            upload_windows from the config), and with the after-receipt policy a camera still \
            docked is freed as soon as the server's receipts name its files.

            `collect`, `sync` and `status` typed while the station runs are safe: each camera and \
            the sync are taken by one process at a time.

            Prints "fieldgate station: status page at http://HOST:PORT" once ready (and tells \
            systemd, under a Type=notify unit). SIGTERM or Ctrl-C: no new work, bays finish the \
            file batch in hand, exit 0 within --stop-timeout seconds; anything abandoned resumes \
            at the next start.
            """)

    @Option(help: ArgumentHelp("Where the status page listens (loopback unless told otherwise; port 0 picks a free one).",
                               valueName: "host:port"))
    var listen = "127.0.0.1:8470"

    @Option(name: .customLong("stop-timeout"), help: ArgumentHelp("Seconds SIGTERM waits for bays to finish their batch.", valueName: "seconds"))
    var stopTimeout = 10.0

    @Flag(name: .customLong("no-sync"), help: "Collect only: no background sync.")
    var noSync = false

    @Option(name: .customLong("rescan-interval"), help: ArgumentHelp("Seconds between rescans of the bus, besides USB hotplug events.", valueName: "seconds"))
    var rescanInterval = 2.0

    @OptionGroup var store: StoreOptions
    @OptionGroup var catalog: CatalogOptions

    func validate() throws {
        if Self.hostAndPort(listen) == nil { throw ValidationError("--listen \(listen): give HOST:PORT, e.g. 127.0.0.1:8470") }
        if stopTimeout <= 0 || stopTimeout > 600 { throw ValidationError("--stop-timeout: give 1 to 600 seconds") }
        if rescanInterval < 0.2 || rescanInterval > 600 { throw ValidationError("--rescan-interval: give 0.2 to 600 seconds") }
    }

    static func hostAndPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        // As for `sync`: large blocks go back to the system at once, so memory stays flat.
        _ = fieldgate_return_large_blocks(1 << 20, 2)
        let evidence = try store.openStore()
        let config = try store.loadConfig()
        let finder = CameraFinder(context: try USBContext(), catalog: catalog.load())
        let board = StatusBoard(storeHome: evidence.home, maxParallelBays: config.maxParallelBays, version: fieldgateVersion)
        let stop = StopFlag()
        let log: @Sendable (String) -> Void = { printError("fieldgate station: " + $0) }
        let station = DockingStation(store: evidence, finder: finder, config: config, board: board, stop: stop,
                                     rescanInterval: .milliseconds(Int(rescanInterval * 1000)), log: log)
        var sync = BackgroundSync(store: evidence, config: config, board: board, stop: stop, log: log)
        sync.receiptsArrived = {
            _ = station.freeReceipted()
            station.keepRoom()
        }
        guard let (host, port) = Self.hostAndPort(listen) else { throw ValidationError("--listen \(listen)") }
        let page = StatusPage(board: board, host: host, port: port)
        let listener: StatusPage.Listener
        do {
            listener = try await page.bind()
        } catch {
            throw StationError.cannotListen(listen, "\(error)")
        }

        let grace = stopTimeout
        let stopSignals = StopSignals {
            guard !stop.isRaised else { return }
            stop.raise()
            station.rescanSoon()
            // Bounded: what is still in flight then is abandoned as a crash would leave it, which
            // the store survives (staged files are never indexed); it resumes at the next start.
            DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
                log("stop timeout: abandoning the work in flight (it resumes at the next start)")
                Foundation.exit(0)
            }
        }
        defer { stopSignals.cancel() }
        let display = listener.host.contains(":") ? "[\(listener.host)]" : listener.host
        emitLine("fieldgate station: status page at http://\(display):\(listener.port)")
        SystemdNotify.send("READY=1\nSTATUS=status page at http://\(display):\(listener.port)")

        let syncing = Task { if !noSync { await sync.run() } }
        await station.run()
        // Bays have ended (stop raised); the sync round in hand ends at its next check.
        SystemdNotify.send("STOPPING=1")
        await syncing.value
        await listener.close()
        log("stopped")
    }
}

enum StationError: Error, CustomStringConvertible {
    case cannotListen(String, String)

    var description: String {
        switch self {
        case .cannotListen(let address, let reason):
            "cannot serve the status page on \(address): \(reason) (is another station running? choose another --listen)"
        }
    }
}
