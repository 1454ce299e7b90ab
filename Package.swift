// swift-tools-version:6.0
// SwiftVITS — train, fine-tune and run VITS voices natively.
// Layering (each target imports only targets above it in this list):
//   C shims → CKernels → Formats → Audio → Features, Evaluation → Engine → Mandarin → Corpus → VITS
//   → ReferenceCheck, Training → Voice → vits
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
        .systemLibrary(name: "CEspeakNG", pkgConfig: "espeak-ng", providers: [.apt(["libespeak-ng-dev"])]),

        // File formats: safetensors and NumPy .npy (no dependencies).
        .target(name: "Formats"),
        // How loops split over the cores (`Parallel`, VITS_THREADS): engine kernels, spectrograms, evaluation.
        .target(name: "Cores"),
        // Audio I/O (libsndfile) and resampling (soxr).
        .target(name: "Audio", dependencies: ["CSndFile", "CSoxr"]),
        // VITS-exact linear and log-mel spectrograms (FFTW).
        .target(name: "Features", dependencies: ["Cores", "CFFTW", "Audio"], swiftSettings: kernelSwift),

        // Objective voice quality: WORLD-style F0/envelope analysis, mel-cepstra, MCD-DTW (docs/evaluation.md).
        .target(name: "Evaluation", dependencies: ["Cores", "CFFTW", "Audio"], swiftSettings: kernelSwift),

        // Vectorized elementwise math (AVX2 + glibc libmvec), see docs/engine-kernels.md.
        // -fno-finite-math-only keeps NaN/Inf semantics that -ffast-math would otherwise give up.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-ffast-math", "-fno-finite-math-only",
                                      "-fveclib=libmvec"])],
            linkerSettings: [.linkedLibrary("mvec"), .linkedLibrary("m")]),

        // Tensors, autograd, kernels, layers, optimizers.
        .target(name: "Engine", dependencies: ["Cores", "CBLAS", "CKernels", "Formats"], swiftSettings: kernelSwift),

        // Mandarin text frontend: normalization, G2P, phoneme inventory, Biaobei labels (Foundation only).
        .target(name: "Mandarin", resources: [.copy("Resources")]),

        // Piper 1.x phonemes and ids through espeak-ng (docs/piper.md).
        .target(name: "PiperPhonemes", dependencies: ["CEspeakNG"]),

        // Corpora, manifests, feature cache, bucketed batches.
        .target(name: "Corpus", dependencies: ["Cores", "Formats", "Audio", "Features", "Mandarin"]),

        // The VITS model: config, parameter layout, modules, losses, alignment search.
        .target(name: "VITS", dependencies: ["Cores", "Engine", "Formats", "Features", "CBLAS", "CKernels"], swiftSettings: kernelSwift),

        // Generic trainer core: run directories, checkpoints, resume, logging, fine-tuning strategies.
        .target(name: "Training", dependencies: ["Formats", "Engine", "Audio", "Corpus", "Mandarin", "VITS", "Evaluation"]),

        // Checks the VITS implementation against reference fixtures (`vits check-reference`).
        .target(name: "ReferenceCheck", dependencies: ["Cores", "Engine", "Formats", "VITS"]),

        // Voices: run folders (Training.RunLayout), voice bundles, export, loading, synthesis.
        .target(name: "Voice", dependencies: ["Engine", "Formats", "VITS", "Training"]),


        // Command-line interface: one file per command under Sources/vits/.
        .executableTarget(
            name: "vits",
            dependencies: [
                "Cores", "Engine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Formats", "Audio", "Features", "Mandarin", "VITS", "Training",
                "Corpus", "ReferenceCheck", "Voice", "Evaluation", "PiperPhonemes",
            ]),

        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Cores"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AudioTests", dependencies: ["Audio"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "Audio", "Formats"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MandarinTests", dependencies: ["Mandarin"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CorpusTests", dependencies: ["Cores", "Corpus", "Mandarin", "Audio", "Formats", "Features"]),
        .testTarget(name: "TrainingTests", dependencies: ["Cores", "Formats", "Training", "Engine", "Corpus", "Audio", "VITS"]),
        .testTarget(name: "VoiceTests", dependencies: ["Voice", "VITS", "Engine", "Formats", "Mandarin", "Audio", "Training"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Cores", "Evaluation", "Audio"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VITSTests", dependencies: ["Cores", "VITS", "ReferenceCheck", "Engine", "Formats", "Features"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PiperImportTests", dependencies: ["Voice", "VITS", "Training", "Engine", "Formats", "PiperPhonemes"], resources: [.copy("Fixtures")]),
    ]
)
