#!/usr/bin/env python3
"""SwiftVITS against the reference PyTorch VITS (and librosa), side by side, on one machine.

    scripts/bench/compare.sh --vits-repo /tmp/vits-ref [--rounds 5] [--cores 2] [--only train-tiny-sdp,synth-ljs]
    scripts/bench/compare.sh --vits-repo /tmp/vits-ref --authors-repo /tmp/mbref \
        --only synth-ljs,synth-ljs-mb-istft,dec-ljs,dec-ljs-mb-istft,train-ljs,train-ljs-mb-istft --rounds 5

Every figure in the project's performance notes comes from this one command. What it guarantees:
- interleaved: each round runs every workload once on each side, alternating which side goes first,
  so both see the same machine;
- quiet: before each round the 1-minute load average must be at most --max-load-per-core × cores
  (waits up to --wait seconds for it to settle, then refuses; --force runs anyway and marks every
  figure of a loaded round with '!'): on a loaded machine PyTorch's OpenMP workers spin and every
  ratio lies;
- the same work: the same configs, batch, frames and tokens on both sides (workload table below);
  the reference is given our narrowed discriminator where a config narrows it;
- the same cores: --cores N pins both processes to the first N CPUs (taskset) and gives torch N
  threads; our binary reports how many workers it used, and a mismatch is printed.
Prints a table of medians over the rounds (and the load each round saw); --json adds one JSON line per
measurement. Developer tool: needs python3 with torch, numpy, librosa (pip) and a checkout of
jaywalnut310/vits (fetch it; it is not part of this repository).

The iSTFT decoders (docs/decoders.md): the *-istft workloads run the authors' config fixtures
(Tests/VITSTests/Fixtures/configs/authors_ljs_*_vits.json) on our side and the authors' own code,
MasayaKawamura/MB-iSTFT-VITS (--authors-repo; with scipy, not part of this repository), on the
reference side; without --authors-repo they are skipped with a message. Their HiFi-GAN baselines are
the ljs_base workloads (jaywalnut310/vits on the reference side: the authors' code has no HiFi-GAN).
The decoder ratios of issue 16 (mb_istft RTF / HiFi-GAN RTF, HiFi-GAN generator step / mb_istft
generator step) are printed for each side after the table, whenever both workloads of a ratio ran.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(ROOT, "Tests", "VITSTests", "Fixtures", "configs")


# Batch of the ljs-size training workloads (train-ljs*): one item keeps a 5-round run of the full-size
# HiFi-GAN and MB-iSTFT steps on both sides within tens of minutes on two cores.
LJS_TRAIN_BATCH = "1"


def workload_table(args):
    """name -> (our argv after the binary, reference argv after the script, [(label, our key, reference key)],
    reference repository: "vits" (jaywalnut310/vits, --vits-repo) or "authors" (MB-iSTFT-VITS, --authors-repo)).
    A key that is a tuple names fields to add up."""
    tiny = os.path.join(CONFIGS, "tiny-sdp.json")
    quick = os.path.join(ROOT, "recipes", "quickstart", "configs", "pretrain.json")
    medium = os.path.join(ROOT, "scripts", "bench", "configs", "piper-medium.json")
    step_metrics = [("step s", "seconds", "seconds"), ("D step s", "d_step_seconds", "d_step_seconds"),
                    ("G step s", "g_step_seconds", "g_step_seconds")]
    # The generator's whole share of a step: its forward (text/posterior encoders, flow, MAS, decoder on the
    # segment, mel of ŷ) plus its losses, backward and AdamW ("G step s" above is the second part only).
    generator = ("g_forward_seconds", "g_step_seconds")
    ljs_step_metrics = step_metrics + [("G fwd+step s", generator, generator)]
    synth_metrics = [("RTF", "realtime_factor", "realtime_factor")]
    runs = str(args.runs)
    table = {
        "train-tiny-sdp": (["bench", "model", "--config", tiny, "--batch", "4", "--runs", runs, "--json"],
                           ["model", "--config", tiny, "--batch", "4", "--runs", runs], step_metrics),
        "train-quickstart": (["bench", "model", "--config", quick, "--batch", "4", "--runs", runs, "--json"],
                             ["model", "--config", quick, "--batch", "4", "--runs", runs], step_metrics),
        "synth-piper-medium": (["bench", "synthesize", "--config", medium, "--seconds", "9", "--runs", runs, "--json"],
                               ["synthesize", "--config", medium, "--seconds", "9", "--runs", runs], synth_metrics),
    }
    table = {name: entry + ("vits",) for name, entry in table.items()}
    # synth-ljs, dec-ljs, train-ljs: HiFi-GAN at ljs_base size; the same against the iSTFT decoders of the
    # authors' ljs configs (same text encoder, posterior encoder and flow; the authors' configs use the
    # deterministic duration predictor, ljs_base the stochastic one).
    decoders = [("", "ljs_base.json", "vits"), ("-istft", "authors_ljs_istft_vits.json", "authors"),
                ("-mb-istft", "authors_ljs_mb_istft_vits.json", "authors"),
                ("-ms-istft", "authors_ljs_ms_istft_vits.json", "authors")]
    for suffix, file, repo in decoders:
        config = os.path.join(CONFIGS, file)
        table["synth-ljs" + suffix] = (
            ["bench", "synthesize", "--config", config, "--seconds", "9", "--runs", runs, "--json"],
            ["synthesize", "--config", config, "--seconds", "9", "--runs", runs], synth_metrics, repo)
        table["dec-ljs" + suffix] = (
            ["bench", "generator", "--config", config, "--seconds", "1", "--runs", runs, "--json"],
            ["generator", "--config", config, "--seconds", "1", "--runs", runs], synth_metrics, repo)
        table["train-ljs" + suffix] = (
            ["bench", "model", "--config", config, "--batch", LJS_TRAIN_BATCH, "--runs", runs, "--json"],
            ["model", "--config", config, "--batch", LJS_TRAIN_BATCH, "--runs", runs], ljs_step_metrics, repo)
    return table


# The ratios issue 16 asks of the MB-iSTFT decoder, and the same for the other iSTFT variants:
# (label, numerator workload, denominator workload, metric label, target).
DECODER_RATIOS = [
    ("mb_istft RTF / HiFi-GAN RTF, synthesis", "synth-ljs-mb-istft", "synth-ljs", "RTF", "≤ 0.30"),
    ("istft RTF / HiFi-GAN RTF, synthesis", "synth-ljs-istft", "synth-ljs", "RTF", ""),
    ("ms_istft RTF / HiFi-GAN RTF, synthesis", "synth-ljs-ms-istft", "synth-ljs", "RTF", ""),
    ("mb_istft RTF / HiFi-GAN RTF, decoder only", "dec-ljs-mb-istft", "dec-ljs", "RTF", ""),
    ("istft RTF / HiFi-GAN RTF, decoder only", "dec-ljs-istft", "dec-ljs", "RTF", ""),
    ("ms_istft RTF / HiFi-GAN RTF, decoder only", "dec-ljs-ms-istft", "dec-ljs", "RTF", ""),
    ("HiFi-GAN / mb_istft generator step (G fwd+step)", "train-ljs", "train-ljs-mb-istft", "G fwd+step s", "≥ 1.5"),
    ("HiFi-GAN / mb_istft whole training step", "train-ljs", "train-ljs-mb-istft", "step s", ""),
    ("HiFi-GAN / istft generator step (G fwd+step)", "train-ljs", "train-ljs-istft", "G fwd+step s", ""),
    ("HiFi-GAN / ms_istft generator step (G fwd+step)", "train-ljs", "train-ljs-ms-istft", "G fwd+step s", ""),
]


def metric_value(result, key):
    """A field of a benchmark's JSON, or the sum of several (key a tuple); None when one is missing."""
    keys = key if isinstance(key, tuple) else (key,)
    values = [result.get(k) for k in keys]
    return None if any(v is None for v in values) else sum(values)


def pinned(argv, cores):
    return ["taskset", "-c", f"0-{cores - 1}"] + argv if cores else argv


def run_json(argv, env=None):
    """Runs a benchmark process and returns its last stdout line parsed as JSON, plus its peak RSS (MiB)."""
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"benchmark failed (exit {proc.returncode}): {' '.join(argv)}\n{proc.stderr[-2000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"no JSON line from: {' '.join(argv)}\n{proc.stdout[-2000:]}")
    result = json.loads(lines[-1])
    result["_wall_process"] = time.perf_counter() - started
    return result


def peak_rss_mib(argv):
    """Peak resident set of a whole process, from GNU time (/usr/bin/time -f %M, KiB)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, capture_output=True, text=True)
    try:
        return int(proc.stderr.strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return float("nan")


def wait_for_quiet(args, cores_in_use):
    """The load before a round: waits for it to settle; returns (load, loaded?) or exits when it will not."""
    limit = args.max_load_per_core * cores_in_use
    deadline = time.time() + args.wait
    while True:
        load = os.getloadavg()[0]
        if load <= limit:
            return load, False
        if time.time() >= deadline:
            if args.force:
                print(f"WARNING: load average {load:.2f} > {limit:.2f} ({args.max_load_per_core} per core × {cores_in_use}); "
                      "running anyway (--force): this round's figures are marked '!' and are not comparable", file=sys.stderr)
                return load, True
            sys.exit(f"refusing to measure: load average {load:.2f} > {limit:.2f} ({args.max_load_per_core} per core × "
                     f"{cores_in_use} cores) after waiting {args.wait:.0f} s. Stop builds, tests and training runs, "
                     "then run again (or --force to measure anyway, marked as loaded).")
        time.sleep(5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vits", default=os.path.join(ROOT, ".build", "release", "vits"), help="our binary")
    ap.add_argument("--vits-repo", required=True, help="checkout of jaywalnut310/vits (reference side)")
    ap.add_argument("--authors-repo", default="",
                    help="checkout of MasayaKawamura/MB-iSTFT-VITS, the reference side of the *-istft workloads "
                         "(without it they are skipped)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians over rounds)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs inside each benchmark process")
    ap.add_argument("--cores", type=int, default=0, help="pin both sides to the first N CPUs (0: all, unpinned)")
    ap.add_argument("--only", default="", help="comma-separated workloads (default: all; 'features' is librosa)")
    ap.add_argument("--max-load-per-core", type=float, default=0.5)
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the load to settle before refusing")
    ap.add_argument("--force", action="store_true", help="measure on a loaded machine, figures marked '!'")
    ap.add_argument("--memory", action="store_true", help="also measure each side's peak RSS once per workload")
    ap.add_argument("--json", action="store_true", help="one JSON line per measurement on stdout")
    args = ap.parse_args()

    if not os.access(args.vits, os.X_OK):
        sys.exit(f"{args.vits}: not an executable (swift build -c release --product vits)")
    if not os.path.isfile(os.path.join(args.vits_repo, "models.py")):
        sys.exit(f"{args.vits_repo}: not a checkout of jaywalnut310/vits (no models.py)")
    if args.authors_repo and not os.path.isfile(os.path.join(args.authors_repo, "pqmf.py")):
        sys.exit(f"{args.authors_repo}: not a checkout of MasayaKawamura/MB-iSTFT-VITS (no pqmf.py)")
    cores = os.cpu_count() or 1
    if args.cores < 0 or args.cores > cores:
        sys.exit(f"--cores must be in 0...{cores}")
    cores_in_use = args.cores or cores
    table = workload_table(args)
    names = [n for n in args.only.split(",") if n] or list(table) + ["features"]
    unknown = [n for n in names if n != "features" and n not in table]
    if unknown:
        sys.exit(f"unknown workload(s) {unknown}; known: {', '.join(list(table) + ['features'])}")
    skipped = [n for n in names if n != "features" and table[n][3] == "authors" and not args.authors_repo]
    if skipped:
        print(f"skipping {', '.join(skipped)}: their reference side is the authors' MB-iSTFT-VITS code; "
              "give its checkout with --authors-repo", file=sys.stderr)
        names = [n for n in names if n not in skipped]
        if not names:
            sys.exit("nothing to run")

    script = os.path.join(ROOT, "scripts", "bench", "vits_reference_bench.py")
    references = {"vits": [sys.executable, script, "--vits-repo", args.vits_repo, "--threads", str(cores_in_use)],
                  "authors": [sys.executable, script, "--vits-repo", args.authors_repo, "--repo-kind", "authors",
                              "--threads", str(cores_in_use)]}
    env = dict(os.environ)
    results = {n: {"ours": {}, "torch": {}} for n in names}   # workload -> side -> label -> [values]
    loads, workers_seen = [], set()

    for r in range(args.rounds):
        load, loaded = wait_for_quiet(args, cores_in_use)
        loads.append((load, loaded))
        mark = "!" if loaded else ""
        print(f"round {r + 1}/{args.rounds}: load average {load:.2f}{mark}", file=sys.stderr)
        for name in names:
            if name == "features":
                cmd = pinned([sys.executable, os.path.join(ROOT, "scripts", "bench", "features_vs_librosa.py"),
                              args.vits, "--minutes", "10", "--runs", "3", "--json"], args.cores)
                pair = run_json(cmd, env)
                for side, key in (("ours", "vits_wall_median"), ("torch", "librosa_wall_median")):
                    results[name][side].setdefault("10-min log-mel s", []).append((pair[key], loaded))
                continue
            ours_argv, ref_argv, metrics, repo = table[name]
            sides = [("ours", pinned([args.vits] + ours_argv, args.cores)),
                     ("torch", pinned(references[repo] + ref_argv, args.cores))]
            if r % 2:
                sides.reverse()
            for side, argv in sides:
                out = run_json(argv, env)
                if side == "ours" and "workers" in out:
                    workers_seen.add(out["workers"])
                for label, ours_key, ref_key in metrics:
                    value = metric_value(out, ours_key if side == "ours" else ref_key)
                    if value is not None:
                        results[name][side].setdefault(label, []).append((value, loaded))
                if args.json:
                    print(json.dumps({"round": r + 1, "workload": name, "side": side, "load": load, "loaded": loaded,
                                      "result": out}))

    memory = {}
    if args.memory:
        for name in names:
            if name == "features":
                continue
            ours_argv, ref_argv, _, repo = table[name]
            memory[name] = (peak_rss_mib(pinned([args.vits] + ours_argv, args.cores)),
                            peak_rss_mib(pinned(references[repo] + ref_argv, args.cores)))

    print()
    print(f"SwiftVITS vs reference, {args.rounds} interleaved rounds, {cores_in_use} of {cores} cores"
          f"{' (pinned)' if args.cores else ''}; load averages per round: "
          + ", ".join(f"{l:.2f}{'!' if x else ''}" for l, x in loads))
    if workers_seen and workers_seen != {cores_in_use}:
        print(f"NOTE: our binary reported {sorted(workers_seen)} workers for {cores_in_use} cores")
    print(f"{'workload':<20} {'metric':<17} {'reference':>10} {'ours':>10} {'ratio ref/ours':>15}")
    for name in names:
        for label in results[name]["ours"]:
            ours = [v for v, _ in results[name]["ours"][label]]
            ref = [v for v, _ in results[name]["torch"].get(label, [])]
            if not ref:
                continue
            flagged = any(x for _, x in results[name]["ours"][label])
            mo, mr = statistics.median(ours), statistics.median(ref)
            print(f"{name:<20} {label:<17} {mr:>10.4f} {mo:>10.4f} {mr / mo:>14.2f}×{'!' if flagged else ''}")
        if name in memory:
            mo, mr = memory[name]
            print(f"{name:<20} {'peak RSS MiB':<17} {mr:>10.0f} {mo:>10.0f} {mr / mo:>14.2f}×")
    print_decoder_ratios(results, names)
    if any(x for _, x in loads):
        print("'!': measured on a loaded machine (--force); not a figure to report")


def print_decoder_ratios(results, names):
    """Issue 16's decoder ratios, each side's own (reference: the authors' iSTFT code over jaywalnut310/vits)."""
    rows = []
    for label, top, bottom, metric, target in DECODER_RATIOS:
        if top not in names or bottom not in names:
            continue
        cells, flagged = [], False
        for side in ("torch", "ours"):
            a, b = results[top][side].get(metric, []), results[bottom][side].get(metric, [])
            flagged = flagged or any(x for _, x in a + b)
            cells.append(statistics.median(v for v, _ in a) / statistics.median(v for v, _ in b) if a and b else float("nan"))
        rows.append((label, cells, target, flagged))
    if not rows:
        return
    print()
    print(f"{'decoder ratio (medians)':<50} {'reference':>10} {'ours':>10}  target")
    for label, (ref, ours), target, flagged in rows:
        print(f"{label:<50} {ref:>10.3f} {ours:>10.3f}  {target}{'  !' if flagged else ''}")


if __name__ == "__main__":
    main()
