#!/usr/bin/env python3
"""Agreement of `vits evaluate --pairs` with the acceptance scorer (mcd.py: pyworld + pysptk).

  scripts/eval/compare_with_scorer.py --data DATA_DIR [--speaker target_male] [--utterances 3]
      [--voice voices/demo ...] [--vits .build/release/vits] [--scorer PATH/mcd.py] [--work DIR]

Builds pairs against the recordings of the data folder's first N validation utterances of SPEAKER
that span 0-15 dB: the recording itself; espeak-ng voice variants reading the same sentence (the
speakers of datasets/synthetic-mandarin/generate.sh); the recording with white noise at 20, 5 and
0 dB SNR; a time-stretched and a pitch-shifted copy (librosa); and each --voice speaking the text. Then
runs both scorers on the same folders and prints per pair ours, theirs and the difference for MCD,
log-F0 RMSE and V/UV, the largest |delta MCD|, and whether the two rank the pairs and the
conditions (means over utterances) the same way. Exit status 1 when a pair is off by more than
--tolerance dB (default 0.5) or the condition ranking differs.

Needs: numpy soundfile pyworld pysptk librosa "setuptools<81" (for mcd.py), espeak-ng.
Only a check of the toolkit: the product never runs Python.
"""
import argparse, json, os, shutil, subprocess, sys
import numpy as np, soundfile as sf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# name, espeak-ng variant, pitch, speed, amplitude: the generator's speaker table
VARIANTS = [("male_low", "m1", 52, 150, 60), ("female_high", "f2", 80, 170, 60),
            ("male_fast", "m7", 65, 185, 60), ("female_mid", "f4", 65, 160, 60)]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def speech_lines():
    out = run(["bash", os.path.join(ROOT, "datasets/synthetic-mandarin/generate.sh"), "--print-speech"]).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def json_rows(text):
    rows = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
    return {r["name"]: r for r in rows if "name" in r}


def find_scorer():
    for base in (os.path.join(ROOT, ".."), os.path.join(ROOT, "..", ".."), "/work"):
        p = os.path.join(base, "shared/tools/voice_eval/mcd.py")
        if os.path.exists(p):
            return os.path.abspath(p)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--speaker", default="target_male")
    ap.add_argument("--utterances", type=int, default=3)
    ap.add_argument("--voice", action="append", default=[])
    ap.add_argument("--vits", default=os.path.join(ROOT, ".build/release/vits"))
    ap.add_argument("--scorer", default=find_scorer())
    ap.add_argument("--work", default="/tmp/vits-eval-compare")
    ap.add_argument("--tolerance", type=float, default=0.5)
    a = ap.parse_args()
    if not a.scorer:
        sys.exit("cannot find mcd.py; pass --scorer")

    manifest = {}
    with open(os.path.join(a.data, "manifest.jsonl")) as f:
        for line in f:
            e = json.loads(line); manifest[e["id"]] = e
    ids = [l.strip() for l in open(os.path.join(a.data, "validation.txt")) if l.strip()]
    ids = [i for i in ids if manifest[i]["speaker"] == a.speaker][: a.utterances]
    if not ids:
        sys.exit(f"no validation utterances of {a.speaker} in {a.data}")
    lines = speech_lines()

    synth, ref = os.path.join(a.work, "synth"), os.path.join(a.work, "ref")
    shutil.rmtree(a.work, ignore_errors=True); os.makedirs(synth); os.makedirs(ref)
    tmp = os.path.join(a.work, "tmp"); os.makedirs(tmp)
    rng = np.random.default_rng(1234)
    for uid in ids:
        e = manifest[uid]; u = e["utterance"]
        recording = os.path.join(a.data, e["wav"])
        x, sr = sf.read(recording, dtype="float64")

        def pair(kind, path_or_signal, rate=None):
            name = f"{kind}__{u}.wav"
            shutil.copy(recording, os.path.join(ref, name))
            if isinstance(path_or_signal, str):
                shutil.copy(path_or_signal, os.path.join(synth, name))
            else:
                sf.write(os.path.join(synth, name), np.clip(path_or_signal, -1, 1), rate, subtype="PCM_16")

        pair("identical", recording)
        for name, variant, pitch, speed, amp in VARIANTS:
            out = os.path.join(tmp, f"{name}_{u}.wav")
            run(["espeak-ng", "-v", f"cmn-latn-pinyin+{variant}", "-p", str(pitch), "-s", str(speed), "-a", str(amp),
                 "-w", out, lines[u]])
            pair(f"espeak_{name}", out)
        power = np.mean(x ** 2)
        for snr in (20, 5, 0):
            noise = rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (snr / 10))
            pair(f"noise_snr{snr}", x + noise, sr)
        import librosa   # phase-vocoder time stretch and pitch shift
        pair("tempo_1.25", librosa.effects.time_stretch(x, rate=1.25), sr)
        pair("pitch_+4st", librosa.effects.pitch_shift(x, sr=sr, n_steps=4), sr)
        for v in a.voice:
            out = os.path.join(tmp, f"voice_{os.path.basename(v.rstrip('/'))}_{u}.wav")
            run([a.vits, "synthesize", "--voice", v, "--speaker", a.speaker, "--text", e["text"], "-o", out])
            pair("voice_" + os.path.basename(v.rstrip("/")), out)

    ours = json_rows(run([a.vits, "evaluate", "--pairs", synth, ref, "--json"]).stdout)
    theirs = json_rows(run([sys.executable, a.scorer, synth, ref]).stdout)
    names = sorted(theirs)
    print(f"{'pair':36s} {'MCD ours':>9s} {'scorer':>7s} {'delta':>6s}   {'F0 ours':>7s} {'scorer':>7s}   {'VUV ours':>8s} {'scorer':>6s}")
    deltas = []
    for n in names:
        o, t = ours[n], theirs[n]
        d = o["mcd_db"] - t["mcd_db"]; deltas.append(abs(d))
        print(f"{n:36s} {o['mcd_db']:9.3f} {t['mcd_db']:7.3f} {d:+6.3f}   {o['logf0_rmse_cents']:7.1f} {t['logf0_rmse_cents']:7.1f}"
              f"   {o['vuv_err']:8.3f} {t['vuv_err']:6.3f}")
    kinds = sorted({n.split("__")[0] for n in names})
    mean = lambda rows, k: float(np.mean([rows[n]["mcd_db"] for n in names if n.startswith(k + "__")]))
    print(f"\n{'condition (mean over utterances)':36s} {'ours':>9s} {'scorer':>7s} {'delta':>6s}")
    for k in sorted(kinds, key=lambda k: mean(theirs, k)):
        print(f"{k:36s} {mean(ours, k):9.3f} {mean(theirs, k):7.3f} {mean(ours, k) - mean(theirs, k):+6.3f}")
    rank_ours = sorted(kinds, key=lambda k: mean(ours, k)); rank_theirs = sorted(kinds, key=lambda k: mean(theirs, k))
    pair_rank_ours = np.argsort(np.argsort([ours[n]["mcd_db"] for n in names]))
    pair_rank_theirs = np.argsort(np.argsort([theirs[n]["mcd_db"] for n in names]))
    spearman = float(np.corrcoef(pair_rank_ours, pair_rank_theirs)[0, 1])
    print(f"\npairs: {len(names)}, MCD range (scorer) {min(theirs[n]['mcd_db'] for n in names):.2f}-"
          f"{max(theirs[n]['mcd_db'] for n in names):.2f} dB, max |delta MCD| {max(deltas):.3f} dB, mean |delta| {np.mean(deltas):.3f} dB")
    print(f"condition ranking identical: {rank_ours == rank_theirs}; per-pair Spearman rank correlation {spearman:.4f}")
    ok = max(deltas) <= a.tolerance and rank_ours == rank_theirs
    print("AGREEMENT: " + ("within" if ok else "NOT within") + f" +/-{a.tolerance} dB with the same condition ranking")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
