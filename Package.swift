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
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CUMockdev", pkgConfig: "umockdev-1.0", providers: [.apt(["libumockdev-dev"])]),
        .systemLibrary(name: "CFPrint", pkgConfig: "libfprint-2", providers: [.apt(["libfprint-2-dev", "libglib2.0-dev"])]),
        .target(name: "USB", dependencies: ["CLibUSB"]),
        .target(name: "Devices", dependencies: ["TOMLKit"]),
        .target(name: "Scan", dependencies: ["USB", "Devices"]),
        .target(name: "TextCodecs"),
        .target(name: "Drive", dependencies: ["USB", "Devices", "TextCodecs"]),
        .target(name: "Evidence", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CFileSystem"),
        .target(name: "Store", dependencies: ["Evidence", "CFileSystem", .product(name: "GRDB", package: "GRDB.swift"),
                                              .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Collect", dependencies: ["Evidence", "Store", "Drive"]),
        .target(name: "Print", dependencies: ["USB", "TextCodecs", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Fingerprint", dependencies: ["CFPrint"]),
        .target(name: "USBEmulation", dependencies: ["CUMockdev", "TextCodecs"]),
        .executableTarget(
            name: "fieldgate",
            dependencies: [
                "USB", "Devices", "Scan", "Drive", "Evidence", "Store", "Collect", "Print", "Fingerprint", "USBEmulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["USBEmulation"], path: "Tests/TestSupport"),
        .testTarget(name: "DevicesTests", dependencies: ["Devices"]),
        .testTarget(name: "USBTests", dependencies: ["USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "ScanTests", dependencies: ["Scan", "USBEmulation", "TestSupport"]),
        .testTarget(name: "EvidenceTests", dependencies: ["Evidence", "USBEmulation"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Evidence", "TestSupport"]),
        .testTarget(name: "DriveTests", dependencies: ["Drive", "Devices", "USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "CollectTests", dependencies: ["Collect", "Store", "Evidence", "Drive", "USBEmulation", "TestSupport"]),
        .testTarget(name: "PrintTests", dependencies: ["Print", "USB", "USBEmulation", "TestSupport", "TextCodecs"]),
        .testTarget(name: "CLITests", dependencies: ["USBEmulation", "TestSupport", "Print"]),
    ],
    swiftLanguageModes: [.v6]
)
