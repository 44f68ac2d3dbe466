import ArgumentParser

@main
struct FieldGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate",
        abstract: "Evidence gateway for body cameras, fingerprint pads and field printers.",
        discussion: """
            fieldgate finds the enforcement devices docked on this machine's USB bus, matches them \
            against the device catalog (devices/), collects every recording into a verified \
            evidence store, and syncs it to the central server (fieldgate-server) in batches that \
            the server receipts.

            Start with `fieldgate demo`: it runs the whole job on emulated devices.
            """,
        version: "0.1.0",
        subcommands: [ScanCommand.self, WatchCommand.self, CollectCommand.self, EnrollCommand.self, SyncCommand.self, ReceiptsCommand.self,
                      StatusCommand.self, ListCommand.self, AuditCommand.self, CameraCommand.self, OfficersCommand.self, CasesCommand.self,
                      PrintCommand.self, PrintersCommand.self, FingerprintCommand.self, DevicesCommand.self,
                      EmulateCommand.self, DemoCommand.self]
    )
}
