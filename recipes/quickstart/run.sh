#!/usr/bin/env bash
# Quickstart recipe: from nothing to a fine-tuned male Mandarin voice on a 2-core CPU.
#
#   1 corpus      synthetic Mandarin corpus (espeak-ng voice variants, Biaobei layout, 48 kHz)
#   2 prepare     every speaker into data/pretrain, the target male speaker alone into data/target_male
#   3 doctor      check both data folders
#   4 pretrain    a tiny multi-speaker VITS (vits train)
#   5 finetune    on target_male from the pretrained run (vits finetune --from EXP/pretrain)
#   6 export      the fine-tuned voice bundle (vits export --fp16)
#   7 synthesize  a few Chinese sentences into EXP/samples/, then vits evaluate against the recordings (EXP/quality.txt)
#
# Every stage is idempotent: it skips when its output is complete and otherwise continues where it
# stopped (the training stages resume from their newest checkpoint). Re-run the same command after
# an interruption. See recipes/quickstart/README.md and docs/recipes.md.
# The whole script is one block, so bash reads it completely before running it: editing or
# updating this file (git pull) while a long run is in progress cannot change what is running.
{
set -euo pipefail
export LC_ALL=C.UTF-8

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET=target_male          # the generator's designated target male voice (always its first speaker)

usage() {
    cat <<EOF
Usage: recipes/quickstart/run.sh [--stage N] [--stop-stage M] [--exp DIR] [--ci] [options]

Stages (ESPnet style; each skips when its output is complete, re-running continues):
  1 corpus      datasets/synthetic-mandarin/generate.sh --out EXP/corpus
  2 prepare     vits prepare: every speaker -> EXP/data/pretrain, $TARGET -> EXP/data/$TARGET
  3 doctor      vits doctor on both data folders (reports in EXP/doctor/)
  4 pretrain    vits train    --config EXP/conf/pretrain.json --data EXP/data/pretrain --run EXP/pretrain
  5 finetune    vits finetune --from EXP/pretrain --data EXP/data/$TARGET --run EXP/finetune (everything trains)
  6 export      vits export --run EXP/finetune --out EXP/voice --fp16
  7 synthesize  vits synthesize --voice EXP/voice --speaker $TARGET: each line of the text file -> EXP/samples/NN.wav;
                then vits evaluate on the held-out target sentences -> EXP/quality.txt

Options:
  --stage N                first stage to run (default 1)
  --stop-stage M           last stage to run (default 7)
  --exp DIR                experiment folder (default: runs/quickstart in the repository)
  --speakers N             synthetic speakers, 1-6 (default 6; the first is always $TARGET)
  --limit K                sentences per speaker, 0 = all 443 (default 0)
  --jobs J                 parallel jobs for corpus generation (default 2)
  --max-steps-pretrain N   override train.max_steps of configs/pretrain.json
  --max-steps-finetune N   override train.max_steps of configs/finetune.json
  --freeze LIST            fine-tune freeze presets, comma-separated, or 'none' (default none: the
                           full fine-tune scored best at equal time, docs/training.md)
  --lora-rank R            fine-tune LoRA adapters of rank R instead of full weights (see README)
  --ranks N                train and fine-tune on N data-parallel ranks (mpirun -np N; batch_size per rank),
                           or set LAUNCH="mpirun -np N --hostfile FILE ..." for a cluster (docs/training.md)
  --text-file FILE         sentences for stage 7, one per line (default recipes/quickstart/sentences.txt)
  --ci                     CI size: 2 speakers x 20 sentences, 4 pretrain + 3 fine-tune steps,
                           every cadence shrunk so that each stage writes its outputs (also QUICKSTART_CI=1)
  -h, --help               this help

Environment:
  VITS   the vits binary (default .build/release/vits in the repository; built with
         'swift build -c release --product vits' when missing)

Examples:
  recipes/quickstart/run.sh                       # everything, about 20 minutes on 2 cores
  recipes/quickstart/run.sh --stage 4             # from pretraining on (resumes a stopped run)
  recipes/quickstart/run.sh --ci --exp /tmp/qs    # a few steps per stage (ci-check.sh)
EOF
}

RECIPE=quickstart
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"

stage=1 ; stop_stage=7 ; exp="" ; speakers=6 ; limit=0 ; jobs=2
max_steps_pretrain="" ; max_steps_finetune="" ; freeze="none" ; lora_rank=""
text_file="$HERE/sentences.txt" ; ci="${QUICKSTART_CI:-0}"
while [ $# -gt 0 ]; do
    common_arg "$@"
    if [ "$consumed" -gt 0 ]; then shift "$consumed"; continue; fi
    case "$1" in
        --speakers) need_value "$1" $#; speakers="$2"; shift 2 ;;
        --limit) need_value "$1" $#; limit="$2"; shift 2 ;;
        --jobs) need_value "$1" $#; jobs="$2"; shift 2 ;;
        --ci) ci=1; shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

check_common_args 7
is_count "$speakers" && [ "$speakers" -ge 1 ] && [ "$speakers" -le 6 ] || die "--speakers must be 1-6, got '$speakers'"
is_count "$limit" || die "--limit must be a number, got '$limit'"
[[ "$ci" == 0 || "$ci" == 1 ]] || die "QUICKSTART_CI must be 0 or 1, got '$ci'"
if [ "$ci" = 1 ]; then
    speakers=2 ; limit=20
    : "${max_steps_pretrain:=4}" ; : "${max_steps_finetune:=3}"
fi
[ -r "$text_file" ] || die "cannot read the sentence file '$text_file'"
text_file="$(cd "$(dirname "$text_file")" && pwd)/$(basename "$text_file")"

enter_experiment "$ROOT/runs/quickstart"

CORPUS="$EXP/corpus"
DATA_PRE="$EXP/data/pretrain"
DATA_FT="$EXP/data/$TARGET"
RUN_PRE="$EXP/pretrain"
RUN_FT="$EXP/finetune"
VOICE="$EXP/voice"
SAMPLES="$EXP/samples"

# The speakers of the synthetic corpus in table order (the target first), limited to --speakers.
speaker_names() {
    datasets/synthetic-mandarin/generate.sh --list-speakers | awk 'NR>1{print $1}' | head -n "$speakers"
}

# In CI mode every cadence of the effective configs (EXP/conf/) is shrunk so that a few steps still
# validate, render samples and checkpoint: `ci_keys MAX_STEPS` lists them for effective_config.
ci_keys() {
    if [ "$ci" = 1 ]; then
        echo log_interval 1 eval_interval 2 checkpoint_interval 2 sample_interval "$1" validation_items 2
    fi
}

log "experiment folder: $EXP (speakers $speakers, limit $limit, ci $ci); stages $stage-$stop_stage"
[ "$ci" = 0 ] || log "CI mode: $speakers speakers x $limit sentences, $max_steps_pretrain pretrain + $max_steps_finetune fine-tune steps"

# ----------------------------------------------------------------------------------------------
if in_range 1; then
    begin_stage 1 corpus
    sig="speakers=$speakers limit=$limit sentences=$(sha256sum datasets/synthetic-mandarin/sentences.txt | cut -c1-16)"
    if marked 1 "$sig"; then
        log "corpus complete in $CORPUS ($sig), skipping"
        end_stage skipped
    else
        ensure_vits audio 1   # generate.sh resamples with 'vits audio convert'
        rc=0
        run datasets/synthetic-mandarin/generate.sh --out "$CORPUS" --speakers "$speakers" --limit "$limit" --jobs "$jobs" || rc=$?
        stop_if_interrupted 1
        [ "$rc" = 0 ] || die "stage 1: the corpus generator failed (exit $rc); re-run to continue"
        mark 1 "$sig"
        end_stage ran
    fi
fi

# ----------------------------------------------------------------------------------------------
if in_range 2; then
    begin_stage 2 prepare
    [ -f "$EXP/.stages/1" ] || die "stage 2 needs the corpus of stage 1 (run with --stage 1)"
    sig="$(cat "$EXP/.stages/1")"
    if marked 2 "$sig" && [ -f "$DATA_PRE/manifest.jsonl" ] && [ -f "$DATA_FT/manifest.jsonl" ]; then
        log "data folders complete ($DATA_PRE, $DATA_FT), skipping"
        end_stage skipped
    else
        ensure_vits prepare 2
        # Pretraining data: every speaker, the target first so that it has speaker id 0 in both
        # folders (the fine-tune keeps the pretrained speaker table and trains the target's row).
        for spk in $(speaker_names); do
            [ -d "$CORPUS/$spk" ] || die "stage 2: $CORPUS/$spk is missing; run stage 1 again"
            run "$VITS" prepare --corpus "biaobei:$CORPUS/$spk" --speaker "$spk" --out "$DATA_PRE"
            stop_if_interrupted 2
        done
        run "$VITS" prepare --corpus "biaobei:$CORPUS/$TARGET" --speaker "$TARGET" --out "$DATA_FT"
        stop_if_interrupted 2
        tr -d ' \n' < "$DATA_PRE/speakers.json" | grep "{\"id\":0,\"name\":\"$TARGET\"" >/dev/null \
            || die "stage 2: $TARGET is not speaker 0 in $DATA_PRE/speakers.json (the folder was prepared in another order); delete $DATA_PRE and run stage 2 again"
        mark 2 "$sig"
        end_stage ran
    fi
fi

# ----------------------------------------------------------------------------------------------
if in_range 3; then
    begin_stage 3 doctor
    [ -f "$DATA_PRE/manifest.jsonl" ] && [ -f "$DATA_FT/manifest.jsonl" ] || die "stage 3 needs the data folders of stage 2"
    doctor_stage 3 "$DATA_PRE" "$DATA_FT"
fi

if in_range 4; then
    begin_stage 4 pretrain
    [ -f "$DATA_PRE/manifest.jsonl" ] || die "stage 4 needs $DATA_PRE (stage 2)"
    # shellcheck disable=SC2046  # ci_keys prints KEY VALUE words
    effective_config "$HERE/configs/pretrain.json" "$EXP/conf/pretrain.json" "$max_steps_pretrain" $(ci_keys "$max_steps_pretrain")
    ensure_vits train 4
    train_stage 4 pretrain "$RUN_PRE" "$EXP/conf/pretrain.json" \
        "$VITS" train --config "$EXP/conf/pretrain.json" --data "$DATA_PRE" --run "$RUN_PRE"
fi

# ----------------------------------------------------------------------------------------------
if in_range 5; then
    begin_stage 5 finetune
    [ -f "$DATA_FT/manifest.jsonl" ] || die "stage 5 needs $DATA_FT (stage 2)"
    [ -f "$RUN_PRE/config.json" ] && [ "$(newest_step "$RUN_PRE")" -gt 0 ] || die "stage 5 needs the pretrained run $RUN_PRE (stage 4)"
    # Keep the pretrained speaker table: n_speakers of the parent run (its frozen config), so the
    # target (speaker 0 in both data folders) keeps its trained embedding and every conditioning
    # layer keeps its input. With n_speakers 0 the fine-tune data (one speaker) would make a
    # single-speaker model that drops the conditioning the pretrained layers learned with.
    parent_speakers="$(json_int "$RUN_PRE/config.json" n_speakers)"
    [ -n "$parent_speakers" ] || die "cannot read data.n_speakers from $RUN_PRE/config.json"
    # shellcheck disable=SC2046  # ci_keys prints KEY VALUE words
    effective_config "$HERE/configs/finetune.json" "$EXP/conf/finetune.json" "$max_steps_finetune" \
        n_speakers "$parent_speakers" $(ci_keys "$max_steps_finetune")
    finetune_stage 5 "$RUN_PRE" "$(json_int "$EXP/conf/pretrain.json" max_steps)" "$RUN_FT" "$EXP/conf/finetune.json" "$DATA_FT"
fi

# ----------------------------------------------------------------------------------------------
if in_range 6; then
    begin_stage 6 export
    step="$(newest_step "$RUN_FT")"
    [ "$step" -gt 0 ] || die "stage 6 needs a checkpoint in $RUN_FT (stage 5)"
    sig="run=$RUN_FT step=$step fp16"
    if marked 6 "$sig" && [ -f "$VOICE/voice.json" ]; then
        log "voice $VOICE is exported from step $step, skipping"
        end_stage skipped
    else
        ensure_vits export 6
        run "$VITS" export --run "$RUN_FT" --step latest --out "$VOICE" --fp16
        stop_if_interrupted 6
        [ -f "$VOICE/voice.json" ] || die "stage 6: vits export wrote no $VOICE/voice.json"
        mark 6 "$sig"
        du -sh "$VOICE" | sed 's/^/    /'
        end_stage ran
    fi
fi

# ----------------------------------------------------------------------------------------------
if in_range 7; then
    begin_stage 7 synthesize
    [ -f "$VOICE/voice.json" ] && [ -f "$EXP/.stages/6" ] || die "stage 7 needs the voice of stage 6 ($VOICE)"
    read_sentences "$text_file"
    sig="$(cat "$EXP/.stages/6") text=$(sha256sum "$text_file" | cut -c1-16)"
    if marked 7 "$sig"; then
        log "${#sentences[@]} samples are in $SAMPLES, skipping"
        end_stage skipped
    else
        synthesize_sentences 7 "$VOICE" "$SAMPLES" --speaker "$TARGET"
        # The voice's quality against the target's own recordings of the held-out sentences
        # (vits evaluate: MCD-DTW, log-F0 RMSE, V/UV, duration ratio; docs/evaluation.md).
        run "$VITS" evaluate --voice "$VOICE" --data "$DATA_FT" --speaker "$TARGET" --limit 8 > "$EXP/quality.txt" \
            || die "stage 7: vits evaluate failed (see $EXP/quality.txt)"
        sed 's/^/    /' "$EXP/quality.txt" | tail -n 3
        mark 7 "$sig"
        end_stage ran
    fi
fi

log "done: stages $stage-$stop_stage. Timings: $EXP/timings.tsv"
[ "$stop_stage" -lt 7 ] || log "samples: $SAMPLES/*.wav (voice: $VOICE); quality against the recordings: $EXP/quality.txt"
exit
}
