import ArgumentParser
import Collect
import Console
import Devices
import Drivers
import Foundation
import Store
import USB

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Copy every recording from docked cameras (or a folder) into the evidence store.",
        discussion: """
            Each file is copied once, hashed (SHA-256) while copied, made durable, then indexed with \
            its custody events. A GA/T 947 camera is authenticated, its officer record read, its \
            clock drift recorded and corrected, then switched to mass storage. Files that break the \
            naming rule, belong to unknown officers or unregistered cameras are collected and flagged.

            With --all (the default), the docked cameras are collected at once (up to \
            max_parallel_bays from the config, default 8); a camera that cannot be collected (wrong \
            or missing password, unplugged, volume not mounted, being collected by the station) is \
            named and the others are still collected.

            Exit status: 0 every file collected (flagged ones included); 2 some files or cameras could \
            not be collected now (each is named; collect again later); 1 error.
            """)

    @Option(help: "Collect only the docked camera with this serial (or, with --from, the camera the folder belongs to).")
    var camera: String?

    @Flag(help: "Collect every docked camera (the default when --camera is not given).")
    var all = false

    @Option(help: ArgumentHelp("Import a folder (an SD card in a reader, a copy handed in) as the volume of --camera.", valueName: "dir"))
    var from: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if from != nil && camera == nil { throw ValidationError("--from needs --camera SERIAL: the camera the folder belongs to") }
        if all && camera != nil { throw ValidationError("give either --camera SERIAL or --all, not both") }
    }

    func run() async throws {
        let evidence = try store.openStore()
        let config = try store.loadConfig()
        let collector = Collector(store: evidence, freePolicy: config.freePolicy)
        var summaries: [CollectSummary] = []
        if let from, let camera {
            summaries.append(try collect(collector, root: from, context: CameraContext(serial: camera, timeZone: config.timeZone),
                                         mayFree: false))
        } else {
            let finder = CameraFinder(context: try USBContext(), catalog: catalog.load())
            let docking = Docking(finder: finder, config: config, events: evidence,
                                  mountRoot: evidence.home.appendingPathComponent("mnt"))
            let collection = CameraCollection(docking: docking, collector: collector, store: evidence)
            var cameras = try finder.dockedCameras()
            if let camera {
                cameras = cameras.filter { $0.serial == camera }
                guard !cameras.isEmpty else { throw CameraError.notFound(serial: camera) }
            }
            if cameras.isEmpty {
                printError("No body cameras docked (see `fieldgate scan`).")
            }
            if camera != nil, let docked = cameras.first {
                // One camera asked for by name: its failure is the command's (exit 1), except that a
                // camera the station is collecting now is only "not now" (exit 2).
                do {
                    summaries.append(try await Self.collect(collection, docked, json: output.json, progressBar: true))
                } catch CollectError.cameraBusy(let serial) {
                    printError("error: \(CollectError.cameraBusy(serial: serial))")
                    var busy = CollectSummary(camera: serial, source: "")
                    busy.error = CollectError.cameraBusy(serial: serial).description
                    summaries.append(busy)
                }
            } else {
                summaries += await collectAll(cameras, collection: collection, at: config.maxParallelBays)
            }
        }
        if output.json {
            print(try jsonString(summaries))
        } else {
            for summary in summaries { print(Self.describe(summary)) }
        }
        if summaries.contains(where: { !$0.failed.isEmpty || $0.error != nil }) { throw ExitCode(2) }
    }

    /// Collects `cameras` at once, up to `limit` at a time; each camera's failure is its own
    /// summary. The summaries come back in the cameras' order.
    private func collectAll(_ cameras: [CameraFinder.DockedCamera], collection: CameraCollection,
                            at limit: Int) async -> [CollectSummary] {
        let json = output.json
        // One progress bar only makes sense for one camera; several print a line each as they finish.
        let single = cameras.count == 1
        var results: [Int: CollectSummary] = [:]
        await withTaskGroup(of: (Int, CollectSummary).self) { group in
            var next = 0
            func startNext() {
                guard next < cameras.count else { return }
                let index = next
                let docked = cameras[index]
                next += 1
                group.addTask {
                    if !json { printError("Docking \(docked.serial) (\(docked.match.model ?? "camera"), \(docked.match.mode.rawValue) mode)…") }
                    do {
                        return (index, try await Self.collect(collection, docked, json: json, progressBar: single))
                    } catch {
                        printError("error: \(error)")
                        var failed = CollectSummary(camera: docked.serial, source: "")
                        failed.error = "\(error)"
                        return (index, failed)
                    }
                }
            }
            for _ in 0..<max(1, limit) { startNext() }
            for await (index, summary) in group {
                results[index] = summary
                if !single && !json { printError(Self.describe(summary)) }
                startNext()
            }
        }
        return cameras.indices.compactMap { results[$0] }
    }

    private func collect(_ collector: Collector, root: String, context: CameraContext, mayFree: Bool) throws -> CollectSummary {
        let bar = ProgressBar(enabled: !output.json && isatty(STDERR_FILENO) == 1)
        defer { bar.finish() }
        return try collector.collect(root: root, camera: context, mayFree: mayFree) { progress in bar.update(progress) }
    }

    private static func collect(_ collection: CameraCollection, _ docked: CameraFinder.DockedCamera, json: Bool,
                                progressBar: Bool) async throws -> CollectSummary {
        let bar = ProgressBar(enabled: progressBar && !json && isatty(STDERR_FILENO) == 1)
        defer { bar.finish() }
        return try await collection.collect(docked, docked: { info in
            if !json, let drift = info.clockDriftSeconds {
                printError("  officer \(info.record?.officerNumber ?? "?") \(info.record?.officerName ?? ""), clock drift \(Int(drift)) s\(info.clockCorrected ? " (corrected)" : ""), battery \(info.battery.map { "\($0)%" } ?? "?"), volume \(info.volume ?? "?")")
            }
        }, progress: { progress in bar.update(progress) })
    }

    static func describe(_ summary: CollectSummary) -> String {
        if let error = summary.error { return "\(summary.camera): not collected: \(error)" }
        var lines = ["\(summary.camera) from \(summary.source): \(summary.new) new, \(summary.alreadyCollected) already collected, "
            + "\(summary.flagged) flagged, \(summary.failed.count) not collected; "
            + "\(formatBytes(summary.bytes)) in \(String(format: "%.1f", summary.seconds)) s (\(String(format: "%.1f", summary.megabytesPerSecond)) MB/s)"]
        if summary.wiped > 0 { lines.append("  freed on the camera: \(summary.wiped) file(s)") }
        for failure in summary.failed { lines.append("  not collected: \(failure.path): \(failure.reason)") }
        for skipped in summary.skipped { lines.append("  skipped: \(skipped.path): \(skipped.reason)") }
        for failure in summary.notWiped { lines.append("  left on the camera: \(failure.path): \(failure.reason)") }
        if let reason = summary.stoppedBecause { lines.append("  stopped early: \(reason)") }
        return lines.joined(separator: "\n")
    }
}

/// A one-line progress bar on stderr (files or items, bytes, rate, ETA), drawn at most 10 times a second.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: CollectProgress) {
        update(done: progress.filesDone, total: progress.filesTotal, unit: "files", bytesDone: progress.bytesDone,
               bytesTotal: progress.bytesTotal)
    }

    func update(done: Int, total: Int, unit: String, bytesDone: Int64, bytesTotal: Int64) {
        guard enabled else { return }
        lock.withLock {
            let now = Date()
            guard now.timeIntervalSince(lastDrawn) >= 0.1 || done == total else { return }
            lastDrawn = now
            let elapsed = max(now.timeIntervalSince(started), 0.001)
            let rate = Double(bytesDone) / elapsed
            let remaining = rate > 0 ? Double(bytesTotal - bytesDone) / rate : 0
            let fraction = bytesTotal > 0 ? min(1, Double(bytesDone) / Double(bytesTotal)) : 1
            let filled = Int(fraction * 24)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 24 - filled)
            let line = "\r[\(bar)] \(done)/\(total) \(unit)  \(formatBytes(bytesDone))/\(formatBytes(bytesTotal))  \(formatBytes(Int64(rate)))/s  ETA \(Int(remaining)) s "
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
