import ArgumentParser
import Foundation
import USBEmulation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the gateway's job end to end on emulated devices (no hardware needed).",
        discussion: """
            Docks emulated body cameras, a fingerprint pad and a printer through umockdev, runs \
            `fieldgate scan` as a separate process over the real libusb path, then runs \
            `fieldgate watch` while devices are docked and undocked. Needs umockdev installed \
            (Debian: umockdev, libumockdev-dev); re-runs itself under umockdev-wrapper.
            """)

    func run() async throws {
        try EmulationLauncher.reexecUnderWrapperIfNeeded()
        let testbed = try USBTestbed.shared()

        section("1. An officer docks body camera A123456 (GA/T 947); a fingerprint pad and a printer are attached")
        let first = EmulatedModels.gat947Camera(serial: "A123456", officerNumber: "010203", officerName: "张伟")
        try first.dock(on: testbed)
        try testbed.plug(EmulatedModels.fingerprintPad())
        let printer = EmulatedPrinter()
        try testbed.plug(printer.description, behaviour: printer)
        try testbed.plug(EmulatedModels.unknownGadget())

        section("2. fieldgate scan: what is docked now (a separate process, through libusb)")
        try await runChild(["fieldgate", "scan"])

        section("3. fieldgate watch: a second camera and a storage-only camera arrive, the first camera is undocked")
        emitLine("$ fieldgate watch --count 3")
        let watcher = try EmulationLauncher.start(["fieldgate", "watch", "--count", "3", "--timeout", "20"])
        try await Task.sleep(for: .seconds(1.5))  // let the watcher start listening
        let second = EmulatedModels.gat947Camera(serial: "B654321", officerNumber: "020304", officerName: "李娜")
        try second.dock(on: testbed)
        try await Task.sleep(for: .milliseconds(400))
        try testbed.plug(EmulatedModels.massStorageCamera())
        try await Task.sleep(for: .milliseconds(400))
        first.undock()
        let status = await EmulationLauncher.wait(for: watcher)

        section("4. fieldgate scan --all: everything on the bus, including a device the catalog does not know")
        try await runChild(["fieldgate", "scan", "--all"])
        testbed.unplugAll()
        emitLine("\nDemo finished. Next: collecting recordings from docked cameras (coming with the collect work).")
        if status != 0 { throw ExitCode(status) }
    }

    private func section(_ title: String) {
        emitLine("\n== \(title)")
    }

    private func runChild(_ command: [String]) async throws {
        emitLine("$ " + command.joined(separator: " "))
        let status = await EmulationLauncher.wait(for: try EmulationLauncher.start(command))
        if status != 0 { throw ExitCode(status) }
    }
}
