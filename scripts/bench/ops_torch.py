#!/usr/bin/env python3
"""Times the workloads of `vits bench ops` in PyTorch (CPU, default threads) — developer tool.

    python3 scripts/bench/ops_torch.py [--runs 7] [--json] [--swift swift.json]

With --swift (the output of `vits bench ops --json`) it prints both medians and the ratio Swift / PyTorch.
Each workload: 2 warm-up iterations, then --runs timed forward+backward iterations, median reported.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def param(*shape, scale=1.0):
    return ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_(True)


def step(params, forward):
    def run():
        y = forward()
        y.backward(torch.ones_like(y))
        for p in params:
            p.grad = None
    return run


def workloads():
    out = []
    for d in (1, 3, 5):
        def make(d=d):
            x, w, b = param(4, 192, 8192), param(192, 192, 3, scale=0.05), param(192)
            return step([x, w, b], lambda: F.conv1d(x, w, b, padding=d, dilation=d))
        out.append((f"conv1d_k3_d{d}", make))

    def conv_k5():
        x, w, b = param(4, 192, 8192), param(384, 192, 5, scale=0.05), param(384)
        return step([x, w, b], lambda: F.conv1d(x, w, b, padding=2))
    out.append(("conv1d_k5_192to384", conv_k5))

    def conv_t():
        x, w, b = param(4, 512, 32), param(512, 256, 16, scale=0.05), param(256)
        return step([x, w, b], lambda: F.conv_transpose1d(x, w, b, stride=8, padding=4))
    out.append(("conv_transpose1d_512to256", conv_t))

    def conv2d():
        x, w, b = param(4, 32, 1000, 5), param(128, 32, 5, 1, scale=0.05), param(128)
        return step([x, w, b], lambda: F.conv2d(x, w, b, stride=(3, 1), padding=(2, 0)))
    out.append(("conv2d_k5x1_32to128", conv2d))

    def layer_norm():
        # VITS modules.LayerNorm: transpose, layer_norm over channels, transpose back
        x, g, b = param(4, 192, 400), param(192), param(192)
        return step([x, g, b], lambda: F.layer_norm(x.transpose(1, -1), (192,), g, b, 1e-5).transpose(1, -1))
    out.append(("layer_norm_192", layer_norm))

    def gate():
        # VITS commons.fused_add_tanh_sigmoid_multiply after the add (TorchScript'ed there; eager here)
        x = param(4, 384, 8192, scale=3.0)
        return step([x], lambda: torch.tanh(x[:, :192]) * torch.sigmoid(x[:, 192:]))
    out.append(("tanh_sigmoid_gate", gate))

    def lrelu():
        x = param(4, 192, 8192)
        return step([x], lambda: F.leaky_relu(x, 0.1))
    out.append(("leaky_relu", lrelu))

    def attention():
        # S = Q Kᵀ and O = P V with their gradients: the same six matmuls as the Swift workload
        q, k, v, p = param(4, 2, 200, 96), param(4, 2, 200, 96), param(4, 2, 200, 96), param(4, 2, 200, 200)
        def fwd():
            s = q @ k.transpose(-1, -2)
            o = p @ v
            return (s.sum() + o.sum()).reshape(1)
        return step([q, k, v, p], fwd)
    out.append(("attention_matmuls", attention))
    return out


def cpu_activity():
    """(busy ticks of the machine, ticks used by this process) from /proc: a run during which other
    processes used more than CLEAN_SLACK ticks shared the cores and is not representative."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:9]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    own = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    return busy, int(own[11]) + int(own[12])


CLEAN_SLACK = 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--swift", help="JSON written by `vits bench ops --json`, to print ratios")
    ap.add_argument("--filter", default="")
    args = ap.parse_args()
    results = []
    for name, make in workloads():
        if args.filter not in name:
            continue
        run = make()
        for _ in range(2):
            run()
        times, clean = [], []
        for _ in range(args.runs):
            before = cpu_activity()
            t0 = time.perf_counter()
            run()
            ms = (time.perf_counter() - t0) * 1e3
            after = cpu_activity()
            times.append(ms)
            if (after[0] - before[0]) - (after[1] - before[1]) <= CLEAN_SLACK:
                clean.append(ms)
        results.append({"name": name, "median_ms": statistics.median(times),
                        "clean_median_ms": statistics.median(clean) if clean else None,
                        "clean_runs": len(clean), "runs_ms": times})
    info = {"bench": "ops_torch", "torch": torch.__version__, "threads": torch.get_num_threads(), "workloads": results}
    if args.swift:
        swift = {w["name"]: w["median_ms"] for w in json.load(open(args.swift))["workloads"]}
        print("(medians of all runs; see ops_side_by_side.py for load-filtered numbers)")
        print(f"| workload | Swift ms | PyTorch ms | Swift / PyTorch |")
        print(f"|---|---:|---:|---:|")
        for r in results:
            s = swift.get(r["name"])
            if s is not None:
                print(f"| {r['name']} | {s:.2f} | {r['median_ms']:.2f} | {s / r['median_ms']:.2f} |")
    elif args.json:
        print(json.dumps(info, indent=1))
    else:
        for r in results:
            c = f"clean {r['clean_median_ms']:.3f} ms ({r['clean_runs']} runs)" if r["clean_runs"] else "no clean run"
            print(f"{r['name']:28s} {r['median_ms']:10.3f} ms  {c}")


if __name__ == "__main__":
    main()
