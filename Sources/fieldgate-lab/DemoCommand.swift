import ArgumentParser
import Console
import Devices
import Foundation
import Print
import PrintoutText
import Server
import USBEmulation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the gateway's job end to end on emulated devices (no hardware needed).",
        discussion: """
            Emulates a docking station through umockdev: two GA/T 947 body cameras full of \
            generated recordings (one unregistered, its clock two hours ahead), a fingerprint \
            pad and a printer. Then runs the gateway as separate processes over the real libusb \
            path: officers and cases import, scan, collect, list, a parking notice printed on the \
            emulated printer (shown as text, decoded from the ESC/POS it received), a fingerprint \
            captured on libfprint's virtual reader, audit verify; then enrols with an embedded \
            fieldgate-server started for the demo on 127.0.0.1, syncs, and shows the signed \
            receipts and the share retained online; and watch while a camera is undocked. Uses a \
            fresh evidence store in a temporary folder (--home to keep one). Needs umockdev \
            (Debian: umockdev, libumockdev-dev); re-runs itself under \
            umockdev-wrapper.
            """)

    @Option(help: ArgumentHelp("Keep the demo's evidence store in this folder (default: a temporary one, removed after).", valueName: "dir"))
    var home: String?

    func run() async throws {
        try EmulationLauncher.reexecUnderWrapperIfNeeded()
        let testbed = try USBTestbed.shared()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let storeHome = home.map { URL(fileURLWithPath: $0) } ?? scratch.appendingPathComponent("home")
        setenv("FIELDGATE_HOME", storeHome.path, 1)
        guard let seedFolder = DataLocations.folder(named: "seeds") else {
            throw ValidationError("the demo's seed data (seeds/) was not found: run it from the fieldgate checkout")
        }
        let seeds = URL(fileURLWithPath: seedFolder)

        try await loadRoster(from: seeds)
        let docked = try dockDevices(on: testbed, volumesIn: scratch)
        try await collect()
        try await printAndCapture(seeds: seeds, printer: docked.printer, scratch: scratch)
        let server = try await startServer(dataIn: scratch.appendingPathComponent("server"))
        try await syncAndReport(to: server.url, token: server.token)
        let status = try await watchUndocking(docked.leaving, testbed: testbed)
        emitLine("\nDemo finished. The evidence store was \(storeHome.path)\(home == nil ? " (removed)" : "").")
        if status != 0 { throw ExitCode(status) }
    }

    private func loadRoster(from seeds: URL) async throws {
        section("1. The unit's officers and today's cases are loaded, and camera A123456 is registered as the unit's own")
        try await runChild(["fieldgate", "officers", "import", seeds.appendingPathComponent("officers.csv").path])
        try await runChild(["fieldgate", "cases", "import", seeds.appendingPathComponent("cases.csv").path])
        try await runChild(["fieldgate", "camera", "register", "A123456", "--model", "ZFY-X1"])
    }

    /// Two cameras (the second unregistered, its clock ahead), a fingerprint pad and a printer.
    /// Returns the camera the last step undocks and the printer whose bytes step 6 decodes.
    private func dockDevices(on testbed: USBTestbed, volumesIn scratch: URL) throws -> (leaving: EmulatedGAT947Camera, printer: EmulatedPrinter) {
        section("2. End of shift: two officers dock their cameras; a fingerprint pad and a printer are attached")
        let first = EmulatedModels.gat947Camera(
            serial: "A123456", officerNumber: "010203", officerName: "张伟",
            volume: try EmulateCommand.sampleVolume(in: scratch, serial: "A123456", officer: "010203"))
        try first.dock(on: testbed)
        let second = EmulatedModels.gat947Camera(
            serial: "B654321", officerNumber: "020304", officerName: "李娜", clockOffset: 2 * 3600 + 7,
            volume: try EmulateCommand.sampleVolume(in: scratch, serial: "B654321", officer: "020304"))
        try second.dock(on: testbed)
        try testbed.plug(EmulatedModels.fingerprintPad())
        let printer = EmulatedPrinter()
        try testbed.plug(printer.description, behaviour: printer)
        return (second, printer)
    }

    private func collect() async throws {
        section("3. fieldgate scan: what is docked (each serial read over USB through libusb)")
        try await runChild(["fieldgate", "scan"])

        section("4. fieldgate collect --all: authenticate, read the officer record, fix the clock, copy and hash every file")
        try await runChild(["fieldgate", "collect", "--all"], allowed: [0, 2])

        section("5. fieldgate list: the A/V ledger (音像记录台账), flagged items included")
        try await runChild(["fieldgate", "list"])
    }

    private func printAndCapture(seeds: URL, printer: EmulatedPrinter, scratch: URL) async throws {
        section("6. On the spot (简易程序): a parking notice printed on the docked printer, kept as evidence")
        let notice = seeds.appendingPathComponent("documents/parking-notice.json").path
        try await runChild(["fieldgate", "print", "--template", "parking-notice", "--data", notice, "--printer", "PRN0001"])
        emitLine("The printout, decoded from the ESC/POS bytes the printer received (GB18030 text, QR code, cut):\n")
        emitLine(try DecodedPrintout(bytes: printer.received).text(columns: PaperWidth.mm58.columns))

        section("7. The party presses a finger (捺印) on libfprint's virtual reader")
        let socket = scratch.appendingPathComponent("fingerprint.sock").path
        setenv("FP_VIRTUAL_IMAGE", socket, 1)
        Thread.detachNewThread { VirtualFingerprint.press(.finger(VirtualFingerprint.image()), socketPath: socket) }
        try await runChild(["fieldgate", "fingerprint", "capture", "--case", "杭城管简〔2024〕0002号",
                            "--document", "杭城管停〔2024〕000123号", "--person", "王某某"])
        unsetenv("FP_VIRTUAL_IMAGE")

        section("8. fieldgate audit verify: every custody link and every stored blob re-checked")
        try await runChild(["fieldgate", "audit", "verify"])
    }

    /// An embedded server on a free loopback port, serving until the demo's process ends, and
    /// an enrolment token for the gateway.
    private func startServer(dataIn serverData: URL) async throws -> (url: String, token: String) {
        section("9. The central evidence server (fieldgate-server, embedded for the demo on 127.0.0.1)")
        var serverConfiguration = ServerConfiguration(dataDirectory: serverData, port: 0)
        serverConfiguration.logLevel = .warning
        let server = try await EvidenceServer(configuration: serverConfiguration)
        let ready = AsyncStream<Int>.makeStream()
        Task { try await server.run { port in ready.continuation.yield(port) } }
        var readyPorts = ready.stream.makeAsyncIterator()
        guard let port = await readyPorts.next() else { throw ExitCode.failure }
        let url = "http://127.0.0.1:\(port)"
        emitLine("fieldgate-server listening on \(url), data in \(serverData.path)")
        emitLine("$ fieldgate-server gateways add team-1")
        let token = try await GatewayAdministration.add(name: "team-1", dataDirectory: serverData)
        emitLine(token)
        return (url, token)
    }

    private func syncAndReport(to url: String, token: String) async throws {
        section("10. fieldgate enroll, then sync: signed manifest, tus uploads, signed receipt")
        try await runChild(["fieldgate", "enroll", "--server", url, "--token", token])
        try await runChild(["fieldgate", "sync"])
        try await runChild(["fieldgate", "receipts"])

        section("11. fieldgate status: everything collected is retained online (网上留存率)")
        try await runChild(["fieldgate", "status"])
    }

    /// Undocks `camera` while `fieldgate watch` listens; returns watch's exit status.
    private func watchUndocking(_ camera: EmulatedGAT947Camera, testbed: USBTestbed) async throws -> Int32 {
        section("12. fieldgate watch: camera B654321 is taken off the dock")
        emitLine("$ fieldgate watch --count 1")
        let watcher = try EmulationLauncher.start(["fieldgate", "watch", "--count", "1", "--timeout", "20"])
        try await Task.sleep(for: .seconds(1.5))  // let the watcher start listening
        camera.undock()
        let status = await EmulationLauncher.wait(for: watcher)
        testbed.unplugAll()
        return status
    }

    private func section(_ title: String) {
        emitLine("\n== \(title)")
    }

    private func runChild(_ command: [String], allowed: Set<Int32> = [0]) async throws {
        emitLine("$ " + command.joined(separator: " "))
        let status = await EmulationLauncher.wait(for: try EmulationLauncher.start(command))
        if !allowed.contains(status) { throw ExitCode(status) }
    }
}
