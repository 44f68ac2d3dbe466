import ArgumentParser
import Console

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

            To try it without hardware, `fieldgate-lab demo` (from the source checkout) runs the whole job on emulated devices.
            """,
        version: fieldgateVersion,
        groupedSubcommands: [
            CommandGroup(name: "Evidence", subcommands: [StationCommand.self, CollectCommand.self, ListCommand.self, StatusCommand.self]),
            CommandGroup(name: "Devices", subcommands: [ScanCommand.self, WatchCommand.self, CameraCommand.self]),
            CommandGroup(name: "Paperwork", subcommands: [PrintCommand.self, PrintersCommand.self, FingerprintCommand.self,
                                                          OfficersCommand.self, CasesCommand.self]),
            CommandGroup(name: "Server link", subcommands: [EnrollCommand.self, SyncCommand.self, ReceiptsCommand.self, ExportCommand.self]),
            CommandGroup(name: "Diagnostics", subcommands: [AuditCommand.self, DevicesCommand.self]),
        ]
    )
}
