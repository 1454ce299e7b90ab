"""Side-by-side timing: the whole `vits features --mel` process vs librosa reading and computing the
same file (librosa.load + feature.melspectrogram + log), on a long WAV (default 10 minutes).
Developer tool (pip install librosa); the product never uses Python.

    python3 scripts/bench/features_vs_librosa.py .build/release/vits [--minutes 10] [--runs 7]

vits is timed as a whole process (start-up, WAV read, features, .npy write). librosa is timed inside
one warm Python process (imports, numba JIT and the first call excluded), which favours librosa.
Both wall time and CPU time (user + system, all threads) are reported: on a shared, busy machine
the CPU-time ratio is the stable one.
"""
import argparse, os, resource, subprocess, sys, tempfile, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("vits")
ap.add_argument("--minutes", type=float, default=10)
ap.add_argument("--runs", type=int, default=7)
ap.add_argument("--json", action="store_true", help="also print one JSON line with the medians (scripts/bench/compare.py reads it)")
args = ap.parse_args()

import librosa  # noqa: E402  (imported before timing)

sr, n_fft, hop, win, n_mels = 22050, 1024, 256, 1024, 80
with tempfile.TemporaryDirectory() as tmp:
    wav = os.path.join(tmp, "long.wav")
    subprocess.run([args.vits, "audio", "chirp", "-o", wav, "--seconds", str(args.minutes * 60),
                    "--from", "50", "--to", "10000"], check=True, capture_output=True)
    out = os.path.join(tmp, "mel.npy")
    cmd = [args.vits, "features", wav, "-o", out, "--mel", "--sample-rate", str(sr), "--n-fft", str(n_fft),
           "--hop-length", str(hop), "--win-length", str(win), "--n-mels", str(n_mels)]

    def children_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime

    def vits_once():
        t, c = time.perf_counter(), children_cpu()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t, children_cpu() - c

    def librosa_once():
        t, c = time.perf_counter(), time.process_time()
        y, _ = librosa.load(wav, sr=None)
        mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, win_length=win,
                                             n_mels=n_mels, fmin=0, fmax=sr / 2, power=1.0)
        np.log(np.maximum(mel, 1e-5))
        return time.perf_counter() - t, time.process_time() - c

    def median(values): return sorted(values)[len(values) // 2]

    vits_once(); librosa_once()  # warm-up: page cache, numba JIT
    v, l = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        v.append(vits_once()); l.append(librosa_once())
    frames = np.load(out).shape[1]
    print(f"{args.minutes:g} min WAV ({frames} frames), {args.runs} interleaved runs each (best / median):")
    for label, runs in ((f"vits features --mel (whole process)", v),
                        (f"librosa {librosa.__version__} load+melspectrogram+log", l)):
        print(f"  {label}: wall {min(r[0] for r in runs):.3f} / {median([r[0] for r in runs]):.3f} s, "
              f"cpu {min(r[1] for r in runs):.3f} / {median([r[1] for r in runs]):.3f} s")
    print(f"  speed-up (best): wall {min(r[0] for r in l) / min(r[0] for r in v):.1f}x, "
          f"cpu {min(r[1] for r in l) / min(r[1] for r in v):.1f}x; "
          f"(median): wall {median([r[0] for r in l]) / median([r[0] for r in v]):.1f}x, "
          f"cpu {median([r[1] for r in l]) / median([r[1] for r in v]):.1f}x")
    if args.json:
        import json
        print(json.dumps({"bench": "features-vs-librosa", "minutes": args.minutes, "runs": args.runs,
                          "vits_wall_median": median([r[0] for r in v]), "librosa_wall_median": median([r[0] for r in l]),
                          "vits_cpu_median": median([r[1] for r in v]), "librosa_cpu_median": median([r[1] for r in l])}))
