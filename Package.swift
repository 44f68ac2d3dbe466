// swift-tools-version: 6.1
import PackageDescription

// The flow of evidence is the module order: USB → Devices (catalog) → Scan → … ;
// each module depends only on those before it, and the CLI wires them together.
let package = Package(
    name: "fieldgate",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fieldgate", targets: ["fieldgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CUMockdev", pkgConfig: "umockdev-1.0", providers: [.apt(["libumockdev-dev"])]),
        .target(name: "USB", dependencies: ["CLibUSB"]),
        .target(name: "Devices", dependencies: ["TOMLKit"]),
        .target(name: "Scan", dependencies: ["USB", "Devices"]),
        .target(name: "TextCodecs"),
        .target(name: "USBEmulation", dependencies: ["CUMockdev", "TextCodecs"]),
        .executableTarget(
            name: "fieldgate",
            dependencies: [
                "USB", "Devices", "Scan", "USBEmulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["USBEmulation"], path: "Tests/TestSupport"),
        .testTarget(name: "DevicesTests", dependencies: ["Devices"]),
        .testTarget(name: "USBTests", dependencies: ["USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "ScanTests", dependencies: ["Scan", "USBEmulation", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["USBEmulation", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
