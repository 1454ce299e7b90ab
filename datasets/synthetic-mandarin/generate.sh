#!/usr/bin/env bash
# Synthetic Mandarin corpus generator: speaks the project's own sentence list (sentences.txt, in
# the Biaobei label format) with several espeak-ng voice variants and writes one Biaobei-layout
# corpus per variant (48 kHz, 16-bit, mono). See datasets/synthetic-mandarin/README.md.
set -euo pipefail
export LC_ALL=C.UTF-8   # bash string indexing must count characters, not bytes

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VITS="${VITS:-$ROOT/.build/release/vits}"
GENERATOR_VERSION=1
SAMPLE_RATE=48000
LABEL_NAME="000001-010000.txt"

# Speakers: name, espeak-ng variant, pitch (0-99), speed (words/min), amplitude (0-200), gender.
# Amplitude 60 keeps espeak-ng's peaks below about 0.85 of full scale (its default, 100, clips).
# The first row is THE TARGET MALE VOICE (the quickstart fine-tunes on it); --speakers N takes the
# first N rows, so every subset contains it.
SPEAKER_TABLE=(
    "target_male  m3 60 165 60 male"
    "male_low     m1 52 150 60 male"
    "female_high  f2 80 170 60 female"
    "male_fast    m7 65 185 60 male"
    "female_mid   f4 65 160 60 female"
    "female_slow  f5 60 140 60 female"
)

usage() {
    cat <<EOF
Usage: $(basename "$0") --out DIR [--speakers N] [--limit K] [--jobs J] [--sentences FILE]
       $(basename "$0") --check [--sentences FILE]
       $(basename "$0") --print-speech [--limit K] [--sentences FILE]
       $(basename "$0") --list-speakers

Writes a synthetic Mandarin corpus in the exact Biaobei layout, one folder per speaker:
  DIR/<speaker>/ProsodyLabeling/$LABEL_NAME   (ID<TAB>text with #1-#4, then <TAB>pinyin)
  DIR/<speaker>/Wave/NNNNNN.wav                    (48 kHz, 16-bit PCM, mono)
  DIR/speakers.txt, DIR/README.txt
Each speaker folder is a complete Biaobei-layout corpus on its own.

Options:
  --out DIR         output folder (created if missing)
  --speakers N      number of voice variants, 1-${#SPEAKER_TABLE[@]} (default ${#SPEAKER_TABLE[@]}); the first is
                    the target male voice 'target_male'
  --limit K         only the first K sentences (default: all) - small corpora for tests and CI
  --jobs J          utterances synthesized in parallel (default 2)
  --sentences FILE  sentence list in the Biaobei label format (default: sentences.txt next to
                    this script)
  --check           only validate the sentence list (text/pinyin alignment, syllable syntax)
  --print-speech    print, per sentence, the line espeak-ng is given, and exit
  --list-speakers   print the speaker table and exit
  -h, --help        this help

Re-running is safe and cheap: finished WAVs are kept, missing ones are made, WAVs of sentences
outside the selection are removed. Every file is written to a temporary name and renamed.

Needs espeak-ng (apt-get install espeak-ng; 'make bootstrap' installs it) and the project's
'vits' binary for resampling to 48 kHz (default $ROOT/.build/release/vits; override with
VITS=/path/to/vits; build it with 'swift build -c release --product vits').

Example:
  $(basename "$0") --out /tmp/synth --speakers 2 --limit 20
EOF
}

die() { echo "generate.sh: error: $*" >&2; exit 1; }

OUT="" ; NSPEAKERS=${#SPEAKER_TABLE[@]} ; LIMIT=0 ; JOBS=2 ; CHECK_ONLY=0
SENTENCES="$HERE/sentences.txt"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || die "--out needs a folder"; OUT="$2"; shift 2 ;;
        --speakers) [ $# -ge 2 ] || die "--speakers needs a number"; NSPEAKERS="$2"; shift 2 ;;
        --limit) [ $# -ge 2 ] || die "--limit needs a number"; LIMIT="$2"; shift 2 ;;
        --jobs) [ $# -ge 2 ] || die "--jobs needs a number"; JOBS="$2"; shift 2 ;;
        --sentences) [ $# -ge 2 ] || die "--sentences needs a file"; SENTENCES="$2"; shift 2 ;;
        --check) CHECK_ONLY=1; shift ;;
        --print-speech) CHECK_ONLY=2; shift ;;
        --list-speakers)
            printf "%-12s %-8s %-6s %-6s %-10s %s\n" name variant pitch speed amplitude gender
            for row in "${SPEAKER_TABLE[@]}"; do printf "%-12s %-8s %-6s %-6s %-10s %s\n" $row; done
            exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$NSPEAKERS" =~ ^[0-9]+$ ]] && [ "$NSPEAKERS" -ge 1 ] && [ "$NSPEAKERS" -le ${#SPEAKER_TABLE[@]} ] \
    || die "--speakers must be a number from 1 to ${#SPEAKER_TABLE[@]}, got '$NSPEAKERS'"
[[ "$LIMIT" =~ ^[0-9]+$ ]] || die "--limit must be a non-negative number, got '$LIMIT'"
[[ "$JOBS" =~ ^[0-9]+$ ]] && [ "$JOBS" -ge 1 ] || die "--jobs must be a positive number, got '$JOBS'"
[ -r "$SENTENCES" ] || die "cannot read sentence list '$SENTENCES'"

# ---------------------------------------------------------------------------------------------
# Sentence list: pairs of lines "ID<TAB>text" and "<TAB>pinyin" (Biaobei label format).
IDS=() ; TEXTS=() ; PINYINS=()
line_no=0 ; pending=""
while IFS= read -r line || [ -n "$line" ]; do
    line_no=$((line_no + 1))
    line="${line%$'\r'}"
    [ -z "$line" ] && continue
    if [ -z "$pending" ]; then
        [[ "$line" =~ ^([0-9]{6})$'\t'(.+)$ ]] \
            || die "$SENTENCES:$line_no: expected 'NNNNNN<TAB>text', got '$line'"
        IDS+=("${BASH_REMATCH[1]}") ; TEXTS+=("${BASH_REMATCH[2]}") ; pending="$line_no"
    else
        [[ "$line" =~ ^$'\t'(.+)$ ]] \
            || die "$SENTENCES:$line_no: expected '<TAB>pinyin' after the text line $pending, got '$line'"
        PINYINS+=("${BASH_REMATCH[1]}") ; pending=""
    fi
done < "$SENTENCES"
[ -z "$pending" ] || die "$SENTENCES:$pending: text line without a pinyin line"
[ ${#IDS[@]} -gt 0 ] || die "$SENTENCES: no sentences"

# speak_text INDEX: validates one label pair and prints the line espeak-ng reads.
# Syllables inside a prosodic word are joined ("jin1tian1"), #1/#2 become spaces, #3 and
# punctuation become commas, and the final punctuation is kept so questions sound like questions.
# Erhua syllables ("huir4") are given to espeak-ng as "hui4r", which it reads as one r-coloured
# syllable with the host tone instead of two syllables.
SPEAK=""
speak_text() {
    local idx=$1 text="${TEXTS[$1]}" where="$SENTENCES (sentence ${IDS[$1]})"
    local -a syl
    read -r -a syl <<< "${PINYINS[$idx]}"
    local n=${#syl[@]} j=0 i c level out="" word="" final=""
    for ((i = 0; i < n; i++)); do
        [[ "${syl[i]}" =~ ^[a-z]+[1-5]$ ]] || die "$where: '${syl[i]}' is not a pinyin syllable with a tone digit 1-5"
    done
    for ((i = 0; i < ${#text}; i++)); do
        c="${text:i:1}"
        case "$c" in
            '#')
                level="${text:i+1:1}"
                [[ "$level" =~ ^[1-4]$ ]] || die "$where: '#' must be followed by 1-4"
                i=$((i + 1))
                out+="$word" ; word=""
                if [ "$level" -ge 3 ]; then out+=","; fi
                out+=" " ;;
            '，'|'、'|'：'|'；')
                if [ -n "$word" ]; then out+="$word " ; word=""; fi
                [[ "$out" == *", " ]] || out="${out% }, " ;;
            '。') final="." ;;
            '？') final="?" ;;
            '！') final="!" ;;
            [[:space:]]) die "$where: whitespace inside the text line" ;;
            *)
                if [ "$c" = "儿" ] && [ $j -gt 0 ] && [[ "${syl[j-1]}" =~ r[1-5]$ ]] && [[ ! "${syl[j-1]}" =~ ^er[1-5]$ ]]; then
                    continue   # erhua: 儿 is merged into the previous syllable
                fi
                [ $j -lt $n ] || die "$where: the text has more characters than the pinyin line has syllables ($n)"
                local s="${syl[j]}"
                if [[ ! "$s" =~ ^er[1-5]$ ]] && [[ "$s" =~ ^(.+)r([1-5])$ ]]; then
                    s="${BASH_REMATCH[1]}${BASH_REMATCH[2]}r"
                fi
                word+="$s" ; j=$((j + 1)) ;;
        esac
    done
    [ $j -eq $n ] || die "$where: the pinyin line has $n syllables but the text has only $j characters for them"
    [[ "$text" =~ \#4[。？！]?$ ]] || die "$where: the text must end with #4 (and optional 。？！)"
    out+="$word"
    while [[ "$out" == *" " || "$out" == *"," ]]; do out="${out%?}"; done
    SPEAK="$out${final:-.}"
}

total=${#IDS[@]}
for ((k = 0; k < total; k++)); do
    speak_text "$k"
    if [ $k -gt 0 ] && [[ ! "${IDS[k]}" > "${IDS[k-1]}" ]]; then
        die "$SENTENCES: sentence IDs must increase (${IDS[k-1]} then ${IDS[k]})"
    fi
done
COUNT=$total
if [ "$LIMIT" -gt 0 ] && [ "$LIMIT" -lt "$total" ]; then COUNT=$LIMIT; fi
if [ "$CHECK_ONLY" -eq 1 ]; then
    echo "generate.sh: $SENTENCES: $total sentences, all label pairs consistent"
    exit 0
fi
if [ "$CHECK_ONLY" -eq 2 ]; then
    for ((k = 0; k < COUNT; k++)); do speak_text "$k"; printf '%s\t%s\n' "${IDS[k]}" "$SPEAK"; done
    exit 0
fi
[ -n "$OUT" ] || die "--out DIR is required (see --help)"

# ---------------------------------------------------------------------------------------------
# Tools.
command -v espeak-ng >/dev/null \
    || die "espeak-ng is not installed; run 'make bootstrap' or 'apt-get install espeak-ng'"
espeak-ng --voices=cmn 2>/dev/null | grep -q 'cmn-latn-pinyin' \
    || die "this espeak-ng has no 'cmn-latn-pinyin' voice (needs espeak-ng >= 1.51)"
ESPEAK_VERSION="$(espeak-ng --version | sed -n 's/.*text-to-speech: *\([^ ]*\).*/\1/p')"
if [ ! -x "$VITS" ]; then
    die "the project's 'vits' binary (used to resample to 48 kHz) was not found at '$VITS'.
Build it from the repository root with:   swift build -c release --product vits   (or: make build)
or point VITS at an existing binary:      VITS=/path/to/vits $0 ..."
fi
"$VITS" audio convert --help >/dev/null 2>&1 \
    || die "'$VITS audio convert' is not available in this build of vits; rebuild it from an up-to-date checkout"

# ---------------------------------------------------------------------------------------------
SENTENCES_SHA="$(sha256sum "$SENTENCES" | cut -d' ' -f1)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$OUT/.work"

# write_atomically DEST: copies stdin to DEST through a temporary file in the same folder.
write_atomically() {
    local dest="$1" tmp
    tmp="$(mktemp "$dest.tmp.XXXXXX")"
    cat > "$tmp"
    chmod 644 "$tmp"   # mktemp makes 0600 files; corpus files are meant to be shared
    mv -f "$tmp" "$dest"
}

# synth_one SPK_DIR VARIANT PITCH SPEED AMPLITUDE INDEX: one utterance, temp files then rename.
synth_one() {
    local spk_dir="$1" variant="$2" pitch="$3" speed="$4" amplitude="$5" idx="$6"
    local id="${IDS[$idx]}" work="$WORK/$(basename "$spk_dir")"
    local raw="$work/$id.espeak.wav" resampled="$work/$id.wav"
    speak_text "$idx"
    espeak-ng -v "cmn-latn-pinyin+$variant" -p "$pitch" -s "$speed" -a "$amplitude" -w "$raw" "$SPEAK" \
        || { echo "generate.sh: error: espeak-ng failed on sentence $id" >&2; return 1; }
    # A WAV header is 44 bytes; less than 0.1 s of 22.05 kHz audio means espeak-ng read nothing.
    [ "$(stat -c %s "$raw")" -gt 4500 ] \
        || { echo "generate.sh: error: espeak-ng produced no audio for sentence $id ('$SPEAK')" >&2; return 1; }
    "$VITS" audio convert "$raw" -o "$resampled" --sample-rate "$SAMPLE_RATE" >/dev/null \
        || { echo "generate.sh: error: '$VITS audio convert' failed on sentence $id" >&2; return 1; }
    mv -f "$resampled" "$spk_dir/Wave/$id.wav"
    rm -f "$raw"
}

# On Ctrl-C / kill: stop the utterances in flight; finished WAVs stay, the next run continues.
trap 'jobs -p | xargs -r kill 2>/dev/null; echo "generate.sh: interrupted; re-run to continue" >&2; exit 130' INT TERM

start_all=$(date +%s.%N)
made_total=0
for ((s = 0; s < NSPEAKERS; s++)); do
    read -r name variant pitch speed amplitude gender <<< "${SPEAKER_TABLE[s]}"
    spk_dir="$OUT/$name"
    stamp="generator=$GENERATOR_VERSION voice=cmn-latn-pinyin+$variant pitch=$pitch speed=$speed amplitude=$amplitude rate=$SAMPLE_RATE espeak-ng=$ESPEAK_VERSION sentences-sha256=$SENTENCES_SHA"
    if [ -f "$spk_dir/.synthetic-mandarin" ] && [ "$(cat "$spk_dir/.synthetic-mandarin")" != "$stamp" ]; then
        die "$spk_dir was generated with other settings or another sentence list:
  was: $(cat "$spk_dir/.synthetic-mandarin")
  now: $stamp
Delete $spk_dir (or choose another --out) to regenerate it."
    fi
    mkdir -p "$spk_dir/ProsodyLabeling" "$spk_dir/Wave" "$WORK/$name"
    printf '%s\n' "$stamp" | write_atomically "$spk_dir/.synthetic-mandarin"

    # Labels: the selected pairs, byte-identical in every speaker folder.
    for ((k = 0; k < COUNT; k++)); do
        printf '%s\t%s\n\t%s\n' "${IDS[k]}" "${TEXTS[k]}" "${PINYINS[k]}"
    done | write_atomically "$spk_dir/ProsodyLabeling/$LABEL_NAME"

    # Drop WAVs of sentences outside the selection (a previous run with a larger --limit).
    declare -A selected=()
    for ((k = 0; k < COUNT; k++)); do selected["${IDS[k]}"]=1; done
    stale=0
    for f in "$spk_dir"/Wave/*; do
        [ -e "$f" ] || continue
        b="$(basename "$f")"
        if [[ "$b" =~ ^([0-9]{6})\.wav$ ]] && [ -z "${selected[${BASH_REMATCH[1]}]:-}" ]; then
            rm -f "$f"; stale=$((stale + 1))
        fi
    done
    unset selected
    [ $stale -eq 0 ] || echo "[$name] removed $stale WAVs of sentences outside --limit $COUNT"

    todo=()
    for ((k = 0; k < COUNT; k++)); do
        [ -s "$spk_dir/Wave/${IDS[k]}.wav" ] || todo+=("$k")
    done
    echo "[$name] cmn-latn-pinyin+$variant pitch $pitch speed $speed amplitude $amplitude: $COUNT utterances, $((COUNT - ${#todo[@]})) already done, ${#todo[@]} to make"
    start=$(date +%s.%N)
    done_n=0 ; running=0 ; failed=0
    for k in "${todo[@]}"; do
        synth_one "$spk_dir" "$variant" "$pitch" "$speed" "$amplitude" "$k" &
        running=$((running + 1))
        if [ $running -ge "$JOBS" ]; then
            wait -n || failed=1
            running=$((running - 1)); done_n=$((done_n + 1))
            [ $failed -eq 0 ] || break
            if [ $((done_n % 25)) -eq 0 ]; then
                echo "[$name] $done_n/${#todo[@]} ($(awk -v a="$start" -v b="$(date +%s.%N)" -v n=$done_n 'BEGIN{printf "%.3f", (b-a)/n}') s/utterance)"
            fi
        fi
    done
    while [ $running -gt 0 ]; do
        wait -n || failed=1
        running=$((running - 1)); done_n=$((done_n + 1))
    done
    [ $failed -eq 0 ] || die "[$name] stopped after a failure; finished files are kept, re-run to continue"
    made_total=$((made_total + ${#todo[@]}))
    if [ ${#todo[@]} -gt 0 ]; then
        echo "[$name] done: ${#todo[@]} made in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    fi
done
rm -rf "$WORK"

# Index of the speaker folders present in OUT (also those of earlier runs with more speakers).
{
    printf 'name\tvoice\tpitch\tspeed\tamplitude\tgender\trole\n'
    for row in "${SPEAKER_TABLE[@]}"; do
        read -r name variant pitch speed amplitude gender <<< "$row"
        [ -d "$OUT/$name" ] || continue
        role="pretraining"; [ "$name" = "target_male" ] && role="target"
        printf '%s\tcmn-latn-pinyin+%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$variant" "$pitch" "$speed" "$amplitude" "$gender" "$role"
    done
} | write_atomically "$OUT/speakers.txt"
cat <<EOF | write_atomically "$OUT/README.txt"
Synthetic Mandarin corpus (SwiftVITS, datasets/synthetic-mandarin, generator version $GENERATOR_VERSION).
Speech synthesized by espeak-ng $ESPEAK_VERSION (voice cmn-latn-pinyin with variants) from the
project's own sentence list; NOT human speech. Each folder listed in speakers.txt is a complete
Biaobei-layout corpus: ProsodyLabeling/$LABEL_NAME + Wave/NNNNNN.wav (48 kHz, 16-bit, mono).
The target male voice is 'target_male'. Sentences per speaker: $COUNT.
Made with: datasets/synthetic-mandarin/generate.sh --out DIR --speakers $NSPEAKERS --limit $LIMIT
EOF
echo "generate.sh: $OUT: $NSPEAKERS speaker(s) x $COUNT utterances ($made_total made now) in $(awk -v a="$start_all" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
