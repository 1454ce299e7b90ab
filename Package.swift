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

        // Vectorized elementwise math (AVX2 + glibc libmvec), see docs/engine-kernels.md.
        // -fno-finite-math-only keeps NaN/Inf semantics that -ffast-math would otherwise give up.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-ffast-math", "-fno-finite-math-only",
                                      "-fveclib=libmvec"])],
            linkerSettings: [.linkedLibrary("mvec"), .linkedLibrary("m")]),

        // Tensors, autograd, kernels, layers, optimizers.
        .target(name: "Engine", dependencies: ["CBLAS", "CKernels"], swiftSettings: kernelSwift),

        // Command-line interface: one file per command under Sources/vits/.
        .executableTarget(
            name: "vits",
            dependencies: [
                "Engine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "EngineTests", dependencies: ["Engine"], resources: [.copy("Fixtures")]),
    ]
)
