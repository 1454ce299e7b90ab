#!/usr/bin/env python3
"""Side-by-side timing of the reference PyTorch VITS (developer tool; the product never runs Python).

Times, on the same workloads as `vits bench model` / `vits bench synthesize --config`:
  * one full training step (D forward/backward/AdamW, then G forward/backward/AdamW, as train.py),
  * synthesis real-time factor with random weights.

The reference code is not part of this repository: pass a checkout of jaywalnut310/vits with
--reference. Its Cython monotonic_align is replaced by a numpy implementation written here (same
recursion), so nothing needs compiling.

  python3 scripts/bench/vits_torch.py --reference /path/to/vits --config CONFIG.json step --batch 4
  python3 scripts/bench/vits_torch.py --reference /path/to/vits --config CONFIG.json synth --seconds 10
"""
import argparse, json, statistics, sys, time, types

import numpy as np


def maximum_path_numpy(neg_cent, mask):
    """Monotonic alignment search (the reference recursion, float32, ties toward the diagonal move)."""
    import torch
    value = neg_cent.detach().cpu().numpy().astype(np.float32)
    b, t_y, t_x = value.shape
    path = np.zeros_like(value, dtype=np.float32)
    ty_max = mask.sum(1)[:, 0].cpu().numpy().astype(np.int64)
    tx_max = mask.sum(2)[:, 0].cpu().numpy().astype(np.int64)
    neg_inf = np.float32(-1e9)
    for k in range(b):
        ty, tx = int(ty_max[k]), int(tx_max[k])
        v = value[k].copy()
        for y in range(ty):
            for x in range(max(0, tx + y - ty), min(tx, y + 1)):
                cur = neg_inf if x == y else v[y - 1, x]
                prev = (np.float32(0) if (x == 0 and y == 0) else neg_inf) if x == 0 else v[y - 1, x - 1]
                v[y, x] += max(prev, cur)
        index = tx - 1
        for y in range(ty - 1, -1, -1):
            path[k, y, index] = 1
            if index != 0 and (index == y or v[y - 1, index] < v[y - 1, index - 1]):
                index -= 1
    return torch.from_numpy(path).to(neg_cent.device)


def load_reference(path):
    sys.path.insert(0, path)
    fake = types.ModuleType("monotonic_align")
    fake.maximum_path = maximum_path_numpy
    sys.modules["monotonic_align"] = fake
    import models, commons, losses, mel_processing  # noqa: E402
    import librosa, torch
    # Compatibility shims for current librosa/torch (no change to the maths, as the fixtures' README notes):
    # librosa >= 0.10 takes keyword arguments only; torch.stft needs return_complex.
    mel_processing.librosa_mel_fn = lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    original_stft = torch.stft
    def stft(*a, **k):
        if k.get("return_complex") is None:
            k["return_complex"] = True
            return torch.view_as_real(original_stft(*a, **k))
        return original_stft(*a, **k)
    mel_processing.torch.stft = stft
    return models, commons, losses, mel_processing


class HParams(dict):
    def __getattr__(self, k):
        v = self[k]
        return HParams(v) if isinstance(v, dict) else v


def build(refs, hps, vocabulary):
    models = refs[0]
    model = {k: v for k, v in hps["model"].items() if not k.startswith("discriminator_")}
    n_speakers = hps["data"].get("n_speakers", 0)
    net_g = models.SynthesizerTrn(vocabulary, hps["data"]["filter_length"] // 2 + 1,
                                  hps["train"]["segment_size"] // hps["data"]["hop_length"], n_speakers=n_speakers, **model)
    net_d = models.MultiPeriodDiscriminator(model.get("use_spectral_norm", False))
    return net_g, net_d


def batch(hps, batch_size, frames, tokens, vocabulary, torch):
    g = torch.Generator().manual_seed(1)
    hop = hps["data"]["hop_length"]
    frame_lengths = torch.tensor([frames - 3 * b for b in range(batch_size)])
    token_lengths = torch.tensor([max(1, tokens - 2 * b) for b in range(batch_size)])
    x = torch.zeros(batch_size, tokens, dtype=torch.long)
    for b in range(batch_size):
        for i in range(int(token_lengths[b])):
            x[b, i] = 1 + (b * 7919 + i * 104729) % (vocabulary - 1)
    spec = torch.randn(batch_size, hps["data"]["filter_length"] // 2 + 1, frames, generator=g).abs()
    wav = torch.randn(batch_size, 1, frames * hop, generator=g) * 0.1
    return x, token_lengths, spec, frame_lengths, wav


def step_time(refs, hps, args, torch):
    models, commons, losses, mel_processing = refs
    net_g, net_d = build(refs, hps, args.vocabulary)
    net_g.train(); net_d.train()
    t = hps["train"]; d = hps["data"]
    opt_g = torch.optim.AdamW(net_g.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    opt_d = torch.optim.AdamW(net_d.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    x, x_len, spec, spec_len, wav = batch(hps, args.batch, args.frames, args.tokens, args.vocabulary, torch)
    sid = torch.zeros(args.batch, dtype=torch.long) if d.get("n_speakers", 0) > 1 else None
    seg = t["segment_size"] // d["hop_length"]

    def one():
        y_hat, l_length, attn, ids_slice, x_mask, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q) = \
            net_g(x, x_len, spec, spec_len, sid) if sid is not None else net_g(x, x_len, spec, spec_len)
        mel = mel_processing.spec_to_mel_torch(spec, d["filter_length"], d["n_mel_channels"], d["sampling_rate"], d["mel_fmin"], d["mel_fmax"])
        y_mel = commons.slice_segments(mel, ids_slice, seg)
        y_hat_mel = mel_processing.mel_spectrogram_torch(y_hat.squeeze(1), d["filter_length"], d["n_mel_channels"], d["sampling_rate"],
                                                         d["hop_length"], d["win_length"], d["mel_fmin"], d["mel_fmax"])
        y = commons.slice_segments(wav, ids_slice * d["hop_length"], t["segment_size"])
        y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = losses.discriminator_loss(y_d_hat_r, y_d_hat_g)
        opt_d.zero_grad(); loss_disc.backward(); opt_d.step()
        y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
        loss = (torch.sum(l_length.float()) + torch.nn.functional.l1_loss(y_mel, y_hat_mel) * t["c_mel"]
                + losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * t["c_kl"]
                + losses.feature_loss(fmap_r, fmap_g) + losses.generator_loss(y_d_hat_g)[0])
        opt_g.zero_grad(); loss.backward(); opt_g.step()

    one()  # warm-up
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter(); one(); times.append(time.perf_counter() - t0)
    return {"bench": "model_step_torch", "config": args.config, "batch": args.batch, "median_seconds": statistics.median(times),
            "threads": torch.get_num_threads(), "generator_parameters": sum(p.numel() for p in net_g.parameters()),
            "discriminator_parameters": sum(p.numel() for p in net_d.parameters())}


def synth_time(refs, hps, args, torch):
    net_g, _ = build(refs, hps, args.vocabulary)
    net_g.eval()
    hop, sr = hps["data"]["hop_length"], hps["data"]["sampling_rate"]
    frames = int(args.seconds * sr / hop)
    # Drive the decoder and flow at exactly `frames` frames: the same latent length on both sides.
    z = torch.randn(1, hps["model"]["inter_channels"], frames)
    mask = torch.ones(1, 1, frames)
    times = []
    with torch.no_grad():
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            z_dec = net_g.flow(z, mask, g=None, reverse=True)
            audio = net_g.dec(z_dec * mask, g=None)
            if i: times.append(time.perf_counter() - t0)
    seconds = audio.shape[-1] / sr
    return {"bench": "synthesize_torch", "config": args.config, "audio_seconds": seconds,
            "median_seconds": statistics.median(times), "rtf": statistics.median(times) / seconds, "threads": torch.get_num_threads()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", required=True, help="checkout of jaywalnut310/vits")
    p.add_argument("--config", required=True)
    p.add_argument("--vocabulary", type=int, default=220)
    p.add_argument("--runs", type=int, default=3)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("step"); s.add_argument("--batch", type=int, default=4)
    s.add_argument("--frames", type=int, default=200); s.add_argument("--tokens", type=int, default=80)
    y = sub.add_parser("synth"); y.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    import torch
    refs = load_reference(args.reference)
    hps = json.load(open(args.config))
    out = step_time(refs, hps, args, torch) if args.what == "step" else synth_time(refs, hps, args, torch)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
