// swift-tools-version: 6.1
import PackageDescription

// The flow of evidence is the module order, scan → drive → collect → store → sync → serve:
//   Common, TextCodecs → USB → Devices (catalog) → Scan → Evidence → Store → Drivers → Collect → Roster
//   → Print → Fingerprint → Paperwork → Inventory → SyncProtocol → Timestamping → EvidenceBundle → Sync → GatewayExport
//   → Station → Server.
// Each module depends only on modules before it (and declares every module it imports); Console
// and the three executables wire them together. USBEmulation is for fieldgate-lab and the tests.
let package = Package(
    name: "fieldgate",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fieldgate", targets: ["fieldgate"]),
        .executable(name: "fieldgate-server", targets: ["fieldgate-server"]),
        .executable(name: "fieldgate-lab", targets: ["fieldgate-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CUMockdev", pkgConfig: "umockdev-1.0", providers: [.apt(["libumockdev-dev"])]),
        .systemLibrary(name: "CFPrint", pkgConfig: "libfprint-2", providers: [.apt(["libfprint-2-dev", "libglib2.0-dev"])]),
        .target(name: "Common"),
        .target(name: "USB", dependencies: ["CLibUSB", "Common"]),
        .target(name: "Devices", dependencies: ["Common", "TOMLKit"]),
        .target(name: "Scan", dependencies: ["Common", "USB", "Devices"]),
        .target(name: "TextCodecs"),
        .target(name: "Drivers", dependencies: ["USB", "Devices", "TextCodecs"]),
        .target(name: "Evidence", dependencies: ["Common", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CFileSystem"),
        .target(name: "CMemory"),
        .target(name: "Store", dependencies: ["Common", "Evidence", "CFileSystem", .product(name: "GRDB", package: "GRDB.swift"),
                                              .product(name: "Crypto", package: "swift-crypto")]),
        // Officers and cases as the unit keeps them: CSV files checked line by line.
        .target(name: "Roster", dependencies: ["Store"]),
        .target(name: "Collect", dependencies: ["CFileSystem", "Common", "Devices", "Evidence", "Store", "Drivers"]),
        .target(name: "SyncProtocol", dependencies: ["Common", "Evidence", .product(name: "Crypto", package: "swift-crypto")]),
        // RFC 3161 time-stamp queries and replies (the DER through swift-asn1).
        .target(name: "Timestamping", dependencies: [.product(name: "SwiftASN1", package: "swift-asn1")]),
        .target(name: "Sync", dependencies: ["Common", "SyncProtocol", "Store", "Evidence", "Timestamping",
                                             .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                             .product(name: "NIOCore", package: "swift-nio"),
                                             .product(name: "NIOHTTP1", package: "swift-nio"),
                                             .product(name: "NIOFoundationCompat", package: "swift-nio"),
                                             .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                             .product(name: "Crypto", package: "swift-crypto")]),
        // Evidence bundles: BagIt bags of items, their record, custody and signatures, for a court;
        // written from the gateway's store (GatewayExport) or the server's records (Server).
        .target(name: "EvidenceBundle", dependencies: ["CFileSystem", "Common", "Evidence", "SyncProtocol",
                                                       .product(name: "Crypto", package: "swift-crypto"),
                                                       .product(name: "SwiftASN1", package: "swift-asn1")]),
        .target(name: "GatewayExport", dependencies: ["Evidence", "EvidenceBundle", "Store", "Sync", "SyncProtocol",
                                                      .product(name: "Crypto", package: "swift-crypto")]),
        // The docking station: bays collected at once, background sync, the status page.
        .target(name: "Station", dependencies: ["Collect", "Devices", "Drivers", "Store", "Sync", "USB",
                                                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                .product(name: "NIOCore", package: "swift-nio"),
                                                .product(name: "NIOHTTP1", package: "swift-nio"),
                                                .product(name: "NIOPosix", package: "swift-nio")]),
        .target(name: "Server", dependencies: ["Common", "Evidence", "EvidenceBundle", "SyncProtocol", "CFileSystem", "Timestamping",
                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                               .product(name: "Hummingbird", package: "hummingbird"),
                                               .product(name: "HummingbirdCore", package: "hummingbird"),
                                               .product(name: "HummingbirdTLS", package: "hummingbird"),
                                               .product(name: "HTTPTypes", package: "swift-http-types"),
                                               .product(name: "NIOCore", package: "swift-nio"),
                                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                               .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                                               .product(name: "NIOPosix", package: "swift-nio"),
                                               .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                               .product(name: "GRDB", package: "GRDB.swift"),
                                               .product(name: "PostgresNIO", package: "postgres-nio"),
                                               .product(name: "Crypto", package: "swift-crypto"),
                                               .product(name: "Prometheus", package: "swift-prometheus"),
                                               .product(name: "CoreMetrics", package: "swift-metrics"),
                                               .product(name: "Metrics", package: "swift-metrics"),
                                               .product(name: "Logging", package: "swift-log")],
                resources: [.copy("openapi.yaml")]),
        .target(name: "Print", dependencies: ["Common", "USB", "TextCodecs", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Fingerprint", dependencies: ["CFPrint"]),
        // Paperwork on the spot: the print job and printer resolution, fingerprint captures,
        // both recorded in the store.
        // One inventory: catalogued USB devices, registered serial printers, libfprint readers.
        .target(name: "Inventory", dependencies: ["Devices", "Fingerprint", "Print", "Scan", "Store", "USB"]),
        .target(name: "Paperwork", dependencies: ["Devices", "Fingerprint", "Print", "Store", "USB"]),
        .target(name: "USBEmulation", dependencies: ["CUMockdev", "TextCodecs"]),
        .target(name: "Console", dependencies: ["Common", "TextCodecs"]),
        .executableTarget(
            name: "fieldgate",
            dependencies: [
                "Common", "Console", "USB", "Devices", "Scan", "Drivers", "Evidence", "Store", "Collect", "Sync", "Print", "Fingerprint",
                "Inventory", "Paperwork", "Roster", "Station", "CMemory", "EvidenceBundle", "GatewayExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "fieldgate-server",
            dependencies: ["Common", "Console", "Evidence", "EvidenceBundle", "Server", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The demo and emulated devices: the only executable that links USBEmulation (umockdev)
        // and embeds the server. It runs the `fieldgate` built beside it, hence that dependency.
        .executableTarget(
            name: "fieldgate-lab",
            dependencies: ["fieldgate", "fieldgate-server", "Console", "Devices", "Print", "Server", "USBEmulation",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "TestSupport", dependencies: ["USBEmulation"], path: "Tests/TestSupport"),
        .testTarget(name: "CommonTests", dependencies: ["Common"]),
        .testTarget(name: "TimestampingTests", dependencies: ["Timestamping", "TestSupport"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices"]),
        .testTarget(name: "USBTests", dependencies: ["USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "ScanTests", dependencies: ["Scan", "Devices", "USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "EvidenceTests", dependencies: ["Evidence", "USBEmulation", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Evidence", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")], exclude: ["Fixtures"]),
        .testTarget(name: "DriveTests", dependencies: ["Drivers", "Devices", "USB", "USBEmulation", "TestSupport"]),
        .testTarget(name: "CollectTests", dependencies: ["Collect", "Devices", "Store", "Evidence", "Drivers", "USBEmulation", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "SyncProtocol", "Common", "Evidence", "EvidenceBundle", "TestSupport",
                                                        .product(name: "GRDB", package: "GRDB.swift"),
                                                        .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "HummingbirdTLS", package: "hummingbird")],
                    exclude: ["tuspy_upload.py"]),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "SyncProtocol", "Store", "Collect", "Evidence", "USBEmulation",
                                                      "TestSupport", "Server", "Common",
                                                      .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                      .product(name: "Crypto", package: "swift-crypto"),
                                                      .product(name: "GRDB", package: "GRDB.swift")],
                    exclude: ["corrupting_proxy.py"]),
        .testTarget(name: "PrintTests", dependencies: ["Print", "USB", "USBEmulation", "TestSupport", "TextCodecs"]),
        .testTarget(name: "RosterTests", dependencies: ["Roster", "Store"]),
        .testTarget(name: "InventoryTests", dependencies: ["Inventory", "Devices", "Store", "TestSupport"]),
        .testTarget(name: "PaperworkTests", dependencies: ["Paperwork", "Print", "Fingerprint", "Store", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["USBEmulation", "TestSupport", "Print"], exclude: ["station_page.py"]),
        .testTarget(name: "EvidenceBundleTests", dependencies: ["EvidenceBundle", "GatewayExport", "Store", "Evidence", "SyncProtocol", "TestSupport", "USBEmulation",
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
