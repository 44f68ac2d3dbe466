import ArgumentParser
import Console

/// The lab: emulated devices for trying fieldgate without hardware. Kept out of the field
/// binary so that a gateway never links umockdev or the evidence server.
@main
struct FieldGateLab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate-lab",
        abstract: "Try fieldgate without hardware: the end-to-end demo and emulated devices.",
        discussion: """
            fieldgate-lab docks emulated body cameras, fingerprint pads and printers on this \
            machine's USB bus through umockdev; `fieldgate` (found beside this program, else on \
            PATH) then talks to them over the real libusb path. `demo` also embeds a \
            fieldgate-server on 127.0.0.1. Not for the field: install only `fieldgate` there.
            """,
        version: fieldgateVersion,
        subcommands: [DemoCommand.self, EmulateCommand.self]
    )
}
