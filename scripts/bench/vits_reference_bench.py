#!/usr/bin/env python3
"""PyTorch side of `vits bench model`, `vits bench synthesize --config` and `vits bench generator`,
for side-by-side numbers.

Runs a reference implementation (not part of this repository; give its checkout with --vits-repo) on
the same workloads as the Swift benchmarks: random weights, random data of the same shapes, same step
order (train.py), median of --runs after one warm-up.
- --repo-kind vits (default): jaywalnut310/vits (MIT), HiFi-GAN decoder;
- --repo-kind authors: MasayaKawamura/MB-iSTFT-VITS (Apache-2.0), the authors' iSTFT, MB-iSTFT and
  MS-iSTFT decoders (config keys istft_vits / mb_istft_vits / ms_istft_vits, subbands,
  gen_istft_n_fft, gen_istft_hop_size); its training step adds the sub-band STFT loss when
  mb_istft_vits is set (as their train_latest.py does), and its models return (o, o_mb, ...).

  python3 scripts/bench/vits_reference_bench.py --vits-repo /tmp/vits-ref model --config CONFIG.json --batch 4
  python3 scripts/bench/vits_reference_bench.py --vits-repo /tmp/vits-ref synthesize --config CONFIG.json --seconds 10
  python3 scripts/bench/vits_reference_bench.py --vits-repo /tmp/mbref --repo-kind authors \
      generator --config Tests/VITSTests/Fixtures/configs/authors_ljs_mb_istft_vits.json --seconds 1

Needs torch, numpy, librosa (pip). The reference's Cython `monotonic_align` is replaced by a numpy
version of the same algorithm, and the mel functions by torch.stft(return_complex=True) equivalents
(the reference's calls no longer run on current torch/librosa); both are outside the timed model math
except MAS, which is a small part of a step. The authors' 2022 code gets shims that change no math
(install_authors_shims): `Tensor.cuda(...)` returns the tensor (their PQMF and MS-iSTFT decoder move
buffers to CUDA), `scipy.signal.kaiser` is `scipy.signal.windows.kaiser` (moved in SciPy 1.13), and
`torch.stft` without `return_complex` returns the real/imaginary layout their stft_loss.py indexes.
Their decoders build a TorchSTFT and a PQMF (Kaiser filter design) on every forward call; that is
their code and stays inside the timed region.
"""
import argparse
import json
import os
import statistics
import sys
import time
import types

import numpy as np
import torch


def install_monotonic_align():
    """Numpy maximum_path with the reference's recurrence and backtrack (monotonic_align/core.pyx)."""
    module = types.ModuleType("monotonic_align")

    def maximum_path(neg_cent, mask):
        values = neg_cent.detach().cpu().numpy().astype(np.float32)
        path = np.zeros_like(values)
        frames = mask.sum(1)[:, 0].long().numpy()
        tokens = mask.sum(2)[:, 0].long().numpy()
        very_negative = np.float32(-1e9)
        for b in range(values.shape[0]):
            ty, tx = int(frames[b]), int(tokens[b])
            v = values[b]
            for y in range(ty):
                lo, hi = max(0, tx + y - ty), min(tx, y + 1)
                xs = np.arange(lo, hi)
                if y == 0:
                    current = np.where(xs == y, very_negative, 0)
                    previous = np.where(xs == 0, 0, very_negative)
                else:
                    current = np.where(xs == y, very_negative, v[y - 1, np.minimum(xs, tx - 1)])
                    previous = np.where(xs == 0, very_negative, v[y - 1, np.maximum(xs - 1, 0)])
                v[y, lo:hi] += np.maximum(previous, current)
            index = tx - 1
            for y in range(ty - 1, -1, -1):
                path[b, y, index] = 1
                if index != 0 and (index == y or v[y - 1, index] < v[y - 1, index - 1]):
                    index -= 1
        return torch.from_numpy(path).to(neg_cent.dtype)

    module.maximum_path = maximum_path
    sys.modules["monotonic_align"] = module


def install_authors_shims():
    """scripts/fixtures/mbistft_shims.py: the shims that let the authors' 2022 code run, same math."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures"))
    from mbistft_shims import install_authors_shims as install
    install()


def mel_functions(data):
    import librosa
    basis = torch.from_numpy(librosa.filters.mel(sr=data["sampling_rate"], n_fft=data["filter_length"],
                                                 n_mels=data["n_mel_channels"], fmin=data["mel_fmin"],
                                                 fmax=data.get("mel_fmax"))).float()
    n_fft, hop, win = data["filter_length"], data["hop_length"], data["win_length"]
    window = torch.hann_window(win)

    def spec_to_mel(spec):
        return torch.log(torch.clamp(torch.matmul(basis, spec), min=1e-5))

    def mel_of_audio(y):  # mel_spectrogram_torch of [B, N]
        y = torch.nn.functional.pad(y.unsqueeze(1), ((n_fft - hop) // 2, (n_fft - hop) // 2), mode="reflect").squeeze(1)
        s = torch.stft(y, n_fft, hop_length=hop, win_length=win, window=window, center=False, return_complex=True)
        s = torch.sqrt(s.real.pow(2) + s.imag.pow(2) + 1e-6)
        return spec_to_mel(s)

    return spec_to_mel, mel_of_audio


CPU_SECONDS = []


def median_time(fn, runs):
    """Median wall seconds of `runs` calls after a warm-up; their process CPU seconds go to CPU_SECONDS."""
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        CPU_SECONDS.append(time.process_time() - c0)
    return statistics.median(times)


def reference_discriminator(models, model_hps, extensions=None):
    """The reference MultiPeriodDiscriminator, narrowed the way SwiftVITS's config extensions narrow ours:
    model.discriminator_periods chooses the period discriminators (DiscriminatorS is always first) and
    model.discriminator_width_multiplier m scales every hidden channel count (and DiscriminatorS's
    groups, at least 1) by m. The reference modules and their forward code are kept; only their conv
    layers are rebuilt with the narrowed shapes (same kernels, strides, paddings, normalisation)."""
    import torch.nn as nn
    from torch.nn.utils import spectral_norm, weight_norm
    extensions = extensions or {}
    m = extensions.get("discriminator_width_multiplier", 1.0)
    periods = extensions.get("discriminator_periods", [2, 3, 5, 7, 11])
    use_sn = model_hps.get("use_spectral_norm", False)
    net = models.MultiPeriodDiscriminator(use_sn)
    net.discriminators = nn.ModuleList([models.DiscriminatorS(use_sn)] + [models.DiscriminatorP(p, use_spectral_norm=use_sn) for p in periods])
    if m == 1.0:
        return net
    norm = spectral_norm if use_sn else weight_norm

    def narrowed(conv, first):
        inner = conv
        c_in = conv.in_channels if first else int(conv.in_channels * m)
        c_out = conv.out_channels if conv.out_channels == 1 else int(conv.out_channels * m)
        groups = 1 if conv.groups == 1 else max(1, int(conv.groups * m))
        kind = type(inner)
        return norm(kind(c_in, c_out, inner.kernel_size, inner.stride, padding=inner.padding, groups=groups))

    for d in net.discriminators:
        d.convs = nn.ModuleList([narrowed(c, i == 0) for i, c in enumerate(d.convs)])
        d.conv_post = narrowed(d.conv_post, False)
    return net


def build_generator(models, hps, vocabulary):
    return models.SynthesizerTrn(vocabulary, hps["data"]["filter_length"] // 2 + 1,
                                 hps["train"]["segment_size"] // hps["data"]["hop_length"],
                                 n_speakers=hps["data"]["n_speakers"], **hps["model"])


def subband_loss_applies(hps):
    """Their train_latest.py adds the sub-band STFT loss for mb_istft_vits only (not ms_istft_vits)."""
    return bool(hps["model"].get("mb_istft_vits"))


def generator_forward(args, net_g, *inputs):
    """(y_hat, y_hat_mb or None, rest...) of SynthesizerTrn.forward for either repository."""
    out = net_g(*inputs)
    return out if args.repo_kind == "authors" else (out[0], None) + tuple(out[1:])


def bench_model(args, hps):
    import commons
    import models
    from losses import discriminator_loss, feature_loss, generator_loss, kl_loss
    subband_loss = None
    if args.repo_kind == "authors" and subband_loss_applies(hps):
        from losses import subband_stft_loss
        from pqmf import PQMF
        train_section = types.SimpleNamespace(**hps["train"])
        loss_hps = types.SimpleNamespace(train=train_section)

        def subband_loss(y, y_hat_mb):  # train_latest.py: PQMF analysis of the target segment, then the loss
            return subband_stft_loss(loss_hps, PQMF(y.device).analysis(y), y_hat_mb)
    torch.manual_seed(1234)
    t, data = hps["train"], hps["data"]
    hop, segment = data["hop_length"], t["segment_size"]
    net_g = build_generator(models, hps, args.vocabulary).train()
    net_d = reference_discriminator(models, hps["model"], hps.get("discriminator")).train()
    optim_g = torch.optim.AdamW(net_g.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    optim_d = torch.optim.AdamW(net_d.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    spec_to_mel, mel_of_audio = mel_functions(data)
    B, T, X = args.batch, args.frames, args.tokens
    frame_lengths = torch.tensor([T - 3 * b for b in range(B)])
    token_lengths = torch.tensor([max(1, X - 2 * b) for b in range(B)])
    x = torch.zeros(B, X, dtype=torch.long)
    for b in range(B):
        for i in range(int(token_lengths[b])):
            x[b, i] = 1 + (b * 7919 + i * 104729) % (args.vocabulary - 1)
    spec = torch.randn(B, data["filter_length"] // 2 + 1, T).abs()
    wav = torch.randn(B, 1, T * hop) * 0.1
    sid = torch.tensor([b % data["n_speakers"] for b in range(B)]) if data["n_speakers"] > 1 else None
    phases = {}

    def step():
        t0 = time.perf_counter()
        inputs = (x, token_lengths, spec, frame_lengths) + ((sid,) if sid is not None else ())
        y_hat, y_hat_mb, l_length, attn, ids_slice, x_mask, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q) = generator_forward(args, net_g, *inputs)
        mel = spec_to_mel(spec)
        y_mel = commons.slice_segments(mel, ids_slice, segment // hop)
        y_hat_mel = mel_of_audio(y_hat.squeeze(1))
        y = commons.slice_segments(wav, ids_slice * hop, segment)
        t1 = time.perf_counter()
        y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = discriminator_loss(y_d_hat_r, y_d_hat_g)
        optim_d.zero_grad()
        loss_disc.backward()
        optim_d.step()
        t2 = time.perf_counter()
        y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
        loss_dur = torch.sum(l_length.float())
        loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * t["c_mel"]
        loss_kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * t["c_kl"]
        loss_fm = feature_loss(fmap_r, fmap_g)
        loss_gen, _ = generator_loss(y_d_hat_g)
        loss_gen_all = loss_gen + loss_fm + loss_mel + loss_dur + loss_kl
        if subband_loss is not None:
            loss_gen_all = loss_gen_all + subband_loss(y, y_hat_mb)
        optim_g.zero_grad()
        loss_gen_all.backward()
        optim_g.step()
        t3 = time.perf_counter()
        phases.setdefault("all", []).append((t1 - t0, t2 - t1, t3 - t2))

    seconds = median_time(step, args.runs)
    g_forward, d_step, g_step = sorted(phases["all"][1:], key=sum)[len(phases["all"][1:]) // 2]
    return {"bench": "model-torch", "config": args.config, "batch": B, "frames": T, "tokens": X, "runs": args.runs,
            "seconds": seconds, "g_forward_seconds": g_forward, "d_step_seconds": d_step, "g_step_seconds": g_step,
            "repo_kind": args.repo_kind, "subband_loss": subband_loss is not None,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def bench_synthesize(args, hps):
    import models
    torch.manual_seed(1234)
    data = hps["data"]
    net_g = build_generator(models, hps, args.vocabulary).eval()
    rng = np.random.default_rng(99)
    ids = list(1 + rng.integers(0, args.vocabulary - 1, size=args.tokens))
    if data["add_blank"]:
        blanked = [0] * (2 * len(ids) + 1)
        blanked[1::2] = ids
        ids = blanked
    x = torch.tensor([ids], dtype=torch.long)
    lengths = torch.tensor([len(ids)])
    sid = torch.tensor([0]) if data["n_speakers"] > 1 else None

    def infer(length_scale):
        torch.manual_seed(7)
        with torch.inference_mode():
            o = net_g.infer(x, lengths, sid=sid, noise_scale=0.667, length_scale=length_scale, noise_scale_w=0.8)[0]
        return o.shape[-1] / data["sampling_rate"]

    first = infer(1.0)
    scale = args.seconds / max(first, 1e-3)
    audio = infer(scale)
    seconds = median_time(lambda: infer(scale), args.runs)
    return {"bench": "synthesize-torch", "config": args.config, "tokens": len(ids), "audio_seconds": audio, "runs": args.runs,
            "seconds": seconds, "realtime_factor": seconds / audio, "repo_kind": args.repo_kind,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def bench_generator(args, hps):
    """The decoder `dec` alone (inference, no gradients) on a random latent of --seconds of audio, as
    `vits bench generator` times it (same frame count: round(seconds · rate / hop))."""
    import models
    torch.manual_seed(1234)
    data, model = hps["data"], hps["model"]
    net_g = build_generator(models, hps, args.vocabulary).eval()
    dec = net_g.dec
    frames = max(1, int(round(args.seconds * data["sampling_rate"] / data["hop_length"])))
    z = torch.randn(args.batch, model["inter_channels"], frames)
    g = torch.randn(args.batch, model["gin_channels"], 1) if model.get("gin_channels", 0) > 0 else None

    def decode():
        with torch.inference_mode():
            dec(z, g=g)

    seconds = median_time(decode, args.runs)
    audio = frames * data["hop_length"] * args.batch / data["sampling_rate"]
    return {"bench": "generator-torch", "config": args.config, "decoder": type(dec).__name__, "frames": frames,
            "batch": args.batch, "audio_seconds": audio, "runs": args.runs, "seconds": seconds,
            "realtime_factor": seconds / audio, "repo_kind": args.repo_kind,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vits-repo", required=True,
                        help="checkout of jaywalnut310/vits, or of MasayaKawamura/MB-iSTFT-VITS with --repo-kind authors")
    parser.add_argument("--repo-kind", choices=["vits", "authors"], default="vits",
                        help="vits: jaywalnut310/vits (HiFi-GAN); authors: MasayaKawamura/MB-iSTFT-VITS (iSTFT decoders)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own, = cores)")
    sub = parser.add_subparsers(dest="bench", required=True)
    m = sub.add_parser("model")
    m.add_argument("--config", required=True)
    m.add_argument("--batch", type=int, default=4)
    m.add_argument("--frames", type=int, default=200)
    m.add_argument("--tokens", type=int, default=80)
    m.add_argument("--vocabulary", type=int, default=220)
    m.add_argument("--runs", type=int, default=3)
    s = sub.add_parser("synthesize")
    s.add_argument("--config", required=True)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--tokens", type=int, default=150)
    s.add_argument("--vocabulary", type=int, default=220)
    s.add_argument("--runs", type=int, default=3)
    g = sub.add_parser("generator")
    g.add_argument("--config", required=True)
    g.add_argument("--seconds", type=float, default=1.0)
    g.add_argument("--batch", type=int, default=1)
    g.add_argument("--vocabulary", type=int, default=220)
    g.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, args.vits_repo)
    install_monotonic_align()
    if args.repo_kind == "authors":
        install_authors_shims()
    with open(args.config) as f:
        hps = json.load(f)
    decoder_keys = ("istft_vits", "mb_istft_vits", "ms_istft_vits")
    if args.repo_kind == "authors" and not any(hps["model"].get(key) for key in decoder_keys):
        sys.exit(f"{args.config}: the authors' code needs one of model.{', model.'.join(decoder_keys)} set to true "
                 "(it has no HiFi-GAN decoder; run HiFi-GAN configs with --repo-kind vits)")
    if args.repo_kind == "vits" and any(hps["model"].get(key) for key in decoder_keys):
        sys.exit(f"{args.config}: an iSTFT decoder config; jaywalnut310/vits would silently build HiFi-GAN. "
                 "Give a checkout of MasayaKawamura/MB-iSTFT-VITS with --repo-kind authors")
    # SwiftVITS's discriminator extensions: taken out of the generator's keyword arguments here and
    # applied to the reference discriminator by reference_discriminator() (synthesis never uses it).
    hps["discriminator"] = {key: hps["model"].pop(key) for key in ("discriminator_width_multiplier", "discriminator_periods")
                            if key in hps["model"]}
    bench = {"model": bench_model, "synthesize": bench_synthesize, "generator": bench_generator}[args.bench]
    result = bench(args, hps)
    result["cpu_seconds"] = statistics.median(CPU_SECONDS)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
