#!/usr/bin/env python3
"""Train the reference PyTorch VITS (jaywalnut310/vits, MIT; its checkout is given with --vits-repo and
is not part of this repository) on a data folder written by `vits prepare`, and record the same
validation figures `vits train` records, so the two trainers' curves can be laid side by side.

  python3 scripts/eval/convergence/reference_run.py --vits-repo /tmp/vits-ref \
      --data DATA --config CONFIG.json --steps 2000 --every 250 --seed 1 --out OUT

The step is the reference train.py's: a discriminator step on (y, y_hat.detach()), then the generator
losses through the updated discriminator (AdamW both; with `lr_decay_unit` "step" the lr
decays by lr_decay^(1/lr_decay_epoch_steps) every step, as our trainer reads it). The
discriminator is narrowed exactly as ours (`reference_discriminator` of vits_reference_bench.py).
Batches: every epoch a seeded shuffle of the training items, cut into batches of `batch_size`,
each batch sorted by length (the reference's bucket sampler is replaced by plain shuffling; the
effect on a 434-utterance corpus is small and the same for both seeds).

Resumable: OUT/checkpoint.pt (weights, optimizers, random states, the batch stream) is written every
--save-every steps; running the same command again continues from it.

Every --every steps (and at the end) it writes:
  OUT/metrics.jsonl  {"step", "mel_l1", "kl"}: mel L1 and KL of the posterior path on the first
                     `validation_items` validation utterances at least one segment long, with a
                     fixed noise seed — the definition of `vits train`'s validation (VITSTrainingTask.validate).
  OUT/step-N/*.wav   every validation utterance spoken from its tokens (noise 0.667, noise_w 0.8,
                     length 1, fixed seed), for `vits evaluate --pairs` and the scorer.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import vits_reference_bench as bench  # noqa: E402  (shims and the narrowed reference discriminator)


def load_wav(path):
    import soundfile
    audio, rate = soundfile.read(path, dtype="float32")
    return torch.from_numpy(audio), rate


def linear_spectrogram(y, data):
    """The reference's spectrogram_torch (reflect pad (n_fft-hop)/2, |STFT| with +1e-6 under the root)."""
    n_fft, hop, win = data["filter_length"], data["hop_length"], data["win_length"]
    padded = F.pad(y[None, None], ((n_fft - hop) // 2, (n_fft - hop) // 2), mode="reflect")[0]
    s = torch.stft(padded, n_fft, hop_length=hop, win_length=win, window=torch.hann_window(win),
                   center=False, return_complex=True)
    return torch.sqrt(s.real.pow(2) + s.imag.pow(2) + 1e-6)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vits-repo", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-every", type=int, default=50, help="checkpoint interval (the run resumes from OUT/checkpoint.pt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--measure-seeds", type=int, nargs="+",
                    help="only measure: the saved checkpoint's validation mel L1 with each of these noise seeds "
                         "(how much the fixed-noise figure itself depends on the draw), then exit")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    sys.path.insert(0, a.vits_repo)
    bench.install_monotonic_align()
    import commons
    import models
    from losses import discriminator_loss, feature_loss, generator_loss, kl_loss

    hps = json.load(open(a.config))
    t, data = hps["train"], hps["data"]
    hps["data"]["n_speakers"] = 0
    extensions = {k: hps["model"].pop(k) for k in list(hps["model"]) if k.startswith("discriminator_")}
    assert hps["model"].pop("decoder", "hifigan") == "hifigan", "the reference trains the HiFi-GAN decoder only"
    hop, segment = data["hop_length"], t["segment_size"]
    symbols = json.load(open(os.path.join(a.data, "inventory.json")))["symbols"]
    items = [json.loads(line) for line in open(os.path.join(a.data, "manifest.jsonl"))]
    validation_ids = open(os.path.join(a.data, "validation.txt")).read().split()
    by_id = {i["id"]: i for i in items}

    def prepare(item):
        y, rate = load_wav(os.path.join(a.data, item["wav"]))
        assert rate == data["sampling_rate"], f"{item['wav']}: {rate} Hz, config says {data['sampling_rate']}"
        tokens = commons.intersperse(list(item["tokens"]), 0) if data["add_blank"] else list(item["tokens"])
        return torch.LongTensor(tokens), linear_spectrogram(y, data), y

    train = [prepare(i) for i in items if i["id"] not in set(validation_ids)]
    validation = [(by_id[v], prepare(by_id[v])) for v in validation_ids]
    print(f"train {len(train)}, validation {len(validation)}, symbols {len(symbols)}", flush=True)

    torch.manual_seed(a.seed)
    shuffle = random.Random(a.seed)
    net_g = bench.build_generator(models, hps, len(symbols)).train()
    net_d = bench.reference_discriminator(models, hps["model"], extensions).train()
    optim_g = torch.optim.AdamW(net_g.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    optim_d = torch.optim.AdamW(net_d.parameters(), t["learning_rate"], betas=t["betas"], eps=t["eps"])
    spec_to_mel, mel_of_audio = bench.mel_functions(data)
    print(f"G {sum(p.numel() for p in net_g.parameters())} parameters, D {sum(p.numel() for p in net_d.parameters())}", flush=True)

    def collate(batch):
        batch = sorted(batch, key=lambda z: -z[1].shape[1])
        token_lengths = torch.LongTensor([len(z[0]) for z in batch])
        frame_lengths = torch.LongTensor([z[1].shape[1] for z in batch])
        x = torch.zeros(len(batch), int(token_lengths.max()), dtype=torch.long)
        spec = torch.zeros(len(batch), batch[0][1].shape[0], int(frame_lengths.max()))
        wav = torch.zeros(len(batch), 1, int(frame_lengths.max()) * hop)
        for k, (tokens, s, w) in enumerate(batch):
            x[k, :len(tokens)] = tokens
            spec[k, :, :s.shape[1]] = s
            n = min(len(w), s.shape[1] * hop)
            wav[k, 0, :n] = w[:n]
        return x, token_lengths, spec, frame_lengths, wav

    class Batches:
        """Seeded shuffle per epoch, cut into batches; its state is saved with the checkpoint."""
        def __init__(self):
            self.order, self.position = [], 0

        def next(self):
            if self.position + t["batch_size"] > len(self.order):
                self.order = list(range(len(train)))
                shuffle.shuffle(self.order)
                self.position = 0
            picked = self.order[self.position:self.position + t["batch_size"]]
            self.position += t["batch_size"]
            return collate([train[i] for i in picked])

    def with_fixed_noise(seed, fn):
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        try:
            return fn()
        finally:
            torch.set_rng_state(state)

    def validate(step, noise_seed=0x5EED0001, record_it=True):
        net_g.eval()
        usable = [p for _, p in validation if p[1].shape[1] >= segment // hop][:t.get("validation_items", 8)]
        mel_sum = kl_sum = count = 0.0

        def posterior_losses():
            nonlocal mel_sum, kl_sum, count
            for start in range(0, len(usable), t["batch_size"]):
                x, xl, spec, sl, _ = collate(usable[start:start + t["batch_size"]])
                y_hat, _, _, ids, _, z_mask, (_, z_p, m_p, logs_p, _, logs_q) = net_g(x, xl, spec, sl)
                y_mel = commons.slice_segments(spec_to_mel(spec), ids, segment // hop)
                mel_sum += float(F.l1_loss(y_mel, mel_of_audio(y_hat.squeeze(1)))) * len(xl)
                kl_sum += float(kl_loss(z_p, logs_q, m_p, logs_p, z_mask)) * len(xl)
                count += len(xl)

        def speak():
            import soundfile
            folder = os.path.join(a.out, f"step-{step}")
            os.makedirs(folder, exist_ok=True)
            for item, (tokens, _, _) in validation:
                audio = net_g.infer(tokens[None], torch.LongTensor([len(tokens)]), noise_scale=0.667,
                                    noise_scale_w=0.8, length_scale=1.0)[0][0, 0]
                soundfile.write(os.path.join(folder, item["utterance"] + ".wav"), audio.numpy(), data["sampling_rate"], subtype="PCM_16")

        with torch.no_grad():
            with_fixed_noise(noise_seed, posterior_losses)
            if not record_it:
                net_g.train()
                return mel_sum / count
            with_fixed_noise(0x5EED0003, speak)
        net_g.train()
        record = {"step": step, "mel_l1": mel_sum / count, "kl": kl_sum / count, "time": time.time()}
        with open(os.path.join(a.out, "metrics.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"validation step {step}: mel_l1 {record['mel_l1']:.4f} kl {record['kl']:.4f}", flush=True)

    os.makedirs(a.out, exist_ok=True)
    # Our trainer spreads the reference's per-epoch decay over lr_decay_epoch_steps steps (VITSConfig).
    step_gamma = t["lr_decay"] ** (1 / max(1, t.get("lr_decay_epoch_steps", 1))) if t.get("lr_decay_unit") == "step" else 1.0
    stream = Batches()
    checkpoint = os.path.join(a.out, "checkpoint.pt")
    first = 1
    if os.path.exists(checkpoint):  # resume: weights, optimizers, lr, every random state, the batch stream
        saved = torch.load(checkpoint, weights_only=False)
        net_g.load_state_dict(saved["net_g"]); net_d.load_state_dict(saved["net_d"])
        optim_g.load_state_dict(saved["optim_g"]); optim_d.load_state_dict(saved["optim_d"])
        torch.set_rng_state(saved["torch_rng"]); shuffle.setstate(saved["shuffle"])
        stream.order, stream.position = saved["order"], saved["position"]
        first = saved["step"] + 1
        print(f"resuming at step {first}", flush=True)
    if a.measure_seeds:
        for seed in a.measure_seeds:
            print(f"step {first - 1} noise seed {seed}: validation mel_l1 {validate(first - 1, seed, False):.4f}", flush=True)
        return

    def save(step):
        state = {"step": step, "net_g": net_g.state_dict(), "net_d": net_d.state_dict(),
                 "optim_g": optim_g.state_dict(), "optim_d": optim_d.state_dict(),
                 "torch_rng": torch.get_rng_state(), "shuffle": shuffle.getstate(),
                 "order": stream.order, "position": stream.position}
        torch.save(state, checkpoint + ".tmp")
        os.replace(checkpoint + ".tmp", checkpoint)

    started, done_before = time.time(), first - 1
    for step in range(first, a.steps + 1):
        x, xl, spec, sl, wav = stream.next()
        y_hat, l_length, _, ids, _, z_mask, (_, z_p, m_p, logs_p, _, logs_q) = net_g(x, xl, spec, sl)
        y_mel = commons.slice_segments(spec_to_mel(spec), ids, segment // hop)
        y_hat_mel = mel_of_audio(y_hat.squeeze(1))
        y = commons.slice_segments(wav, ids * hop, segment)
        real, fake, _, _ = net_d(y, y_hat.detach())
        loss_d, _, _ = discriminator_loss(real, fake)
        optim_d.zero_grad()
        loss_d.backward()
        optim_d.step()
        real, fake, fmap_real, fmap_fake = net_d(y, y_hat)
        loss_mel = F.l1_loss(y_mel, y_hat_mel) * t["c_mel"]
        loss_g = (generator_loss(fake)[0] + feature_loss(fmap_real, fmap_fake) + loss_mel
                  + torch.sum(l_length.float()) + kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * t["c_kl"])
        optim_g.zero_grad()
        loss_g.backward()
        optim_g.step()
        for optimizer in (optim_g, optim_d):
            for group in optimizer.param_groups:
                group["lr"] *= step_gamma
        if step % 50 == 0:
            rate = (step - done_before) / (time.time() - started)
            print(f"step {step}  mel {float(loss_mel):.2f}  d {float(loss_d):.3f}  {rate:.2f} steps/s", flush=True)
        if step % a.every == 0 or step == a.steps:
            validate(step)
        if step % a.save_every == 0 or step % a.every == 0 or step == a.steps:
            save(step)


if __name__ == "__main__":
    main()
