#!/usr/bin/env python3
"""Checks `vits export --format piper` against onnxruntime and piper-tts (docs/piper.md "Exporting").

For each voice: export it to NAME.onnx + NAME.onnx.json, speak the same token ids with
`vits synthesize --ids … --noise-scale 0 --noise-scale-w 0 --float32`, run the exported file in
onnxruntime and through piper-tts's `PiperVoice.load(...).phoneme_ids_to_audio(...)` with
noise_scale = noise_w = 0, and report the max abs difference of the waveforms (limit 1e-3).

Voices (built in --work from the repository's fixtures, except the demo voice):
  tiny        `vits import piper Tests/PiperImportTests/Fixtures/tiny.onnx` (stochastic duration
              predictor, one speaker); its export is also compared with the original tiny.onnx
  tiny-dp     tiny with a deterministic duration predictor (random weights, model.use_sdp false)
  tiny-ms     tiny with 3 speakers (random emb_g and speaker-conditioning weights, gin 16)
  tiny-nearest tiny with model.upsample_mode "nearest" (random odd upsampling kernels, one tap shorter);
              the export writes the box-summed kernels as plain ConvTranspose nodes
  run-ckpt    `vits import checkpoint tiny.ckpt` + an inventory.json: a run folder, exported with --run
  demo        --demo VOICE (a real voice bundle; Mandarin ids from `vits g2p --json`)

Usage:
  pip install onnxruntime onnx piper-tts          # checks only; the product never needs Python
  python3 scripts/eval/check_piper_export.py --demo voices/demo
Needs: numpy, onnxruntime, onnx, piper-tts (1.x); the vits binary (swift build -c release).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "PiperImportTests", "Fixtures")
LIMIT = 1e-3


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout


# --- safetensors (read/write, F32 only: what voice bundles store with --fp16 off) ---

def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{path}: {key} is {info['dtype']} (export the bundle without --fp16)"
        a, b = info["data_offsets"]
        out[key] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        data = np.ascontiguousarray(tensors[key], dtype="<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(tensors[key].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_wav_float(path):
    b = open(path, "rb").read()
    i, fmt = 12, None
    while i < len(b):
        cid, n = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", b[i + 8:i + 24])
        if cid == b"data":
            assert fmt and fmt[5] == 32, f"{path}: not a 32-bit float WAV"
            return np.frombuffer(b[i + 8:i + 8 + n], dtype="<f4")
        i += 8 + n + (n & 1)
    raise ValueError(f"{path}: no data chunk")


# --- voice variants built from the imported tiny voice ---

def derive(src, dst, rng, edit):
    """Copies bundle src to dst, letting edit(config, manifest, weights) change it."""
    shutil.copytree(src, dst)
    manifest = json.load(open(os.path.join(dst, "voice.json")))
    config = json.loads(manifest["config"])
    weights = read_safetensors(os.path.join(dst, "model.safetensors"))
    edit(config, manifest, weights, rng)
    manifest["config"] = json.dumps(config, indent=2)
    manifest["name"] = os.path.basename(dst)
    json.dump(manifest, open(os.path.join(dst, "voice.json"), "w"), indent=2)
    write_safetensors(os.path.join(dst, "model.safetensors"), weights)


def normal(rng, shape, fan_in):
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def to_deterministic(config, manifest, w, rng):
    hidden = config["model"]["hidden_channels"]
    f = 256  # SynthesizerTrn's DurationPredictor filter width
    for key in [k for k in w if k.startswith("dp.")]:
        del w[key]
    w["dp.conv_1.weight"] = normal(rng, (f, hidden, 3), hidden * 3)
    w["dp.conv_1.bias"] = normal(rng, (f,), 10)
    w["dp.norm_1.gamma"] = (1 + 0.1 * rng.standard_normal(f)).astype(np.float32)
    w["dp.norm_1.beta"] = (0.1 * rng.standard_normal(f)).astype(np.float32)
    w["dp.conv_2.weight"] = normal(rng, (f, f, 3), f * 3)
    w["dp.conv_2.bias"] = normal(rng, (f,), 10)
    w["dp.norm_2.gamma"] = (1 + 0.1 * rng.standard_normal(f)).astype(np.float32)
    w["dp.norm_2.beta"] = (0.1 * rng.standard_normal(f)).astype(np.float32)
    w["dp.proj.weight"] = normal(rng, (1, f, 1), f * 4)
    w["dp.proj.bias"] = np.array([1.0], dtype=np.float32)      # about e¹ ≈ 3 frames per token
    config["model"]["use_sdp"] = False


def to_multispeaker(config, manifest, w, rng, speakers=3, gin=16):
    m = config["model"]
    hidden, c0 = m["hidden_channels"], m["upsample_initial_channel"]
    w["emb_g.weight"] = rng.standard_normal((speakers, gin)).astype(np.float32)
    w["dec.cond.weight"] = normal(rng, (c0, gin, 1), gin)
    w["dec.cond.bias"] = normal(rng, (c0,), 10)
    layers = 4  # the flow's WN depth
    for i in (0, 2, 4, 6):
        v = normal(rng, (2 * hidden * layers, gin, 1), gin)
        w[f"flow.flows.{i}.enc.cond_layer.weight_v"] = v
        w[f"flow.flows.{i}.enc.cond_layer.weight_g"] = np.linalg.norm(v.reshape(v.shape[0], -1), axis=1).reshape(-1, 1, 1).astype(np.float32)
        w[f"flow.flows.{i}.enc.cond_layer.bias"] = normal(rng, (2 * hidden * layers,), 10)
    width = hidden  # the stochastic duration predictor's filter width is the hidden width
    w["dp.cond.weight"] = normal(rng, (width, gin, 1), gin)
    w["dp.cond.bias"] = normal(rng, (width,), 10)
    m["gin_channels"] = gin
    config["data"]["n_speakers"] = speakers
    manifest["speakers"] = [{"id": i, "name": f"speaker{i}"} for i in range(speakers)]


def to_nearest_upsampling(config, manifest, w, rng):
    m = config["model"]
    kernels = []
    for i, k in enumerate(m["upsample_kernel_sizes"]):
        odd = k - 1 if k % 2 == 0 else k
        cin, cout = w[f"dec.ups.{i}.weight_v"].shape[:2]     # weight-normed, g per input channel
        v = normal(rng, (cin, cout, odd), cout * odd)
        w[f"dec.ups.{i}.weight_v"] = v
        w[f"dec.ups.{i}.weight_g"] = np.linalg.norm(v.reshape(cin, -1), axis=1).reshape(-1, 1, 1).astype(np.float32)
        kernels.append(odd)
    m["upsample_kernel_sizes"] = kernels
    m["upsample_mode"] = "nearest"


# --- the comparisons ---

def ort_audio(onnx_path, ids, scales, sid=None):
    import onnxruntime
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feed = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(scales, dtype=np.float32)}
    if sid is not None:
        feed["sid"] = np.array([sid], dtype=np.int64)
    return session.run(None, feed)[0].squeeze()


def piper_audio(onnx_path, ids, length_scale, sid=None):
    from piper import PiperVoice
    from piper.config import SynthesisConfig
    voice = PiperVoice.load(onnx_path)
    cfg = SynthesisConfig(speaker_id=sid, length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    return np.asarray(voice.phoneme_ids_to_audio(ids, cfg)).squeeze()


def ours(vits, source, ids, length_scale, work, sid=None):
    out = os.path.join(work, "ours.wav")
    cmd = [vits, "synthesize", "--voice", source, "--ids", ",".join(map(str, ids)), "--noise-scale", "0",
           "--noise-scale-w", "0", "--length-scale", str(length_scale), "--float32", "-o", out]
    if sid is not None:
        cmd += ["--speaker", str(sid)]
    run(cmd)
    return read_wav_float(out)


def maxdiff(a, b):
    if a.shape != b.shape:
        return None
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def check(vits, label, source, flag, ids_list, work, speakers=(None,), original=None, rows=None):
    out_dir = os.path.join(work, label + "-piper")
    run([vits, "export", "--format", "piper", flag, source, "--out", out_dir, "--name", label])
    onnx_path = os.path.join(out_dir, label + ".onnx")
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    worst = 0.0
    for ids in ids_list:
        for sid in speakers:
            for length_scale in (1.0, 1.3):
                a = ours(vits, source, ids, length_scale, work, sid)
                b = ort_audio(onnx_path, ids, [0.0, length_scale, 0.0], sid)
                c = piper_audio(onnx_path, ids, length_scale, sid)
                d_ort, d_piper = maxdiff(a, b), maxdiff(a, c)
                line = {"voice": label, "source": flag, "ids": len(ids), "speaker": sid, "length_scale": length_scale,
                        "samples": [len(a), len(b), len(c)], "max_abs_ours_vs_onnxruntime": d_ort,
                        "max_abs_ours_vs_piper_tts": d_piper}
                if original is not None:
                    line["max_abs_export_vs_original_onnx"] = maxdiff(b, ort_audio(original, ids, [0.0, length_scale, 0.0], sid))
                print(json.dumps(line))
                rows.append(line)
                for key in ("max_abs_ours_vs_onnxruntime", "max_abs_ours_vs_piper_tts", "max_abs_export_vs_original_onnx"):
                    if key in line:
                        if line[key] is None:
                            worst = float("inf")
                        else:
                            worst = max(worst, line[key])
    # With noise (the voice's default scales): RandomNormalLike in the graph; durations stay those of
    # noise_w = 0 when only noise_scale is on, so the length must match ours.
    sid = speakers[0]
    ids = ids_list[0]
    noisy = ort_audio(onnx_path, ids, [0.667, 1.0, 0.0], sid)
    plain = ours(vits, source, ids, 1.0, work, sid)
    ok = noisy.shape == plain.shape and bool(np.isfinite(noisy).all()) and float(np.abs(noisy - plain).max()) > 0
    print(json.dumps({"voice": label, "noise_scale": 0.667, "samples": [len(noisy), len(plain)], "finite": bool(np.isfinite(noisy).all()),
                      "differs_from_noiseless": ok}))
    if not ok:
        worst = float("inf")
    # piper-tts's alignments: it marks the graph's one Ceil output (w_ceil) as a second output.
    from piper import PiperVoice
    from piper.config import SynthesisConfig
    aligned = PiperVoice.load(onnx_path, include_alignments=True)
    audio, per_id = aligned.phoneme_ids_to_audio(ids, SynthesisConfig(speaker_id=sid, noise_scale=0.0, noise_w_scale=0.0),
                                                 include_alignments=True)
    ok = per_id is not None and len(per_id) == len(ids) and int(per_id.sum()) == len(audio)
    print(json.dumps({"voice": label, "piper_alignments": per_id is not None, "ids": len(ids),
                      "aligned_samples": int(per_id.sum()) if per_id is not None else None, "samples": len(audio)}))
    if not ok:
        worst = float("inf")
    config = json.load(open(onnx_path + ".json"))
    if config.get("phoneme_type") == "espeak":
        # Piper speaks text with it: its own espeak-ng phonemes → ids → this graph.
        chunks = list(PiperVoice.load(onnx_path).synthesize("Hello there. How are you?"))
        n = sum(len(c.audio_float_array) for c in chunks)
        print(json.dumps({"voice": label, "piper_tts_text": "Hello there. How are you?", "sentences": len(chunks), "samples": n}))
        if n == 0:
            worst = float("inf")
    return worst


def mandarin_ids(vits, config_path, sentences):
    config = json.load(open(config_path))
    table, blank = config["phoneme_id_map"], config["swiftvits"]["add_blank"]
    out = []
    for s in sentences:
        tokens = json.loads(run([vits, "g2p", "--json", s]).splitlines()[0])["tokens"]
        ids = [table[t][0] for t in tokens]
        if blank:  # blanks (id 0) around and between the tokens, as the model was trained
            ids = [x for t in ids for x in (0, t)] + [0]
        out.append(ids)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vits", default=os.path.join(ROOT, ".build", "release", "vits"))
    ap.add_argument("--demo", help="a real voice bundle to check as well (e.g. voices/demo)")
    ap.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--json", help="write all rows here")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="piper-export-")
    os.makedirs(work, exist_ok=True)
    vits, rows, worst = args.vits, [], 0.0
    rng = np.random.default_rng(12)
    tiny_onnx = os.path.join(FIXTURES, "tiny.onnx")
    tiny = os.path.join(work, "tiny")
    if not os.path.exists(tiny):
        run([vits, "import", "piper", tiny_onnx, "--out", tiny])
    english = [[1, 0, 16, 0, 15, 0, 18, 0, 20, 0, 2],
               [1, 0, 20, 0, 14, 0, 3, 0, 17, 0, 22, 0, 19, 0, 6, 0, 3, 0, 15, 0, 2]]
    for label, edit in (("tiny-dp", to_deterministic), ("tiny-ms", to_multispeaker), ("tiny-nearest", to_nearest_upsampling)):
        if not os.path.exists(os.path.join(work, label)):
            derive(tiny, os.path.join(work, label), rng, edit)
    worst = max(worst, check(vits, "tiny", tiny, "--voice", english, work, original=tiny_onnx, rows=rows))
    worst = max(worst, check(vits, "tiny-dp", os.path.join(work, "tiny-dp"), "--voice", english, work, rows=rows))
    worst = max(worst, check(vits, "tiny-ms", os.path.join(work, "tiny-ms"), "--voice", english, work, speakers=(0, 1, 2), rows=rows))
    worst = max(worst, check(vits, "tiny-nearest", os.path.join(work, "tiny-nearest"), "--voice", english, work, rows=rows))
    # A run folder (vits import checkpoint) exported with --run.
    run_dir = os.path.join(work, "run-ckpt")
    if not os.path.exists(run_dir):
        run([vits, "import", "checkpoint", os.path.join(FIXTURES, "tiny.ckpt"), "--out", run_dir])
        table = json.load(open(tiny_onnx + ".json"))["phoneme_id_map"]
        n = json.load(open(os.path.join(run_dir, "config.json")))["model"].get("n_vocab") or 1 + max(i for v in table.values() for i in v)
        symbols = [f"<id {i}>" for i in range(n)]
        for p, ids in table.items():
            for i in ids:
                symbols[i] = p
        json.dump({"version": "piper:en-us", "symbols": symbols}, open(os.path.join(run_dir, "inventory.json"), "w"))
    worst = max(worst, check(vits, "run-ckpt", run_dir, "--run", english, work, rows=rows))
    if args.demo:
        demo = os.path.abspath(args.demo)
        probe = os.path.join(work, "demo-probe")
        run([vits, "export", "--format", "piper", "--voice", demo, "--out", probe, "--name", "demo"])
        ids = mandarin_ids(vits, os.path.join(probe, "demo.onnx.json"), ["今天天气很好。", "我们一起去公园散步吧！"])
        worst = max(worst, check(vits, "demo", demo, "--voice", ids, work, rows=rows))
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)
    print(f"worst max abs difference: {worst:.3g} (limit {LIMIT})")
    if not args.work:
        shutil.rmtree(work)
    sys.exit(0 if worst <= LIMIT else 1)


if __name__ == "__main__":
    main()
