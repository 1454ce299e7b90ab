import ArgumentParser
import CBLAS
import Engine
import Foundation
import Cores

/// `vits bench ops`: forward + backward time of the engine's hot kernels on VITS-sized workloads.
/// The same workloads are timed in PyTorch by scripts/bench/ops_torch.py (see docs/engine-kernels.md).
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time forward+backward of conv1d, conv_transpose1d, conv2d(k,1), layer norm, gate and attention matmuls.",
        discussion: """
            Each workload runs 2 warm-up iterations, then --runs timed ones; the median is reported.
            Example: vits bench ops --json > swift.json && python3 scripts/bench/ops_torch.py --swift swift.json
            """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed runs per workload (median reported, at least 5).")
    var runs = 7

    @Option(help: "Only run workloads whose name contains this text.")
    var filter: String?

    mutating func validate() throws {
        guard runs >= 5 else { throw ValidationError("--runs must be at least 5 (got \(runs))") }
    }

    func run() throws {
        Engine.configure()
        if !json { print("OpenBLAS kernels: \(BLASSetup.coreName), \(Parallel.workers) workers") }
        var results: [(name: String, shape: String, times: [Double], clean: [Double])] = []
        for workload in Self.workloads where filter.map({ workload.name.contains($0) }) ?? true {
            let step = workload.make()
            for _ in 0..<2 { step() }
            var times: [Double] = [], clean: [Double] = []
            for _ in 0..<runs {
                let before = CPUActivity.sample()
                let start = DispatchTime.now().uptimeNanoseconds
                step()
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                times.append(ms)
                if let before, let after = CPUActivity.sample(), after.othersBusy(since: before) <= CPUActivity.cleanSlackTicks {
                    clean.append(ms)
                }
            }
            results.append((workload.name, workload.shape, times, clean))
            if !json {
                let cleanText = clean.isEmpty ? "no clean run" : String(format: "clean %.3f ms (%d runs)", median(clean), clean.count)
                print(String(format: "%-28@ %10.3f ms  %@  (%@)", workload.name as NSString, median(times),
                             cleanText as NSString, workload.shape as NSString))
            }
        }
        if json {
            let items = results.map { r in
                "{\"name\": \"\(r.name)\", \"shape\": \"\(r.shape)\", \"median_ms\": \(String(format: "%.4f", median(r.times))), "
                    + "\"clean_median_ms\": \(r.clean.isEmpty ? "null" : String(format: "%.4f", median(r.clean))), "
                    + "\"clean_runs\": \(r.clean.count), "
                    + "\"runs_ms\": [\(r.times.map { String(format: "%.4f", $0) }.joined(separator: ", "))]}"
            }
            print("{\"bench\": \"ops\", \"threads\": \(Parallel.workers), \"blas_core\": \"\(BLASSetup.coreName)\", \"workloads\": [\n  "
                  + items.joined(separator: ",\n  ") + "\n]}")
        }
    }

    private func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    struct Workload {
        let name: String
        let shape: String
        /// Builds inputs once and returns one forward+backward step.
        let make: () -> () -> Void
    }

    static func filled(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = true) -> Tensor {
        let t = Tensor(uninitialized: shape)
        var state = seed
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.pointer[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        t.requiresGrad = requiresGrad
        return t
    }

    /// Forward, then backward with an all-ones output gradient, then drop the gradients.
    static func trainingStep(_ params: [Tensor], _ forward: @escaping () -> Tensor) -> () -> Void {
        var seed: Tensor?
        return {
            let y = forward()
            let gradient = seed.flatMap { $0.shape == y.shape ? $0 : nil } ?? Tensor(repeating: 1, shape: y.shape)
            seed = gradient
            y.backward(gradient: gradient)
            for p in params { p.zeroGrad() }
        }
    }

    static var workloads: [Workload] {
        var list: [Workload] = []
        for d in [1, 3, 5] {
            list.append(Workload(name: "conv1d_k3_d\(d)", shape: "x[4,192,8192] w[192,192,3] pad \(d) dil \(d)") {
                let x = filled([4, 192, 8192], seed: 1), w = filled([192, 192, 3], seed: 2, scale: 0.05), b = filled([192], seed: 3)
                return trainingStep([x, w, b]) { conv1d(x, weight: w, bias: b, padding: d, dilation: d) }
            })
        }
        list.append(Workload(name: "conv1d_k5_192to384", shape: "x[4,192,8192] w[384,192,5] pad 2") {
            let x = filled([4, 192, 8192], seed: 4), w = filled([384, 192, 5], seed: 5, scale: 0.05), b = filled([384], seed: 6)
            return trainingStep([x, w, b]) { conv1d(x, weight: w, bias: b, padding: 2) }
        })
        list.append(Workload(name: "conv_transpose1d_512to256", shape: "x[4,512,32] w[512,256,16] stride 8 pad 4") {
            let x = filled([4, 512, 32], seed: 7), w = filled([512, 256, 16], seed: 8, scale: 0.05), b = filled([256], seed: 9)
            return trainingStep([x, w, b]) { convTranspose1d(x, weight: w, bias: b, stride: 8, padding: 4) }
        })
        list.append(Workload(name: "conv2d_k5x1_32to128", shape: "x[4,32,1000,5] w[128,32,5,1] stride (3,1) pad (2,0)") {
            let x = filled([4, 32, 1000, 5], seed: 10), w = filled([128, 32, 5, 1], seed: 11, scale: 0.05), b = filled([128], seed: 12)
            return trainingStep([x, w, b]) { conv2dK1(x, weight: w, bias: b, stride: 3, padding: 2) }
        })
        list.append(Workload(name: "layer_norm_192", shape: "x[4,192,400]") {
            let x = filled([4, 192, 400], seed: 13), g = filled([192], seed: 14), b = filled([192], seed: 15)
            return trainingStep([x, g, b]) { layerNormChannels(x, gamma: g, beta: b) }
        })
        list.append(Workload(name: "tanh_sigmoid_gate", shape: "x[4,384,8192]") {
            let x = filled([4, 384, 8192], seed: 16, scale: 3)
            return trainingStep([x]) { tanhSigmoidGate(x) }
        })
        list.append(Workload(name: "leaky_relu", shape: "x[4,192,8192] slope 0.1") {
            let x = filled([4, 192, 8192], seed: 17)
            return trainingStep([x]) { leakyRelu(x, slope: 0.1) }
        })
        list.append(Workload(name: "attention_matmuls", shape: "q,k,v[4,2,200,96]: QKᵀ, PV and their grads") {
            attentionMatmuls()
        })
        return list
    }

    /// S = Q·Kᵀ and O = P·V per (batch, head), forward and backward (dQ, dK, dP, dV) — six sgemm per
    /// head, heads split over the cores. Raw cblas_sgemm: the matmul op itself lives elsewhere in the engine.
    static func attentionMatmuls() -> () -> Void {
        let (batch, heads, t, d) = (4, 2, 200, 96)
        let items = batch * heads
        let q = filled([items, t, d], seed: 20, requiresGrad: false), k = filled([items, t, d], seed: 21, requiresGrad: false)
        let v = filled([items, t, d], seed: 22, requiresGrad: false), p = filled([items, t, t], seed: 23, requiresGrad: false)
        let dO = filled([items, t, d], seed: 24, requiresGrad: false)
        return {
            let s = Tensor(uninitialized: [items, t, t]), o = Tensor(uninitialized: [items, t, d])
            let dP = Tensor(uninitialized: [items, t, t]), dV = Tensor(uninitialized: [items, t, d])
            let dQ = Tensor(uninitialized: [items, t, d]), dK = Tensor(uninitialized: [items, t, d])
            let (qp, kp, vp, pp, gp) = (q.pointer, k.pointer, v.pointer, p.pointer, dO.pointer)
            let (sp, op, dpp, dvp, dqp, dkp) = (s.pointer, o.pointer, dP.pointer, dV.pointer, dQ.pointer, dK.pointer)
            let n = Int32(t), dd = Int32(d)
            Parallel.forRanges(items) { range in
                for i in range {
                    let td = i * t * d, tt = i * t * t
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dd, 1, qp + td, dd, kp + td, dd, 0, sp + tt, n)     // S = QKᵀ
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dd, n, 1, pp + tt, n, vp + td, dd, 0, op + td, dd)   // O = PV
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dd, 1, gp + td, dd, vp + td, dd, 0, dpp + tt, n)    // dP = dO Vᵀ
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dd, n, 1, pp + tt, n, gp + td, dd, 0, dvp + td, dd)    // dV = Pᵀ dO
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dd, n, 1, sp + tt, n, kp + td, dd, 0, dqp + td, dd)  // dQ = dS K
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dd, n, 1, sp + tt, n, qp + td, dd, 0, dkp + td, dd)    // dK = dSᵀ Q
                }
            }
        }
    }
}

/// CPU time used on the whole machine and by this process, from /proc (Linux), to tell whether a
/// timed run shared the cores with other work: on a shared 2-core machine such runs are not
/// representative (both this process and PyTorch slow down by unrelated amounts).
struct CPUActivity {
    /// Busy clock ticks of all CPUs (user + nice + system + irq + softirq + steal).
    let machineBusy: Int
    /// Clock ticks used by this process (all threads, user + system).
    let processBusy: Int

    /// Ticks (1/100 s) other processes may use during a run that still counts as clean.
    static let cleanSlackTicks = 2

    func othersBusy(since earlier: CPUActivity) -> Int {
        (machineBusy - earlier.machineBusy) - (processBusy - earlier.processBusy)
    }

    static func sample() -> CPUActivity? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let cpuLine = stat.split(separator: "\n").first,
              let own = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = own.lastIndex(of: ")") else { return nil }
        let f = cpuLine.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard f.count >= 8 else { return nil }
        let busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
        // Fields after "(comm)": state is field 3, utime/stime are fields 14/15 → offsets 11/12.
        let rest = own[own.index(after: close)...].split(separator: " ")
        guard rest.count > 12, let utime = Int(rest[11]), let stime = Int(rest[12]) else { return nil }
        return CPUActivity(machineBusy: busy, processBusy: utime + stime)
    }
}

