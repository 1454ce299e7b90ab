#!/usr/bin/env bash
# `make demo`: the main job. With the bundled voice (voices/demo/voice.json) it speaks a Chinese
# sentence into out/demo.wav and prints its path and real-time factor. Without one it runs the
# audio → features path on a generated signal (a chirp WAV → 16 kHz resampled copy → VITS log-mel .npy).
set -euo pipefail
BIN=${1:-.build/release/vits}
cd "$(dirname "$0")/.."
mkdir -p out
if [[ -f voices/demo/voice.json ]]; then
    TEXT="欢迎使用这个语音合成工具。这段话完全在本机上合成，不需要联网。"
    # synthesize reports "PATH: audio A s, wall W s, real-time factor R (…)" on stderr.
    REPORT=$("$BIN" synthesize --voice voices/demo --text "$TEXT" -o out/demo.wav 2>&1 >/dev/null) || { echo "$REPORT" >&2; exit 1; }
    echo "$REPORT"
    echo "demo: wrote $(pwd)/out/demo.wav — \"$TEXT\" spoken by voices/demo (see voices/demo/README.md)"
else
    "$BIN" audio chirp -o out/chirp.wav --seconds 2 --from 100 --to 8000
    "$BIN" audio convert out/chirp.wav -o out/chirp-16k.wav --sample-rate 16000
    "$BIN" features out/chirp.wav -o out/chirp-mel.npy --mel
    echo "demo: no demo voice is bundled yet (voices/demo/voice.json is missing), so this ran the audio → features path instead."
    echo "demo: outputs in $(pwd)/out/ — chirp.wav (22.05 kHz), chirp-16k.wav (resampled), chirp-mel.npy (log-mel, float32 [80, frames])"
fi
