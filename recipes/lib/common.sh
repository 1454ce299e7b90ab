# Shared stage driver of the recipes (sourced by recipes/<name>/run.sh, never run on its own).
#
# The sourcing script sets RECIPE (the name in log lines), ROOT (the repository root) and `usage`,
# sets the defaults of the common options (below), parses its arguments with `common_arg`, then
# calls `enter_experiment`, which sets EXP (absolute experiment folder) and VITS (the binary) and
# moves to the repository root. Stage markers live in EXP/.stages/, timings in EXP/timings.tsv.

die() { echo "$RECIPE/run.sh: error: $*" >&2; exit 1; }
log() { echo "[$RECIPE $(date +%H:%M:%S)] $*"; }
run() { echo "+ $*"; "$@"; }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }
need_value() { [ "$2" -ge 2 ] || die "$1 needs a value (see --help)"; }

# Options every recipe has: --stage, --stop-stage, --exp, --max-steps-pretrain, --max-steps-finetune,
# --freeze, --lora-rank, --text-file (each sets the variable of its name with _ for -: stop_stage, …)
# and -h/--help. `common_arg "$@"` takes one of them from the front of the arguments and sets
# `consumed` to the number of words it used (0: not a common option; the recipe's own `case` goes on).
common_arg() {
    consumed=2
    case "$1" in
        --stage|--stop-stage|--exp|--max-steps-pretrain|--max-steps-finetune|--freeze|--lora-rank|--text-file|--ranks)
            need_value "$1" $#
            local name="${1#--}"
            printf -v "${name//-/_}" '%s' "$2" ;;
        -h|--help) usage; exit 0 ;;
        *) consumed=0 ;;
    esac
}

# Data-parallel training stages (docs/training.md, "Several machines"): --ranks N runs `vits train`
# and `vits finetune` under `mpirun -np N` (train.batch_size is then per rank); LAUNCH (environment)
# is any launcher prefix instead, e.g. LAUNCH="mpirun -np 8 --hostfile hosts -x VITS_THREADS=32".
ranks=""
launch=()
set_launcher() {
    if [ -n "${LAUNCH:-}" ]; then
        [ -z "$ranks" ] || die "give either --ranks or LAUNCH, not both"
        read -r -a launch <<< "$LAUNCH"
    elif [ -n "$ranks" ] && [ "$ranks" -gt 1 ]; then
        command -v mpirun >/dev/null || die "--ranks $ranks needs Open MPI's mpirun (make bootstrap-mpi, or apt-get install openmpi-bin libopenmpi3)"
        launch=(mpirun -np "$ranks")
    fi
    [ ${#launch[@]} -eq 0 ] || log "training stages run under: ${launch[*]}"
}

# check_common_args LAST_STAGE: the stage range and the positive counts.
check_common_args() {
    is_count "$stage" && is_count "$stop_stage" && [ "$stage" -ge 1 ] && [ "$stop_stage" -le "$1" ] && [ "$stage" -le "$stop_stage" ] \
        || die "--stage/--stop-stage must satisfy 1 <= stage <= stop-stage <= $1 (got $stage, $stop_stage)"
    local v
    for v in "$max_steps_pretrain" "$max_steps_finetune" "$lora_rank" "$ranks"; do
        [ -z "$v" ] || { is_count "$v" && [ "$v" -ge 1 ]; } || die "step counts, --lora-rank and --ranks must be positive numbers, got '$v'"
    done
    set_launcher
}

# enter_experiment DEFAULT_EXP: EXP is --exp (relative to where the recipe was called) or
# DEFAULT_EXP, made absolute; a relative VITS is resolved the same way; then everything runs from
# the repository root so that the default VITS path (.build/release/vits) resolves.
enter_experiment() {
    [ -n "$exp" ] || exp="$1"
    mkdir -p "$exp" || die "cannot create the experiment folder '$exp'"
    EXP="$(cd "$exp" && pwd)"
    if [ -n "${VITS:-}" ] && [[ "$VITS" != /* ]] && [ -e "$VITS" ]; then VITS="$PWD/$VITS"; fi
    cd "$ROOT"
    VITS="${VITS:-.build/release/vits}"
    export VITS
    mkdir -p "$EXP/conf" "$EXP/doctor"
}

# Ctrl-C or SIGTERM: the running command handles it (vits train/finetune save a checkpoint, prepare
# and the corpus generator keep finished files); the recipe then stops instead of going on to the
# next stage. Call `stop_if_interrupted N` after every long command.
interrupted=0
trap 'interrupted=1' INT TERM
stop_if_interrupted() {
    if [ "$interrupted" = 1 ]; then
        log "interrupted during stage $1; run the same command again to continue"
        exit 130
    fi
}

# ensure_vits COMMAND STAGE: the vits binary (built when the default one is missing) and the
# subcommand that STAGE needs.
ensure_vits() {
    if [ ! -x "$VITS" ]; then
        [ "$VITS" = ".build/release/vits" ] \
            || die "VITS=$VITS is not an executable; unset VITS to build .build/release/vits"
        log "building vits: swift build -c release --product vits"
        swift build -c release --product vits || die "the release build failed"
    fi
    # `vits --help` lists the subcommands, one per line ("  prepare   Import a corpus…").
    "$VITS" --help 2>/dev/null | grep -E "^  $1( |\$)" >/dev/null \
        || die "this build of vits ($VITS) has no '$1' command, which stage $2 needs; update the checkout and rebuild it (swift build -c release --product vits)"
}

# Stage markers: EXP/.stages/N holds the signature of the inputs a finished stage was run with;
# a stage is skipped only when its marker holds the current signature.
marked() { [ -f "$EXP/.stages/$1" ] && [ "$(cat "$EXP/.stages/$1")" = "$2" ]; }
mark() {
    mkdir -p "$EXP/.stages"
    printf '%s\n' "$2" > "$EXP/.stages/$1.tmp" && mv -f "$EXP/.stages/$1.tmp" "$EXP/.stages/$1"
}

# begin_stage N NAME ... end_stage ran|skipped: a log line and a row of EXP/timings.tsv
# (stage, name, status, seconds, finished at).
begin_stage() {
    current_stage="$1" ; current_name="$2"
    stage_start=$(date +%s.%N)
    log "stage $1 ($2)"
}
end_stage() {
    local seconds
    seconds=$(awk -v a="$stage_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    printf '%s\t%s\t%s\t%s\t%s\n' "$current_stage" "$current_name" "$1" "$seconds" "$(date -Iseconds)" >> "$EXP/timings.tsv"
    log "stage $current_stage ($current_name) $1 in $seconds s"
}
# in_range N: whether stage N is between --stage and --stop-stage.
in_range() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# set_key FILE KEY VALUE: replaces the value of "KEY": in a config written one key per line (the
# recipes' configs are); the key must exist.
set_key() {
    grep -q "\"$2\":" "$1" || die "$1 has no key \"$2\""
    sed -E -i "s/(\"$2\":[[:space:]]*)[^,]*(,?)\$/\1$3\2/" "$1"
}
# json_int FILE KEY: the first integer value of "KEY" in a JSON file (pretty-printed or not).
json_int() {
    grep -oE "\"$2\"[[:space:]]*:[[:space:]]*[0-9]+" "$1" | head -n 1 | grep -oE '[0-9]+$' || true
}
# effective_config SRC DEST MAX_STEPS [KEY VALUE]...: the recipe's config SRC with train.max_steps
# set to MAX_STEPS (when not empty) and each KEY set to VALUE, written to DEST when it changed.
# Once a run has started, its frozen RUN/config.json decides; a change that matters is refused by vits.
effective_config() {
    local src="$1" dest="$2" steps="$3" tmp="$2.new.$$"
    shift 3
    cp "$src" "$tmp"
    [ -z "$steps" ] || set_key "$tmp" max_steps "$steps"
    while [ $# -ge 2 ]; do set_key "$tmp" "$1" "$2"; shift 2; done
    write_if_changed "$dest" < "$tmp"
    rm -f "$tmp"
}
# write_if_changed FILE < content: replaces FILE only when the content differs.
write_if_changed() {
    local tmp="$1.tmp.$$"
    cat > "$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

# newest_step RUN: step of the newest complete checkpoint of RUN, 0 when there is none (or no run
# folder yet). The binary answers (`vits inspect RUN --newest-step`): the run layout is defined once, in
# Training.RunLayout.
newest_step() {
    [ -x "$VITS" ] || die "newest_step needs the vits binary ($VITS); build it: swift build -c release --product vits"
    "$VITS" inspect "$1" --newest-step
}

# validation_summary RUN: first and last validation mel L1 of RUN/logs/metrics.jsonl.
validation_summary() {
    local f="$1/logs/metrics.jsonl"
    [ -f "$f" ] || { echo "no metrics yet"; return; }
    grep '"kind":"validation"' "$f" | sed -nE 's/.*"mel_l1":([^,}]*).*"step":([0-9]+).*/\1 \2/p' \
        | awk 'NR==1{f=$1; fs=$2} {l=$1; ls=$2} END{ if (NR==0) print "no validation yet"; else printf "validation mel L1 %.4f at step %d -> %.4f at step %d (%d evaluations)\n", f, fs, l, ls, NR }'
}

# train_stage N NAME RUN CONFIG COMMAND...: a training stage. Complete when RUN's newest checkpoint
# has reached CONFIG's train.max_steps; otherwise COMMAND (vits train/finetune) starts the run or
# resumes it from its newest checkpoint. Call between begin_stage and (implicitly) end_stage.
train_stage() {
    local n="$1" name="$2" run_dir="$3" config="$4" target newest rc=0
    shift 4
    target="$(json_int "$config" max_steps)"
    [ -n "$target" ] || die "$config has no train.max_steps"
    newest="$(newest_step "$run_dir")"
    if [ "$newest" -ge "$target" ]; then
        log "$run_dir is complete at step $newest (max_steps $target), skipping"
        log "  $(validation_summary "$run_dir")"
        end_stage skipped
        return
    fi
    if [ "$newest" -gt 0 ]; then log "resuming $run_dir from step $newest of $target"; fi
    run ${launch[@]+"${launch[@]}"} "$@" || rc=$?
    stop_if_interrupted "$n"
    [ "$rc" = 0 ] || die "stage $n ($name) failed (exit $rc); fix the cause and run the same command again to resume"
    newest="$(newest_step "$run_dir")"
    if [ "$newest" -lt "$target" ]; then
        log "stage $n stopped at step $newest of $target; run the same command again to continue"
        exit 130
    fi
    log "  $(validation_summary "$run_dir")"
    end_stage ran
}

# doctor_folder DIR REPORT: vits doctor DIR into REPORT; prints the findings and stops on fatal ones.
doctor_folder() {
    local rc=0
    echo "+ $VITS doctor $1 > $2"
    "$VITS" doctor "$1" > "$2" 2>&1 || rc=$?
    grep -v '^[[:space:]]*ok ' "$2" | sed 's/^/    /'
    [ "$rc" = 0 ] || die "vits doctor found fatal problems in $1 (report: $2); fix them, prepare again, re-run"
}

# doctor_stage N FOLDER...: the body of a doctor stage (after begin_stage): vits doctor on each data
# folder (reports in EXP/doctor/), skipped while their manifests are as they were when it passed.
doctor_stage() {
    local n="$1" d sig
    shift
    sig="$(stat -c '%Y %s' "${@/%//manifest.jsonl}" | tr '\n' ' ')"
    if marked "$n" "$sig"; then
        log "the data folders passed the doctor (reports in $EXP/doctor/), skipping"
        end_stage skipped
    else
        ensure_vits doctor "$n"
        for d in "$@"; do doctor_folder "$d" "$EXP/doctor/$(basename "$d").txt"; done
        mark "$n" "$sig"
        end_stage ran
    fi
}

# finetune_stage N PARENT_RUN PARENT_MAX_STEPS RUN CONFIG DATA: the body of a fine-tune stage (after
# begin_stage): vits finetune from PARENT_RUN's newest checkpoint (a warning when the parent has
# not reached PARENT_MAX_STEPS), with --lora-rank or --freeze, as a resumable training stage.
finetune_stage() {
    local n="$1" parent="$2" parent_target="$3" run_dir="$4" config="$5" data="$6" parent_step args=()
    parent_step="$(newest_step "$parent")"
    [ "$parent_step" -gt 0 ] || die "stage $n needs a checkpoint of the pretrained run $parent"
    if [ "$(newest_step "$run_dir")" -eq 0 ] && [ -n "$parent_target" ] && [ "$parent_step" -lt "$parent_target" ]; then
        log "warning: the pretrained run is at step $parent_step of $parent_target; fine-tuning from that checkpoint"
    fi
    ensure_vits finetune "$n"
    if [ -n "$lora_rank" ]; then
        args+=(--lora-rank "$lora_rank" --lora-alpha "$((2 * lora_rank))" --lora-targets dec,flow,dp)
    elif [ "$freeze" != none ] && [ -n "$freeze" ]; then
        args+=(--freeze "$freeze")
    fi
    train_stage "$n" finetune "$run_dir" "$config" \
        ${launch[@]+"${launch[@]}"} "$VITS" finetune --from "$parent" --config "$config" --data "$data" --run "$run_dir" "${args[@]}"
}

# read_sentences FILE: the array `sentences`, one a non-empty, non-comment line of FILE.
read_sentences() {
    mapfile -t sentences < <(grep -v '^[[:space:]]*\(#.*\)\?$' "$1")
    [ "${#sentences[@]}" -gt 0 ] || die "$1 has no sentences"
}

# synthesize_sentences N VOICE OUT_DIR [vits synthesize options]...: each of `sentences` with VOICE
# into OUT_DIR/NN.wav (written under a temporary name, then renamed) and OUT_DIR/sentences.txt.
synthesize_sentences() {
    local n="$1" voice="$2" out_dir="$3" i out
    shift 3
    ensure_vits synthesize "$n"
    mkdir -p "$out_dir"
    rm -f "$out_dir"/*.wav
    for i in "${!sentences[@]}"; do
        out="$out_dir/$(printf '%02d' $((i + 1))).wav"
        run "$VITS" synthesize --voice "$voice" "$@" --text "${sentences[i]}" -o "$out.tmp.wav"
        stop_if_interrupted "$n"
        mv -f "$out.tmp.wav" "$out"
    done
    printf '%s\n' "${sentences[@]}" > "$out_dir/sentences.txt"
}
