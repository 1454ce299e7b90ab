#!/usr/bin/env python3
"""Runs `vits bench ops` and scripts/bench/ops_torch.py workload by workload, alternating the two
(Swift, PyTorch, Swift, PyTorch, …) so both see the same machine load, and prints a Markdown table
and their ratio. Developer tool.

Both benches mark a timed run "clean" when other processes used at most 2 clock ticks of CPU during
it (/proc/stat minus the process's own ticks). Per side and round the clean median is used (the
plain median when a round had no clean run), and the table shows the lowest over the rounds, with
the number of clean runs behind it.

    python3 scripts/bench/ops_side_by_side.py [--vits .build/release/vits] [--rounds 3] [--runs 7]
"""
import argparse
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
WORKLOADS = ["conv1d_k3_d1", "conv1d_k3_d3", "conv1d_k3_d5", "conv1d_k5_192to384", "conv_transpose1d_512to256",
             "conv2d_k5x1_32to128", "layer_norm_192", "tanh_sigmoid_gate", "leaky_relu", "attention_matmuls"]


def medians(cmd):
    """name → (median in ms, clean runs behind it)"""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = {}
    for w in json.loads(out)["workloads"]:
        if w.get("clean_median_ms") is not None:
            result[w["name"]] = (w["clean_median_ms"], w["clean_runs"])
        else:
            result[w["name"]] = (w["median_ms"], 0)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vits", default=".build/release/vits")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for name in WORKLOADS:
        swift, torch = [], []
        for _ in range(args.rounds):
            swift.append(medians([args.vits, "bench", "ops", "--json", "--runs", str(args.runs), "--filter", name])[name])
            torch.append(medians([sys.executable, str(HERE / "ops_torch.py"), "--json", "--runs", str(args.runs),
                                  "--filter", name])[name])
        s, t = min(swift), min(torch)
        rows.append((name, s, t))
        print(f"{name}: swift {swift} torch {torch}", file=sys.stderr, flush=True)
    print(f"| workload | Swift ms (clean runs) | PyTorch ms (clean runs) | Swift / PyTorch |")
    print("|---|---:|---:|---:|")
    for name, s, t in rows:
        print(f"| {name} | {s[0]:.2f} ({s[1]}) | {t[0]:.2f} ({t[1]}) | {s[0] / t[0]:.2f} |")


if __name__ == "__main__":
    main()
