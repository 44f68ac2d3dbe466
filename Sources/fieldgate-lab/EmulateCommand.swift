import ArgumentParser
import Foundation
import USBEmulation

struct EmulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulate",
        abstract: "Run a command with emulated devices docked (for trying fieldgate without hardware).",
        discussion: """
            Attaches emulated devices through umockdev, runs COMMAND with them on its USB bus, \
            then detaches them and exits with COMMAND's status. The devices answer over the \
            real libusb path, so COMMAND cannot tell them from hardware. Re-runs itself under \
            umockdev-wrapper (Debian package umockdev) when needed.

            Each emulated camera carries a volume of generated sample recordings (small valid \
            MP4, JPEG and WAV files named by the GA/T 947 rule, plus odd files), seen once the \
            camera is switched to mass storage; its password is the profile's factory password.

            Example: fieldgate-lab emulate --cameras 2 --printers 1 -- fieldgate scan --json
            Example: fieldgate-lab emulate --cameras 1 --plug-after 1 --unplug-after 2 -- fieldgate watch --count 2
            Example: FIELDGATE_HOME=/tmp/fg fieldgate-lab emulate --cameras 2 -- fieldgate collect --all
            """)

    @Option(help: "GA/T 947 body cameras in control mode (serials A000001, A000002, …).")
    var cameras = 1

    @Option(name: .customLong("volume"), help: ArgumentHelp(
        "A GA/T 947 camera carrying this folder as its volume instead of generated samples (repeatable; serials V000001, …), e.g. a real SD card's mount point for a benchmark.",
        valueName: "dir"))
    var volumeFolders: [String] = []

    @Option(help: "How far the cameras' clocks are ahead of real time, in seconds (negative: behind).")
    var clockOffset: Double = 0

    @Option(help: "Plain mass-storage body cameras.")
    var storageCameras = 0

    @Option(help: "USB receipt printers (POS-58).")
    var printers = 0

    @Option(help: "Fingerprint pads.")
    var fingerprintPads = 0

    @Option(help: "Devices the catalog does not know.")
    var unknown = 0

    @Option(help: "Dock the devices this many seconds after COMMAND starts (to watch them arrive).")
    var plugAfter: Double?

    @Option(help: "Undock them this many seconds after they were docked (to watch them leave).")
    var unplugAfter: Double?

    @Argument(parsing: .postTerminator, help: "The command to run, after `--`.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to run after `--`, e.g. `-- fieldgate scan`") }
        if [cameras, storageCameras, printers, fingerprintPads, unknown].contains(where: { $0 < 0 || $0 > 100 }) {
            throw ValidationError("device counts must be between 0 and 100")
        }
        for folder in volumeFolders where !FileManager.default.fileExists(atPath: folder) {
            throw ValidationError("--volume \(folder): no such folder")
        }
    }

    func run() async throws {
        try EmulationLauncher.reexecUnderWrapperIfNeeded()
        let testbed = try USBTestbed.shared()
        let volumes = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-volumes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: volumes) }
        let dock = { () throws -> Void in
            for index in 0..<cameras {
                let serial = Self.serial("A", index)
                let volume = try Self.sampleVolume(in: volumes, serial: serial, officer: "010203")
                try EmulatedModels.gat947Camera(serial: serial, clockOffset: clockOffset, volume: volume).dock(on: testbed)
            }
            for (index, folder) in volumeFolders.enumerated() {
                let camera = EmulatedModels.gat947Camera(serial: Self.serial("V", index), clockOffset: clockOffset,
                                                         volume: URL(fileURLWithPath: folder))
                try camera.dock(on: testbed)
            }
            for index in 0..<storageCameras {
                let serial = Self.serial("M", index)
                try testbed.plug(EmulatedModels.massStorageCamera(serial: serial),
                                 volume: try Self.sampleVolume(in: volumes, serial: serial, officer: "020304"))
            }
            for index in 0..<printers {
                let printer = EmulatedPrinter(serialNumber: Self.serial("P", index))
                try testbed.plug(printer.description, behaviour: printer)
            }
            for index in 0..<fingerprintPads { try testbed.plug(EmulatedModels.fingerprintPad(serial: Self.serial("F", index))) }
            for index in 0..<unknown { try testbed.plug(EmulatedModels.unknownGadget(serial: Self.serial("G", index))) }
        }
        if plugAfter == nil { try dock() }
        let child = try EmulationLauncher.start(command)
        if let plugAfter {
            try await Task.sleep(for: .seconds(plugAfter))
            try dock()
        }
        if let unplugAfter {
            try await Task.sleep(for: .seconds(unplugAfter))
            testbed.unplugAll()
        }
        let status = await EmulationLauncher.wait(for: child)
        testbed.unplugAll()
        if status != 0 { throw ExitCode(status) }
    }

    /// A folder of generated recordings for one camera.
    static func sampleVolume(in folder: URL, serial: String, officer: String) throws -> URL {
        let volume = folder.appendingPathComponent(serial)
        _ = try SampleRecordings.writeVolume(at: volume, cameraSerial: serial, officerNumber: officer, start: "20241105093012")
        return volume
    }

    static func serial(_ prefix: String, _ index: Int) -> String {
        let digits = String(index + 1)
        return prefix + String(repeating: "0", count: 6 - digits.count) + digits
    }
}

/// Starting programs inside the emulated bus.
enum EmulationLauncher {
    /// Replaces this process with itself under `umockdev-wrapper`, which loads umockdev's
    /// preload library, unless it is already loaded.
    static func reexecUnderWrapperIfNeeded() throws {
        guard !USBTestbed.isPreloaded else { return }
        guard let wrapper = findExecutable("umockdev-wrapper") else {
            throw ValidationError("emulated devices need umockdev: install it with `sudo apt-get install umockdev libumockdev-dev`")
        }
        let arguments = [wrapper, ownPath()] + CommandLine.arguments.dropFirst()
        let cArguments = arguments.map { strdup($0) } + [nil]
        execv(wrapper, cArguments)
        throw ValidationError("cannot run \(wrapper): \(String(cString: strerror(errno)))")
    }

    /// Starts `command`; `fieldgate` and `fieldgate-lab` are the programs built beside this one
    /// (the same build or the same installed folder), else whatever PATH finds.
    static func start(_ command: [String]) throws -> Process {
        let process = Process()
        var arguments = command
        let name = arguments.removeFirst()
        if let path = name.contains("/") ? name : sibling(name) ?? findExecutable(name) {
            process.executableURL = URL(fileURLWithPath: path)
        } else {
            throw ValidationError("command not found: \(name)")
        }
        process.arguments = arguments
        try process.run()
        return process
    }

    /// `name` in this executable's own folder, if it is there.
    static func sibling(_ name: String) -> String? {
        guard ["fieldgate", "fieldgate-lab", "fieldgate-server"].contains(name) else { return nil }
        let candidate = URL(fileURLWithPath: ownPath()).deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static func ownPath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func wait(for process: Process) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
