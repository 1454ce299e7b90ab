// swift-tools-version:6.0
// SwiftVITS — train, fine-tune and run VITS voices natively.
// Layering (each target imports only targets above it in this list):
//   C shims → CKernels → Formats → Audio → Features → Engine → Mandarin → Data → VITS → Training → vits
import PackageDescription

/// Hot numeric targets: dynamic exclusivity checks off (they block vectorisation of loops over
/// class-held buffers, see docs/engine.md). Overflow and bounds checks stay on; kernels use
/// wrapping index arithmetic (&+, &*) so they vectorise anyway.
let kernelSwift: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "SwiftVITS",
    products: [
        .executable(name: "vits", targets: ["vits"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Native libraries: Debian packages installed by `make bootstrap` (scripts/bootstrap.sh).
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Tensors, autograd, kernels, layers, optimizers.
        .target(name: "Engine", dependencies: ["CBLAS"], swiftSettings: kernelSwift),

        // Mandarin text frontend: normalization, G2P, phoneme inventory, Biaobei labels (Foundation only).
        .target(name: "Mandarin", resources: [.copy("Resources")]),

        // Command-line interface: one file per command under Sources/vits/.
        .executableTarget(
            name: "vits",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Mandarin",
            ]),

        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "MandarinTests", dependencies: ["Mandarin"], resources: [.copy("Fixtures")]),
    ]
)
