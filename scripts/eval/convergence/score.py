#!/usr/bin/env python3
"""Score side-by-side convergence runs (ours: `vits train` run folders; the reference:
reference_run.py output folders) at every evaluated step, and draw the curves.

  python3 scripts/eval/convergence/score.py --vits .build/release/vits --data DATA \
      --ours RUN1 RUN2 --reference REF1 REF2 --steps 250 500 ... --out docs/convergence \
      [--scorer ../shared/tools/voice_eval/mcd.py]

For every step: ours speaks the validation utterances with `vits evaluate --voice RUN --step N
--save-dir` (noise 0.667 / 0.8, fixed seed); the reference's WAVs were written by reference_run.py
with the same noise scales. Both sets are scored against the recordings by `vits evaluate --pairs`
and, when --scorer is given, by the independent scorer (pyworld + pysptk). Validation mel L1 comes
from each run's metrics.jsonl (same definition on both sides). Writes OUT/convergence.json,
OUT/convergence.md (table) and OUT/convergence.png (curves: mel L1 and MCD against steps).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def metrics_by_step(path, kind=None):
    rows = {}
    for line in open(path):
        row = json.loads(line)
        if kind and row.get("kind") != kind:
            continue
        if "mel_l1" in row:
            rows[int(row["step"])] = row
    return rows


def ours_scores(vits, run, step, data, save):
    out = subprocess.run([vits, "evaluate", "--voice", run, "--step", str(step), "--data", data,
                          "--save-dir", save, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # JSON lines: one per utterance, then the means


def pair_scores(vits, synth, recordings):
    out = subprocess.run([vits, "evaluate", "--pairs", synth, recordings, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def scorer_scores(scorer, synth, recordings):
    if not scorer:
        return None
    out = subprocess.run([sys.executable, scorer, synth, recordings], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vits", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--ours", nargs="+", required=True)
    ap.add_argument("--reference", nargs="+", required=True)
    ap.add_argument("--steps", nargs="+", type=int, required=True)
    ap.add_argument("--scorer")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="convergence-")
    recordings = os.path.join(work, "recordings")
    os.makedirs(recordings)
    manifest = {json.loads(l)["id"]: json.loads(l) for l in open(os.path.join(a.data, "manifest.jsonl"))}
    for utterance_id in open(os.path.join(a.data, "validation.txt")).read().split():
        item = manifest[utterance_id]
        shutil.copy(os.path.join(a.data, item["wav"]), os.path.join(recordings, item["utterance"] + ".wav"))

    results = []
    for label, runs in (("ours", a.ours), ("reference", a.reference)):
        for run in runs:
            curve = metrics_by_step(os.path.join(run, "logs", "metrics.jsonl"), "validation") if label == "ours" \
                else metrics_by_step(os.path.join(run, "metrics.jsonl"))
            for step in a.steps:
                if label == "ours":
                    synth = os.path.join(work, os.path.basename(run.rstrip("/")), f"step-{step}")
                    scores = ours_scores(a.vits, run, step, a.data, synth)   # saves <utterance>.wav in synth
                else:
                    synth = os.path.join(run, f"step-{step}")
                    scores = pair_scores(a.vits, synth, recordings)
                row = {"trainer": label, "run": os.path.basename(run.rstrip("/")), "step": step,
                       "mel_l1": curve.get(step, {}).get("mel_l1"),
                       "ours_scorer": scores,
                       "independent_scorer": scorer_scores(a.scorer, synth, recordings)}
                results.append(row)
                ind = row["independent_scorer"] or {}
                print(f"{label:9s} {row['run']:12s} step {step:5d}  mel_l1 {row['mel_l1']}  "
                      f"MCD {row['ours_scorer']['mcd_db']:.2f} (scorer {ind.get('mcd_db', float('nan')):.2f})", flush=True)
    json.dump(results, open(os.path.join(a.out, "convergence.json"), "w"), indent=1)

    lines = ["| step | " + " | ".join(f"{r} mel L1 / MCD" for r in [os.path.basename(x.rstrip('/')) for x in a.ours + a.reference]) + " |",
             "|---|" + "---|" * (len(a.ours) + len(a.reference))]
    for step in a.steps:
        cells = []
        for run in a.ours + a.reference:
            row = next(r for r in results if r["step"] == step and r["run"] == os.path.basename(run.rstrip("/")))
            mcd = (row["independent_scorer"] or row["ours_scorer"])["mcd_db"]
            cells.append(f"{row['mel_l1']:.3f} / {mcd:.2f}" if row["mel_l1"] is not None else f"— / {mcd:.2f}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    open(os.path.join(a.out, "convergence.md"), "w").write("\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in a.ours + a.reference:
        name = os.path.basename(run.rstrip("/"))
        rows = [r for r in results if r["run"] == name]
        style = "-o" if rows[0]["trainer"] == "ours" else "--s"
        axes[0].plot([r["step"] for r in rows if r["mel_l1"] is not None], [r["mel_l1"] for r in rows if r["mel_l1"] is not None], style, label=name)
        axes[1].plot([r["step"] for r in rows], [(r["independent_scorer"] or r["ours_scorer"])["mcd_db"] for r in rows], style, label=name)
    axes[0].set_title("validation mel L1 (posterior path)")
    axes[1].set_title("MCD-DTW vs recordings, dB" + (" (independent scorer)" if a.scorer else ""))
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "convergence.png"), dpi=90)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
