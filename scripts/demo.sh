#!/usr/bin/env bash
# `make demo`: the main job. Until a voice exists it runs the audio → features path on a generated
# signal (a chirp WAV → 16 kHz resampled copy → VITS log-mel .npy) and says where it wrote its output.
set -euo pipefail
BIN=${1:-.build/release/vits}
cd "$(dirname "$0")/.."
mkdir -p out
"$BIN" audio chirp -o out/chirp.wav --seconds 2 --from 100 --to 8000
"$BIN" audio convert out/chirp.wav -o out/chirp-16k.wav --sample-rate 16000
"$BIN" features out/chirp.wav -o out/chirp-mel.npy --mel
echo "demo: outputs in $(pwd)/out/ — chirp.wav (22.05 kHz), chirp-16k.wav (resampled), chirp-mel.npy (log-mel, float32 [80, frames])"
