#!/usr/bin/env bash
# SwiftVITS vs the reference PyTorch VITS (and librosa), interleaved, refusing a loaded machine.
# All options go to scripts/bench/compare.py (see its --help); e.g.
#   scripts/bench/compare.sh --vits-repo /tmp/vits-ref --rounds 5
#   scripts/bench/compare.sh --vits-repo /tmp/vits-ref --cores 1 --only train-tiny-sdp,synth-ljs
set -euo pipefail
exec python3 "$(dirname "$0")/compare.py" "$@"
