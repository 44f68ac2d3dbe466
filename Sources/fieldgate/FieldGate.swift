import ArgumentParser

@main
struct FieldGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate",
        abstract: "Evidence gateway for body cameras, fingerprint pads and field printers.",
        discussion: """
            fieldgate finds the enforcement devices docked on this machine's USB bus, matches them \
            against the device catalog (devices/), and (as the project grows) collects every \
            recording into a verified evidence store and syncs it to the central server.

            Start with `fieldgate demo`: it runs the whole job on emulated devices.
            """,
        version: "0.1.0",
        subcommands: [ScanCommand.self, WatchCommand.self, CollectCommand.self, StatusCommand.self, ListCommand.self,
                      AuditCommand.self, CameraCommand.self, OfficersCommand.self, CasesCommand.self, PrintCommand.self,
                      PrintersCommand.self, FingerprintCommand.self, DevicesCommand.self,
                      EmulateCommand.self, DemoCommand.self]
    )
}
