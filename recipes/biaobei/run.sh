#!/usr/bin/env bash
# Biaobei recipe: a reference-size VITS (ljs_base hyperparameters, stochastic duration predictor)
# pretrained on the Biaobei / CSMSC corpus at 22.05 kHz, then fine-tuned on a male voice you supply.
#
#   1 prepare     Biaobei -> EXP/data/biaobei (and the fine-tune corpus -> EXP/data/NAME)
#   2 doctor      check the data folders
#   3 pretrain    vits train, 700k steps, resumable (weeks)
#   4 finetune    vits finetune --from EXP/pretrain on the male data (needs --finetune-corpus)
#   5 export      voice bundles of both runs (vits export --fp16)
#   6 synthesize  a few Chinese sentences with each voice into EXP/samples/<voice>/
#
# Every stage is idempotent and re-running the same command continues where it stopped: the
# training stages resume bit-exactly from their newest checkpoint. See recipes/biaobei/README.md.
# The whole script is one block, so bash reads it completely before running it: editing or
# updating this file (git pull) while a long run is in progress cannot change what is running.
{
set -euo pipefail
export LC_ALL=C.UTF-8

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

usage() {
    cat <<EOF
Usage: recipes/biaobei/run.sh --corpus PATH [--finetune-corpus SPEC] [--stage N] [--stop-stage M] [options]

Stages (ESPnet style; each skips when its output is complete, re-running continues):
  1 prepare     vits prepare --corpus biaobei:PATH --speaker biaobei --out EXP/data/biaobei
                (and --finetune-corpus SPEC --out EXP/data/NAME)
  2 doctor      vits doctor on the data folders (reports in EXP/doctor/)
  3 pretrain    vits train --config EXP/conf/pretrain.json --data EXP/data/biaobei --run EXP/pretrain
  4 finetune    vits finetune --from EXP/pretrain --data EXP/data/NAME --run EXP/finetune-NAME --freeze text-encoder
  5 export      vits export --fp16: EXP/voices/biaobei (pretrained) and EXP/voices/NAME (fine-tuned)
  6 synthesize  each line of the text file with each voice -> EXP/samples/<voice>/NN.wav

Options:
  --corpus PATH            the Biaobei corpus folder (ProsodyLabeling/000001-010000.txt + Wave/);
                           needed by stage 1
  --finetune-corpus SPEC   the male voice to fine-tune on, one speaker, in any form vits prepare
                           reads: biaobei:DIR, ljspeech:DIR (English!) or filelist:FILE (path|speaker|text)
  --finetune-name NAME     name of the fine-tune data, run and voice (default male)
  --stage N / --stop-stage M   stages to run (default 1 to 6)
  --exp DIR                experiment folder (default: runs/biaobei in the repository)
  --pretrain-config FILE   training config (default recipes/biaobei/configs/pretrain.json)
  --finetune-config FILE   fine-tune config (default recipes/biaobei/configs/finetune.json)
  --max-steps-pretrain N   override train.max_steps (700000) of the pretraining config
  --max-steps-finetune N   override train.max_steps (700000) of the fine-tune config
  --freeze LIST            fine-tune freeze presets, comma-separated, or 'none' (default text-encoder)
  --lora-rank R            fine-tune LoRA adapters of rank R instead (for a few minutes of data)
  --ranks N                train and fine-tune on N data-parallel ranks (mpirun -np N; batch_size per rank),
                           or set LAUNCH="mpirun -np N --hostfile FILE ..." for a cluster (docs/training.md)
  --export-step S          checkpoint to export: best (default), latest or a step number
  --text-file FILE         sentences for stage 6 (default recipes/quickstart/sentences.txt)
  -h, --help               this help

Environment:
  VITS   the vits binary (default .build/release/vits; built with
         'swift build -c release --product vits' when missing)

Examples:
  recipes/biaobei/run.sh --corpus /data/BZNSYP --stop-stage 2          # prepare + check (minutes)
  nohup recipes/biaobei/run.sh --corpus /data/BZNSYP --finetune-corpus filelist:/data/male/list.txt \\
      > runs/biaobei.log 2>&1 &                                        # the whole thing; re-run to resume
  recipes/biaobei/run.sh --stage 5 --export-step latest                # export what is there now
EOF
}

RECIPE=biaobei
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"

stage=1 ; stop_stage=6 ; exp="" ; corpus="" ; ft_corpus="" ; ft_name=male
pretrain_config="$HERE/configs/pretrain.json" ; finetune_config="$HERE/configs/finetune.json"
max_steps_pretrain="" ; max_steps_finetune="" ; freeze="text-encoder" ; lora_rank="" ; export_step=best
text_file="$ROOT/recipes/quickstart/sentences.txt"
while [ $# -gt 0 ]; do
    common_arg "$@"
    if [ "$consumed" -gt 0 ]; then shift "$consumed"; continue; fi
    case "$1" in
        --corpus) need_value "$1" $#; corpus="$2"; shift 2 ;;
        --finetune-corpus) need_value "$1" $#; ft_corpus="$2"; shift 2 ;;
        --finetune-name) need_value "$1" $#; ft_name="$2"; shift 2 ;;
        --pretrain-config) need_value "$1" $#; pretrain_config="$2"; shift 2 ;;
        --finetune-config) need_value "$1" $#; finetune_config="$2"; shift 2 ;;
        --export-step) need_value "$1" $#; export_step="$2"; shift 2 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
check_common_args 6
[[ "$ft_name" =~ ^[A-Za-z0-9_-]+$ ]] || die "--finetune-name must be letters, digits, _ or -, got '$ft_name'"
[[ "$export_step" =~ ^(best|latest|[0-9]+)$ ]] || die "--export-step must be best, latest or a step number, got '$export_step'"
[ "$ft_name" != biaobei ] || die "--finetune-name must differ from 'biaobei' (the pretraining data)"

# Absolute paths from the caller's directory, then run from the repository root.
absolute() { if [[ "$1" = /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }
for f in "$pretrain_config" "$finetune_config" "$text_file"; do [ -r "$f" ] || die "cannot read '$f'"; done
pretrain_config="$(absolute "$pretrain_config")" ; finetune_config="$(absolute "$finetune_config")"
text_file="$(absolute "$text_file")"
if [ -n "$corpus" ]; then
    [ -d "$corpus" ] || die "--corpus $corpus is not a folder"
    corpus="$(cd "$corpus" && pwd)"
fi
if [ -n "$ft_corpus" ]; then
    [[ "$ft_corpus" =~ ^(biaobei|ljspeech|filelist):(.+)$ ]] \
        || die "--finetune-corpus must be biaobei:DIR, ljspeech:DIR or filelist:FILE, got '$ft_corpus'"
    [ -e "${BASH_REMATCH[2]}" ] || die "--finetune-corpus: '${BASH_REMATCH[2]}' does not exist"
    ft_corpus="${BASH_REMATCH[1]}:$(absolute "${BASH_REMATCH[2]}")"
fi
enter_experiment "$ROOT/runs/biaobei"

DATA_PRE="$EXP/data/biaobei"
DATA_FT="$EXP/data/$ft_name"
RUN_PRE="$EXP/pretrain"
RUN_FT="$EXP/finetune-$ft_name"

log "experiment folder: $EXP; stages $stage-$stop_stage"

# ----------------------------------------------------------------------------------------------
if in_range 1; then
    begin_stage 1 prepare
    # The marker records the sources; `vits prepare` itself is incremental (a re-run only checks).
    sig="biaobei=${corpus:-?} finetune=${ft_corpus:-none}"
    if [ -z "$corpus" ] && [ -f "$DATA_PRE/manifest.jsonl" ] && [ -f "$EXP/.stages/1" ]; then
        log "no --corpus given; using the prepared $DATA_PRE ($(cat "$EXP/.stages/1")), skipping"
        end_stage skipped
    elif marked 1 "$sig" && [ -f "$DATA_PRE/manifest.jsonl" ]; then
        log "data prepared from $corpus${ft_corpus:+ and $ft_corpus}, skipping"
        end_stage skipped
    else
        [ -n "$corpus" ] || die "stage 1 needs --corpus PATH (the Biaobei folder with ProsodyLabeling/ and Wave/; see datasets/biaobei/README.md)"
        [ -d "$corpus/ProsodyLabeling" ] && [ -d "$corpus/Wave" ] \
            || die "$corpus does not look like Biaobei: expected ProsodyLabeling/ and Wave/ inside (see datasets/biaobei/README.md)"
        ensure_vits prepare 1
        run "$VITS" prepare --corpus "biaobei:$corpus" --speaker biaobei --out "$DATA_PRE"
        stop_if_interrupted 1
        if [ -n "$ft_corpus" ]; then
            ft_args=()
            [[ "$ft_corpus" == filelist:* ]] || ft_args=(--speaker "$ft_name")
            run "$VITS" prepare --corpus "$ft_corpus" --out "$DATA_FT" "${ft_args[@]}"
            stop_if_interrupted 1
            n="$(grep -c '"id"' "$DATA_FT/speakers.json" || true)"
            [ "$n" = 1 ] || die "the fine-tune data $DATA_FT has $n speakers; fine-tune on one voice (filter the filelist to one speaker)"
        fi
        mark 1 "$sig"
        end_stage ran
    fi
fi

# ----------------------------------------------------------------------------------------------
if in_range 2; then
    begin_stage 2 doctor
    [ -f "$DATA_PRE/manifest.jsonl" ] || die "stage 2 needs $DATA_PRE (stage 1)"
    folders=("$DATA_PRE")
    [ ! -f "$DATA_FT/manifest.jsonl" ] || folders+=("$DATA_FT")
    doctor_stage 2 "${folders[@]}"
fi

# ----------------------------------------------------------------------------------------------
if in_range 3; then
    begin_stage 3 pretrain
    [ -f "$DATA_PRE/manifest.jsonl" ] || die "stage 3 needs $DATA_PRE (stage 1)"
    effective_config "$pretrain_config" "$EXP/conf/pretrain.json" "$max_steps_pretrain"
    ensure_vits train 3
    train_stage 3 pretrain "$RUN_PRE" "$EXP/conf/pretrain.json" \
        "$VITS" train --config "$EXP/conf/pretrain.json" --data "$DATA_PRE" --run "$RUN_PRE"
fi

# ----------------------------------------------------------------------------------------------
if in_range 4; then
    begin_stage 4 finetune
    if [ ! -f "$DATA_FT/manifest.jsonl" ]; then
        log "no fine-tune data in $DATA_FT (give --finetune-corpus SPEC and run stage 1), skipping"
        end_stage skipped
    else
        [ "$(newest_step "$RUN_PRE")" -gt 0 ] || die "stage 4 needs a checkpoint of the pretrained run $RUN_PRE (stage 3)"
        effective_config "$finetune_config" "$EXP/conf/finetune.json" "$max_steps_finetune"
        finetune_stage 4 "$RUN_PRE" "$(json_int "$RUN_PRE/config.json" max_steps)" "$RUN_FT" "$EXP/conf/finetune.json" "$DATA_FT"
    fi
fi

# ----------------------------------------------------------------------------------------------
# The voices: name -> run folder, for every run that has a checkpoint.
voices=()
if in_range 5 || in_range 6; then
    ensure_vits inspect 5   # newest_step asks the binary
    [ "$(newest_step "$RUN_PRE")" -eq 0 ] || voices+=("biaobei:$RUN_PRE")
    [ "$(newest_step "$RUN_FT")" -eq 0 ] || voices+=("$ft_name:$RUN_FT")
fi

if in_range 5; then
    begin_stage 5 export
    [ "${#voices[@]}" -gt 0 ] || die "stage 5 needs a checkpoint in $RUN_PRE (stage 3)"
    ensure_vits export 5
    exported=0
    for v in "${voices[@]}"; do
        name="${v%%:*}" ; run_dir="${v#*:}" ; out="$EXP/voices/$name"
        sig="run=$run_dir newest=$(newest_step "$run_dir") step=$export_step fp16"
        if marked "5-$name" "$sig" && [ -f "$out/voice.json" ]; then
            log "voice $out is up to date ($sig)"
            continue
        fi
        mkdir -p "$EXP/voices"
        run "$VITS" export --run "$run_dir" --step "$export_step" --out "$out" --fp16
        stop_if_interrupted 5
        [ -f "$out/voice.json" ] || die "stage 5: vits export wrote no $out/voice.json"
        mark "5-$name" "$sig"
        exported=$((exported + 1))
    done
    if [ "$exported" = 0 ]; then end_stage skipped; else end_stage ran; fi
fi

# ----------------------------------------------------------------------------------------------
if in_range 6; then
    begin_stage 6 synthesize
    read_sentences "$text_file"
    made=0
    for v in "${voices[@]}"; do
        name="${v%%:*}" ; voice="$EXP/voices/$name" ; out_dir="$EXP/samples/$name"
        [ -f "$voice/voice.json" ] && [ -f "$EXP/.stages/5-$name" ] || die "stage 6 needs the voice $voice (stage 5)"
        sig="$(cat "$EXP/.stages/5-$name") text=$(sha256sum "$text_file" | cut -c1-16)"
        if marked "6-$name" "$sig"; then log "samples of $name are in $out_dir"; continue; fi
        synthesize_sentences 6 "$voice" "$out_dir"
        mark "6-$name" "$sig"
        made=$((made + 1))
    done
    if [ "$made" = 0 ]; then end_stage skipped; else end_stage ran; fi
fi

log "done: stages $stage-$stop_stage. Timings: $EXP/timings.tsv"
exit
}
