import CBLAS
import CKernels
import Foundation

/// Makes OpenBLAS use the fastest kernels this CPU supports.
///
/// Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernels from the CPU model number and falls
/// back to the generic SSE3 "Prescott" kernels for models it does not know — e.g. Intel family 6
/// model 207 (Emerald Rapids), where sgemm then runs 4–5× slower (measured 12–13 vs 53–65 GFLOP/s
/// single-threaded on the conv1d-as-GEMM shape 192×8192×576). When that fallback happened and the
/// user did not choose a core with OPENBLAS_CORETYPE, this re-runs OpenBLAS's own core selection
/// with the kernel family matching the CPU's instruction set (SkylakeX for AVX-512, Haswell for
/// AVX2+FMA), through the library's exported `gotoblas_dynamic_quit`/`gotoblas_dynamic_init`.
public enum BLASSetup {
    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Zen", "Prescott"…).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Switches away from the Prescott fallback when the CPU can do better. Idempotent; call before
    /// any BLAS work runs on other threads (`Engine.configure()` does). Returns the core in use.
    @discardableResult
    public static func selectFastestKernels() -> String {
        let current = coreName
        guard current == "Prescott", ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return current }
        let wanted: String
        if ck_cpu_has_avx512() != 0 { wanted = "SkylakeX" } else if ck_cpu_has_avx2_fma() != 0 { wanted = "Haswell" } else { return current }
        // Absent in builds without DYNAMIC_ARCH, where there is nothing to re-select.
        guard let quitSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init") else { return current }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quitSymbol, to: Hook.self)()
        unsafeBitCast(initSymbol, to: Hook.self)()
        unsetenv("OPENBLAS_CORETYPE")   // child processes choose for themselves
        return coreName
    }
}
