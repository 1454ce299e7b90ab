#!/usr/bin/env bash
# CI-sized end-to-end check of the quickstart recipe: runs run.sh --ci in a temporary folder
# (2 speakers x 20 sentences, a few training steps) and verifies every stage's outputs, that the
# audio holds sound (vits audio stats --require-sound), the resume of an extended training budget,
# that a re-run skips every stage, and that a second fresh run gives byte-identical corpus, weights
# and voice (reproducibility).
#
#   recipes/quickstart/ci-check.sh [--keep] [--exp DIR]
#
# Needs espeak-ng and a release vits with every recipe command (VITS=... or .build/release/vits,
# built by run.sh when missing). Exit status 0 when every check passed; the failures are listed.
# The whole script is one block, so bash reads it completely before running it: editing or
# updating this file (git pull) while a long run is in progress cannot change what is running.
{
set -euo pipefail
export LC_ALL=C.UTF-8

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keep=0 ; exp=""
while [ $# -gt 0 ]; do
    case "$1" in
        --keep) keep=1; shift ;;
        --exp) [ $# -ge 2 ] || { echo "ci-check.sh: --exp needs a folder" >&2; exit 2; }; exp="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ci-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$exp" ]; then
    exp="$(mktemp -d "${TMPDIR:-/tmp}/quickstart-ci.XXXXXX")"
    [ "$keep" = 1 ] || trap 'rm -rf "$exp"' EXIT
fi
mkdir -p "$exp"
exp="$(cd "$exp" && pwd)"
if [ -n "$(ls -A "$exp")" ]; then
    echo "ci-check.sh: $exp is not empty; the check needs a new or empty folder (it verifies a run from scratch)" >&2
    exit 2
fi
log="$exp/ci-check.log"
VITS_BIN="${VITS:-$HERE/../../.build/release/vits}"   # what run.sh uses (it builds it when missing)

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local what="$1"; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }

# A PCM WAV: RIFF/WAVE magic, a sample rate field equal to $2, and more than $3 bytes of samples.
wav_ok() {
    local f="$1" rate="$2" min_bytes="$3"
    [ -f "$f" ] || return 1
    [ "$(head -c 4 "$f")" = RIFF ] && [ "$(dd if="$f" bs=1 skip=8 count=4 2>/dev/null)" = WAVE ] || return 1
    [ "$(od -An -tu4 -j24 -N4 "$f" | tr -d ' ')" = "$rate" ] || return 1
    [ "$(stat -c %s "$f")" -gt $((44 + min_bytes)) ]
}
count_files() { find "$1" -maxdepth 1 -name "$2" -type f | wc -l; }
checkpoint_ok() {   # RUN STEP
    local d; d="$1/checkpoints/$(printf 'step-%08d' "$2")"
    for f in generator.safetensors discriminator.safetensors optimizer-g.safetensors optimizer-d.safetensors state.json; do
        [ -s "$d/$f" ] || return 1
    done
}
# A finite validation mel L1 at STEP in RUN/logs/metrics.jsonl.
validation_ok() {
    grep '"kind":"validation"' "$1/logs/metrics.jsonl" | grep "\"step\":$2[,}]" \
        | grep -E '"mel_l1":[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?[,}]' >/dev/null
}
train_lines() { grep -c '"kind":"train"' "$1/logs/metrics.jsonl"; }

echo "quickstart CI check in $exp (log: $log)"
start=$(date +%s)

# 1. Stages 1-4 with a pretraining budget of 2 steps, then the whole recipe (4 pretraining steps):
#    stage 4 must resume from the step-2 checkpoint instead of starting again.
if ! "$HERE/run.sh" --ci --exp "$exp" --stop-stage 4 --max-steps-pretrain 2 > "$log" 2>&1; then
    tail -n 30 "$log"; echo "FAIL run.sh --ci --stop-stage 4 --max-steps-pretrain 2 (see $log)"; exit 1
fi
check "pretrain stopped at its 2-step budget" checkpoint_ok "$exp/pretrain" 2
if ! "$HERE/run.sh" --ci --exp "$exp" >> "$log" 2>&1; then
    tail -n 30 "$log"; echo "FAIL run.sh --ci (see $log)"; exit 1
fi
check "pretrain resumed from step 2" grep -E "resuming .*pretrain.* at step 2|resuming $exp/pretrain from step 2" "$log"

# Stage 1: corpus.
for spk in target_male male_low; do
    check "corpus: $spk has 20 WAVs and the label file" \
        test "$(count_files "$exp/corpus/$spk/Wave" '*.wav')" = 20 -a -s "$exp/corpus/$spk/ProsodyLabeling/000001-010000.txt"
done
check "corpus: 48 kHz audio" wav_ok "$exp/corpus/target_male/Wave/000001.wav" 48000 48000

# Stage 2: data folders.
check "data/pretrain: 40 utterances" test "$(wc -l < "$exp/data/pretrain/manifest.jsonl")" = 40
check "data/target_male: 20 utterances" test "$(wc -l < "$exp/data/target_male/manifest.jsonl")" = 20
check "data/pretrain: target_male is speaker 0" \
    bash -c "tr -d ' \n' < '$exp/data/pretrain/speakers.json' | grep '{\"id\":0,\"name\":\"target_male\"'"
check "data: 22.05 kHz WAVs" wav_ok "$exp/data/target_male/wavs/target_male/000001.wav" 22050 22050

# Stage 3: doctor reports.
for d in pretrain target_male; do
    check "doctor: $d has no fatal problems" grep -q "no fatal problems" "$exp/doctor/$d.txt"
done

# Stage 4: pretraining run.
check "pretrain: checkpoint at step 4 (weights, optimizers, state)" checkpoint_ok "$exp/pretrain" 4
check "pretrain: frozen config with n_speakers 2" grep -E '"n_speakers"[[:space:]]*:[[:space:]]*2' "$exp/pretrain/config.json"
check "pretrain: 4 train lines in metrics.jsonl (one curve across the resume)" test "$(train_lines "$exp/pretrain")" = 4
check "pretrain: validation mel L1 at step 4" validation_ok "$exp/pretrain" 4
check "pretrain: probe samples at step 4" test "$(count_files "$exp/pretrain/samples/step-00000004" '*.wav')" -ge 1
check "pretrain: TensorBoard event file" test -n "$(find "$exp/pretrain/logs" -name 'events.out.tfevents.*' -size +0)"

# Stage 5: fine-tune run.
check "finetune: checkpoint at step 3" checkpoint_ok "$exp/finetune" 3
check "finetune: provenance is a fine-tune of the pretrained run" \
    bash -c "sed 's#\\\\/#/#g' '$exp/finetune/provenance.json' | tr -d ' \n' | grep -E '\"kind\":\"finetune\".*\"parent\":\"$exp/pretrain\"'"
check "finetune: kept the pretrained speaker table (n_speakers 2)" grep -E '"n_speakers"[[:space:]]*:[[:space:]]*2' "$exp/finetune/config.json"
check "finetune: validation mel L1 at step 2" validation_ok "$exp/finetune" 2
check "finetune: probe samples at step 3" test "$(count_files "$exp/finetune/samples/step-00000003" '*.wav')" -ge 1

# Stage 6: voice bundle.
check "voice: voice.json and model.safetensors" test -s "$exp/voice/voice.json" -a -s "$exp/voice/model.safetensors"
check "voice: speaker target_male listed" grep -q target_male "$exp/voice/voice.json"

# Stage 7: samples from the sentence file (5 sentences).
n_sentences="$(grep -cv '^[[:space:]]*\(#.*\)\?$' "$HERE/sentences.txt")"
check "samples: $n_sentences WAVs" test "$(count_files "$exp/samples" '*.wav')" = "$n_sentences"
for f in "$exp"/samples/*.wav; do
    check "samples: $(basename "$f") is a 22.05 kHz WAV with at least 0.1 s" wav_ok "$f" 22050 4410
done
# Sound, not just headers: no NaN/Inf, not constant, RMS without DC above -60 dBFS (vits audio stats).
check "samples and probe samples hold sound (no NaN/Inf, not constant, RMS >= -60 dBFS)" \
    "$VITS_BIN" audio stats --require-sound "$exp"/samples/*.wav "$exp"/pretrain/samples/step-00000004/*.wav \
    "$exp"/finetune/samples/step-00000003/*.wav
check "corpus and data WAVs hold sound" "$VITS_BIN" audio stats --require-sound \
    "$exp/corpus/target_male/Wave/000001.wav" "$exp/data/target_male/wavs/target_male/000001.wav"

# A re-run does no work: every stage is skipped.
rerun="$exp/rerun.log"
if "$HERE/run.sh" --ci --exp "$exp" > "$rerun" 2>&1; then
    check "re-run: all 7 stages skipped" test "$(grep -c 'skipped in' "$rerun")" = 7
else
    fail "re-run of run.sh --ci (see $rerun)"
fi

# Reproducibility: a second run from an empty folder, straight through (no stop at step 2), gives
# the same bytes: corpus WAVs, resampled data WAVs, every checkpoint tensor file of the last steps
# and the exported voice. (Spectrogram caches, manifests and logs hold paths and times and are not
# compared; the weights depend on them.)
again="$exp/again"
if "$HERE/run.sh" --ci --exp "$again" > "$exp/again.log" 2>&1; then
    same() {   # RELATIVE-PATH...
        local f
        for f in "$@"; do cmp -s "$exp/$f" "$again/$f" || { echo "differs: $f" >&2; return 1; }; done
    }
    wavs() { (cd "$exp" && find "$@" -name '*.wav' -type f | sort); }
    check "reproducible: corpus WAVs identical in a second fresh run" same $(wavs corpus)
    check "reproducible: data WAVs identical" same $(wavs data)
    for f in generator discriminator optimizer-g optimizer-d; do
        check "reproducible: pretrain step 4 $f identical" same "pretrain/checkpoints/step-00000004/$f.safetensors"
        check "reproducible: finetune step 3 $f identical" same "finetune/checkpoints/step-00000003/$f.safetensors"
    done
    check "reproducible: voice model.safetensors identical" same voice/model.safetensors
    check "reproducible: samples identical" same $(wavs samples)
else
    fail "second fresh run of run.sh --ci (see $exp/again.log)"
fi

echo "$((failures)) failure(s); $(( $(date +%s) - start )) s"
if [ "$failures" -gt 0 ]; then
    echo "--- last lines of $log:"; tail -n 40 "$log"
    [ "$keep" = 1 ] || echo "(re-run with --keep to keep $exp)"
    exit 1
fi
exit
}
