// swift-tools-version:6.0
import PackageDescription

let dcmtkLibraries: [LinkerSetting] = [
    "dcmnet", "dcmtls", "dcmimage", "dcmimgle", "dcmjpeg", "dcmjpls", "dcmdata", "oflog", "ofstd", "openjp2", "png16", "jpeg", "z",
    "ssl", "crypto",
].map { .linkedLibrary($0) }

let package = Package(
    name: "ImagingIndex",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "imaging-index", targets: ["imaging-index"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        // C header, C++ inside: everything DCMTK.
        .target(
            name: "CDcmtkShim",
            path: "CModules/CDcmtkShim",
            linkerSettings: dcmtkLibraries
        ),
        .target(name: "DicomCore"),
        .target(
            name: "AuditTrail",
            dependencies: [
                "DicomCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "DcmtkBridge", dependencies: ["DicomCore", "CDcmtkShim"]),
        // Who may do what: roles, API tokens and signed JWTs, the sharing-consent scope.
        .target(
            name: "AccessControl",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "PatientIdentity", dependencies: ["DicomCore"]),
        .target(name: "DicomIndex", dependencies: ["DicomCore", "PatientIdentity"]),
        .target(
            name: "DicomIndexSQLite",
            dependencies: ["DicomIndex", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "DicomStorage",
            dependencies: ["DicomCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "DicomNetwork",
            dependencies: [
                "DicomCore", "DcmtkBridge",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Thumbnails",
            dependencies: [
                "DicomCore", "DcmtkBridge",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DicomWebAPI",
            dependencies: [
                "DicomCore", "DicomIndex", "DicomStorage", "PatientIdentity", "Thumbnails", "AccessControl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ImagingIndexApp",
            dependencies: [
                "DicomCore", "DcmtkBridge", "PatientIdentity", "DicomIndex", "DicomIndexSQLite", "DicomStorage",
                "DicomNetwork", "DicomWebAPI", "Thumbnails", "AuditTrail", "AccessControl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "imaging-index",
            dependencies: [
                "ImagingIndexApp", "DicomCore", "DicomIndex", "PatientIdentity", "AuditTrail", "AccessControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "DicomTestSupport", dependencies: ["DicomCore"]),

        .testTarget(name: "DicomCoreTests", dependencies: ["DicomCore"]),
        .testTarget(name: "AccessControlTests", dependencies: ["AccessControl",
                                                              .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "AuditTrailTests", dependencies: ["AuditTrail", "DicomTestSupport",
                                                            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DcmtkBridgeTests", dependencies: ["DcmtkBridge", "DicomTestSupport"]),
        .testTarget(name: "PatientIdentityTests", dependencies: ["PatientIdentity", "DicomCore"]),
        .testTarget(name: "DicomIndexTests", dependencies: ["DicomIndex", "PatientIdentity"]),
        .testTarget(name: "DicomIndexSQLiteTests", dependencies: ["DicomIndexSQLite", "DicomTestSupport", "PatientIdentity",
                                                                   .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DicomStorageTests", dependencies: ["DicomStorage", "DicomTestSupport"]),
        .testTarget(name: "DicomNetworkTests", dependencies: ["DicomNetwork", "DcmtkBridge", "DicomTestSupport"]),
        .testTarget(name: "ThumbnailsTests", dependencies: ["Thumbnails", "DcmtkBridge", "DicomTestSupport",
                                                            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ImagingIndexAppTests", dependencies: ["ImagingIndexApp", "Thumbnails", "DicomTestSupport",
                                                                 "PatientIdentity"]),
        .testTarget(name: "EndToEndTests", dependencies: ["DicomTestSupport", "DcmtkBridge", "DicomCore"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
