import CBLAS

/// Process-wide engine setup.
public enum Engine {
    /// Pins OpenBLAS to one thread: our kernels split GEMMs over the cores themselves, which
    /// measured 5–15 % faster on conv shapes here and keeps thread pools from nesting.
    /// Idempotent; call once at start-up (the CLI and test suites do).
    public static func configure() {
        BLASSetup.selectFastestKernels()
        openblas_set_num_threads(1)
    }
}
