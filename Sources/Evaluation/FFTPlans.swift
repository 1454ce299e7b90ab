import Foundation
import CFFTW

/// Double-precision FFTW plans for the analysis (WORLD computes in double; so does the scorer),
/// created once per size under a lock (FFTW's planner is not thread-safe) and executed from worker
/// threads on their own `fftw_alloc_*` buffers (new-array execution is thread-safe).
final class AnalysisPlans: @unchecked Sendable {
    static let shared = AnalysisPlans()
    private let lock = NSLock()
    private var forward: [Int: OpaquePointer] = [:]
    private var inverse: [Int: OpaquePointer] = [:]

    /// Real → half-complex (N/2 + 1 bins), unnormalized.
    func realForward(size: Int) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let plan = forward[size] { return plan }
        let input = fftw_alloc_real(size)!, output = fftw_alloc_complex(size / 2 + 1)!
        defer { fftw_free(input); fftw_free(output) }
        // FFTW_ESTIMATE: the same plan every run, so the same last bits.
        let plan = fftw_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE))!
        forward[size] = plan
        return plan
    }

    /// Half-complex (N/2 + 1 bins) → real, unnormalized (divide by N for the inverse DFT).
    func realInverse(size: Int) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let plan = inverse[size] { return plan }
        let input = fftw_alloc_complex(size / 2 + 1)!, output = fftw_alloc_real(size)!
        defer { fftw_free(input); fftw_free(output) }
        let plan = fftw_plan_dft_c2r_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE))!
        inverse[size] = plan
        return plan
    }
}

/// One worker's FFT buffers (FFTW-aligned), reused for every frame the worker analyses.
struct FFTWorkspace: ~Copyable {
    let size: Int
    let real: UnsafeMutablePointer<Double>
    let complex: UnsafeMutablePointer<fftw_complex>
    let forward: OpaquePointer
    let inverse: OpaquePointer

    init(size: Int) {
        self.size = size
        forward = AnalysisPlans.shared.realForward(size: size)
        inverse = AnalysisPlans.shared.realInverse(size: size)
        real = fftw_alloc_real(size)!
        complex = fftw_alloc_complex(size / 2 + 1)!
        real.initialize(repeating: 0, count: size)
    }

    deinit {
        fftw_free(real)
        fftw_free(complex)
    }

    /// Interleaved (re, im) view of the half spectrum.
    var bins: UnsafeMutablePointer<Double> { UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self) }
}

/// MATLAB's round (halves away from zero), as WORLD uses for window lengths and frame origins.
@inline(__always) func matlabRound(_ x: Double) -> Int {
    x > 0 ? Int(x + 0.5) : Int(x - 0.5)
}
