import Foundation

/// Ready-made emulated devices matching the example profiles shipped in devices/.
public enum EmulatedModels {
    /// A camera in control mode with an officer bound to it (GA/T 947).
    public static func gat947Camera(serial: String = "A123456", officerNumber: String = "010203",
                                    officerName: String = "张伟", clockOffset: Double = 0,
                                    password: String = "000000", volume: URL? = nil,
                                    volumeMounted: Bool = true) -> EmulatedGAT947Camera {
        EmulatedGAT947Camera(
            record: .init(serial: serial, officerNumber: officerNumber, officerName: officerName,
                          unitNumber: "330100000001", unitName: "城市管理综合执法大队"),
            password: password, clockOffset: clockOffset, volume: volume, volumeMounted: volumeMounted)
    }

    /// A plain mass-storage camera (devices/body-cameras/example-msc-dsj-m2.toml).
    public static func massStorageCamera(serial: String = "M765432") -> EmulatedDeviceDescription {
        EmulatedDeviceDescription(
            vendorId: 0x1209, productId: 0x0003, manufacturer: "Example Optics", product: "DSJ-M2", serialNumber: serial,
            interfaces: [EmulatedInterface(interfaceClass: 0x08, subclass: 0x06, interfaceProtocol: 0x50,
                                           endpoints: [EmulatedEndpoint(address: 0x81), EmulatedEndpoint(address: 0x02)])])
    }

    /// A signature and fingerprint pad (devices/fingerprint-pads/example-sign-pad-s1.toml); it only enumerates.
    public static func fingerprintPad(serial: String = "FP00042") -> EmulatedDeviceDescription {
        EmulatedDeviceDescription(
            vendorId: 0x1209, productId: 0x0004, manufacturer: "Example Sign", product: "捺印板 S1", serialNumber: serial,
            interfaces: [EmulatedInterface(interfaceClass: 0xFF, endpoints: [
                EmulatedEndpoint(address: 0x83, type: .interrupt, maxPacketSize: 16),
                EmulatedEndpoint(address: 0x81, maxPacketSize: 64), EmulatedEndpoint(address: 0x02, maxPacketSize: 64),
            ])],
            speedMbps: 12)
    }

    /// A device no profile names (a vendor-class gadget), for `scan --all`.
    public static func unknownGadget(serial: String = "GADGET1") -> EmulatedDeviceDescription {
        EmulatedDeviceDescription(
            vendorId: 0x1209, productId: 0x000b, manufacturer: "Nobody", product: "Gadget", serialNumber: serial,
            interfaces: [EmulatedInterface(interfaceClass: 0xFF)])
    }
}
