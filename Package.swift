// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tracecheck",
    products: [
        .executable(name: "tracecheck", targets: ["tracecheck"]),
        .executable(name: "tracegen", targets: ["tracegen"]),
        .library(name: "TraceCheckCore", targets: ["TraceCheckCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(
            name: "TraceCheckCore",
            dependencies: ["CZstd"],
            swiftSettings: [
                // `swift run tracecheck` builds debug; the per-line hot path must not be
                // several times slower there (STYLE.md: measured 5x without this).
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        .executableTarget(
            name: "tracecheck",
            dependencies: [
                "TraceCheckCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "tracegen",
            dependencies: [
                "CZstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [
                // `swift run tracegen --size 1GB` builds debug; the generator loop must stay fast.
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // The benchmark driver (issue 5): `swift run -c release tracecheck-bench`.
        .executableTarget(
            name: "tracecheck-bench",
            dependencies: [
                "TraceCheckCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The mutation fuzzer: `swift run -c release tracecheck-fuzz --execs 1000000`.
        .executableTarget(
            name: "tracecheck-fuzz",
            dependencies: [
                "TraceCheckCore",
                "CZstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TraceCheckCoreTests",
            dependencies: ["TraceCheckCore"]
        ),
        .testTarget(
            name: "TraceCheckCLITests",
            dependencies: ["TraceCheckCore", "tracecheck", "tracegen"]
        ),
        .testTarget(
            name: "TracegenTests",
            dependencies: ["tracegen", "TraceCheckCore"]
        ),
    ]
)
