#!/usr/bin/env python3
"""The fine-tuning study of issue 10 (item 6): at equal wall time on the target speaker, which start
gives the best voice?

  (a) scratch      `vits train` on the target alone (the quickstart's model, one speaker)
  (b) full         `vits finetune --from PRETRAIN` (everything trains)
  (c) text-frozen  … `--freeze text-encoder` (the quickstart's default)
  (d) lora4/lora16 … `--lora-rank R --lora-alpha 2R --lora-targets dec,flow,dp` (the quickstart's LoRA)

Stages (each resumable: a finished stage leaves OUT/<name>/DONE and is skipped):

  python3 scripts/eval/finetune_study.py run --vits BIN --pretrain-data DATA_OTHERS --target-data DATA_TARGET \\
      --out OUT --pretrain-minutes 30 --minutes 10 [--variants scratch full text-frozen lora4 lora16]
  python3 scripts/eval/finetune_study.py score --vits BIN --target-data DATA_TARGET --out OUT [--png FILE]

`run` pretrains the quickstart's model on DATA_OTHERS (speakers other than the target: the target is
new to the base, as it is to a user fine-tuning a published voice) for --pretrain-minutes, then runs
every variant for --minutes of wall time one after another, each a single process (VITS_THREADS,
default 1), stopped by SIGUSR1 (the trainer saves a checkpoint and exits). Checkpoints every 250
steps. Give each variant the same machine: nothing else heavy may start or stop during `run`, or the
comparison is off (the step counts in the table show it).
`score` runs `vits evaluate` (9 held-out target sentences against the recordings) on every
checkpoint of every variant and writes OUT/study.json, OUT/study.md (table: steps reached, trainable
parameters, checkpoint size, final figures) and the curves (MCD against wall time).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "recipes", "quickstart", "configs")
VARIANTS = {
    "scratch": [],
    "full": [],
    "text-frozen": ["--freeze", "text-encoder"],
    "lora4": ["--lora-rank", "4", "--lora-alpha", "8", "--lora-targets", "dec,flow,dp"],
    "lora16": ["--lora-rank", "16", "--lora-alpha", "32", "--lora-targets", "dec,flow,dp"],
}
CADENCE = {"max_steps": 1000000, "checkpoint_interval": 250, "keep_last": 1000, "eval_interval": 250,
           "sample_interval": 1000000, "log_interval": 50}


def write_config(source, path, n_speakers=None):
    config = json.load(open(source))
    config["train"].update(CADENCE)
    if n_speakers is not None:
        config["data"]["n_speakers"] = n_speakers
    json.dump(config, open(path, "w"), indent=2, ensure_ascii=False)
    return path


def timed(cmd, seconds, log, threads):
    """Runs cmd for `seconds` of wall time, then SIGUSR1 (checkpoint and exit). Returns the seconds it ran."""
    env = dict(os.environ, VITS_THREADS=str(threads))
    start = time.time()
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            proc.wait()
    if proc.returncode != 0:
        sys.exit(f"{cmd[1]} exited with {proc.returncode}; see {log}")
    return time.time() - start


def stage(out, name, seconds, cmd, threads):
    folder = os.path.join(out, name)
    done = os.path.join(folder, "DONE")
    if os.path.exists(done):
        print(f"{name}: done ({open(done).read().strip()}), skipping")
        return
    print(f"{name}: {seconds / 60:.1f} min: {' '.join(cmd)}", flush=True)
    load = os.getloadavg()
    ran = timed(cmd, seconds, os.path.join(out, name + ".log"), threads)
    steps = newest_step(os.path.join(folder, "run"))
    with open(done, "w") as f:
        f.write(f"{steps} steps in {ran:.0f} s; load before {load[0]:.2f} after {os.getloadavg()[0]:.2f}\n")
    print(f"{name}: {steps} steps in {ran:.0f} s", flush=True)


def newest_step(run):
    folder = os.path.join(run, "checkpoints")
    steps = [int(m.group(1)) for n in os.listdir(folder) if (m := re.fullmatch(r"step-0*(\d+)", n))] if os.path.isdir(folder) else []
    return max(steps, default=0)


def run_study(args):
    os.makedirs(args.out, exist_ok=True)
    pre = os.path.join(args.out, "pretrain")
    os.makedirs(pre, exist_ok=True)
    speakers = len(json.load(open(os.path.join(args.pretrain_data, "speakers.json")))["speakers"])
    pre_conf = write_config(os.path.join(QUICKSTART, "pretrain.json"), os.path.join(args.out, "pretrain.json"))
    stage(args.out, "pretrain", args.pretrain_minutes * 60,
          [args.vits, "train", "--config", pre_conf, "--data", args.pretrain_data, "--run", os.path.join(pre, "run")], args.threads)
    ft_conf = write_config(os.path.join(QUICKSTART, "finetune.json"), os.path.join(args.out, "finetune.json"), n_speakers=speakers)
    scratch_conf = write_config(os.path.join(QUICKSTART, "pretrain.json"), os.path.join(args.out, "scratch.json"))
    for name in args.variants:
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        run = os.path.join(folder, "run")
        if name == "scratch":
            cmd = [args.vits, "train", "--config", scratch_conf, "--data", args.target_data, "--run", run]
        else:
            cmd = [args.vits, "finetune", "--from", os.path.join(pre, "run"), "--config", ft_conf,
                   "--data", args.target_data, "--run", run] + VARIANTS[name]
        stage(args.out, name, args.minutes * 60, cmd, args.threads)


def evaluate(vits, run, step, data, extra=()):
    out = subprocess.run([vits, "evaluate", "--voice", run, "--step", str(step), "--data", data, "--json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def parameters(log):
    """(generator parameters, trainable) from the trainer's `model: generator N parameters (M trainable)` line."""
    for line in open(log):
        m = re.search(r"generator (\d+) parameters \((\d+) trainable\)", line)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None, None


def step_times(run):
    """step → seconds since the run's first logged line (training wall time), from metrics.jsonl."""
    rows = [json.loads(l) for l in open(os.path.join(run, "logs", "metrics.jsonl"))]
    t0 = min(r["time"] for r in rows if "time" in r)
    first = min(r["step"] for r in rows)
    # The first logged step came after `first` steps of work: extrapolate the start back to step 0.
    t_first = min(r["time"] for r in rows if r["step"] == first)
    later = [r for r in rows if r["step"] > first]
    rate = (max(r["time"] for r in later) - t_first) / (max(r["step"] for r in later) - first) if later else 0
    start = t0 - first * rate
    return {int(r["step"]): r["time"] - start for r in rows if r.get("kind") == "validation"}, start


def checkpoint_bytes(run, step):
    folder = os.path.join(run, "checkpoints", f"step-{step:08d}")
    return {n: os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)}


def score(args):
    results = {}
    for name in ["pretrain"] + list(VARIANTS):
        run = os.path.join(args.out, name, "run")
        if not os.path.isdir(run):
            continue
        cache = os.path.join(args.out, name, "scores.json")
        scores = json.load(open(cache)) if os.path.exists(cache) else {}
        ckpts = sorted(int(m.group(1)) for n in os.listdir(os.path.join(run, "checkpoints")) if (m := re.fullmatch(r"step-0*(\d+)", n)))
        times, _ = step_times(run)
        for step in ckpts:
            if str(step) not in scores and (name != "pretrain" or step == ckpts[-1]):
                print(f"{name} step {step}", flush=True)
                # The base has never seen the target: it speaks with its speaker 0 (the fine-tunes' starting row).
                extra = ["--voice-speaker", "0"] if name == "pretrain" else []
                scores[str(step)] = evaluate(args.vits, run, step, args.target_data, extra)
                json.dump(scores, open(cache, "w"), indent=1)
        total, trainable = parameters(os.path.join(args.out, name + ".log"))
        last = ckpts[-1]
        results[name] = {"steps": last, "done": open(os.path.join(args.out, name, "DONE")).read().strip(),
                         "parameters": total, "trainable": trainable, "checkpoint_bytes": checkpoint_bytes(run, last),
                         "scores": {int(k): v for k, v in scores.items()},
                         "seconds_at_step": {s: t for s, t in times.items()}}
    json.dump(results, open(os.path.join(args.out, "study.json"), "w"), indent=1)
    lines = ["| start | steps in the budget | trainable / all generator parameters | checkpoint files (MB) | MCD dB | log-F0 cents | V/UV | duration |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        s = r["scores"][r["steps"]]
        sizes = ", ".join(f"{n} {b / 1e6:.1f}" for n, b in sorted(r["checkpoint_bytes"].items()) if b > 100000)
        lines.append(f"| {name} | {r['steps']} | {r['trainable']:,} / {r['parameters']:,} | {sizes} | {s['mcd_db']:.2f} | "
                     f"{s['logf0_rmse_cents']:.0f} | {100 * s['vuv_err']:.1f} % | {s['dur_ratio']:.2f} |")
    open(os.path.join(args.out, "study.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        for name, r in results.items():
            if name == "pretrain":
                continue
            steps = sorted(r["scores"])
            ax[0].plot(steps, [r["scores"][s]["mcd_db"] for s in steps], marker="o", label=name)
            ax[1].plot(steps, [r["scores"][s]["logf0_rmse_cents"] for s in steps], marker="o", label=name)
        ax[0].set_xlabel("steps on the target speaker"); ax[0].set_ylabel("MCD-DTW (dB)")
        ax[1].set_xlabel("steps on the target speaker"); ax[1].set_ylabel("log-F0 RMSE (cents)")
        ax[0].legend(); ax[0].grid(alpha=0.3); ax[1].grid(alpha=0.3)
        fig.suptitle("Fine-tuning study: equal wall time per start (vits evaluate, 9 held-out sentences)")
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--pretrain-data", required=True)
    r.add_argument("--pretrain-minutes", type=float, default=30)
    r.add_argument("--minutes", type=float, default=10)
    r.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    r.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score")
    s.add_argument("--png")
    for p in (r, s):
        p.add_argument("--vits", default=os.path.join(ROOT, ".build", "release", "vits"))
        p.add_argument("--target-data", required=True)
        p.add_argument("--out", required=True)
    args = ap.parse_args()
    run_study(args) if args.command == "run" else score(args)


if __name__ == "__main__":
    main()
