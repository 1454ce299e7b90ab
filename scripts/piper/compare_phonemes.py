#!/usr/bin/env python3
"""Our Piper phoneme ids (vits phonemize, Debian's espeak-ng) vs piper-tts's (its bundled espeak-ng fork).

Sentences: translated messages of Debian's gettext catalogs (/usr/share/locale/LANG/LC_MESSAGES/*.mo,
msgstr for de/fr/es, msgid for English), filtered to plain sentences; N per language.
Both sides use piper-tts's DEFAULT_PHONEME_ID_MAP. Prints a summary and writes the mismatches.

Usage (for checks only; needs `pip install piper-tts`):
  python3 scripts/piper/compare_phonemes.py --vits .build/release/vits --per-language 80 --out /tmp/piper-compare
"""
import argparse, gettext, glob, json, os, re, subprocess, sys

VOICES = {"en": "en-us", "de": "de", "fr": "fr", "es": "es"}


def sentences(lang, n):
    seen, out = set(), []
    for mo in sorted(glob.glob(f"/usr/share/locale/{'de' if lang == 'en' else lang}/LC_MESSAGES/*.mo")):
        try:
            catalog = gettext.GNUTranslations(open(mo, "rb"))._catalog
        except Exception:
            continue
        for msgid, msgstr in sorted(catalog.items(), key=lambda kv: str(kv[0])):
            text = msgid if lang == "en" else msgstr
            if not isinstance(text, str) or isinstance(msgid, tuple):
                continue
            text = " ".join(text.split())
            if not (25 <= len(text) <= 160) or re.search(r"[%{}<>\\_=/@|$`*#\[\]]|--|\.\.\.", text):
                continue
            if not re.match(r"^[A-ZÀ-Ý¿¡]", text) or text in seen or sum(c.isalpha() for c in text) < 0.75 * len(text.replace(" ", "")):
                continue
            seen.add(text)
            out.append(text)
            if len(out) >= n:
                return out
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vits", required=True)
    ap.add_argument("--per-language", type=int, default=80)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from piper.phonemize_espeak import EspeakPhonemizer
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP, phonemes_to_ids
    piper = EspeakPhonemizer()
    total = equal = 0
    report = []
    for lang, voice in VOICES.items():
        lines = sentences(lang, a.per_language)
        path = os.path.join(a.out, f"{lang}.txt")
        open(path, "w").write("\n".join(lines) + "\n")
        config = os.path.join(a.out, f"{lang}.onnx.json")
        json.dump({"audio": {"sample_rate": 22050}, "espeak": {"voice": voice}, "phoneme_id_map": DEFAULT_PHONEME_ID_MAP},
                  open(config, "w"), ensure_ascii=False)
        run = subprocess.run([a.vits, "phonemize", "--config", config, "--text-file", path, "--json"],
                             capture_output=True, text=True, check=True)
        ours = {}
        for row in map(json.loads, run.stdout.splitlines()):
            ours.setdefault(row["line"], []).append(row["ids"])
        lang_equal = 0
        for k, text in enumerate(lines, start=1):
            theirs = [phonemes_to_ids(s, DEFAULT_PHONEME_ID_MAP) for s in piper.phonemize(voice, text)]
            mine = ours.get(k, [])
            same = theirs == mine
            lang_equal += same
            if not same:
                inv = {v[0]: p for p, v in DEFAULT_PHONEME_ID_MAP.items()}
                report.append({"lang": lang, "text": text,
                               "piper": ["".join(inv.get(i, "?") for i in s) for s in theirs],
                               "ours": ["".join(inv.get(i, "?") for i in s) for s in mine]})
        print(f"{lang} ({voice}): {lang_equal}/{len(lines)} sentences with equal ids")
        total += len(lines)
        equal += lang_equal
    print(f"all: {equal}/{total} equal")
    with open(os.path.join(a.out, "mismatches.jsonl"), "w") as f:
        for r in report:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
