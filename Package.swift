// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tracecheck",
    products: [
        .executable(name: "tracecheck", targets: ["tracecheck"]),
        .executable(name: "tracegen", targets: ["tracegen"]),
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
            dependencies: ["CZstd"]
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
            ]
        ),
        // The benchmark driver: `swift run -c release tracecheck-bench`.
        .executableTarget(
            name: "tracecheck-bench",
            dependencies: [
                "TraceCheckCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TraceCheckCoreTests",
            dependencies: ["TraceCheckCore"]
        ),
        .testTarget(
            name: "TraceCheckCLITests",
            dependencies: [
                "TraceCheckCore", "tracecheck", "tracegen",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TracegenTests",
            dependencies: ["tracegen", "TraceCheckCore"]
        ),
    ]
)

// Shared by every target we compile: `swift run tracecheck` and `swift run tracegen --size 1GB`
// build debug, and the per-line hot path and the generator loop are several times slower
// unoptimized (5x measured on the checker). `-O` keeps `precondition`s and drops `assert`s, so
// a check that protects memory is a `precondition`. The flag is unsafe to SwiftPM, which is
// why no library product is offered: a package using it cannot be depended on by version.
// Test targets stay unoptimized: they compile much faster that way.
for target in package.targets where target.type != .system && target.type != .test {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-O"], .when(configuration: .debug)),
    ]
}
