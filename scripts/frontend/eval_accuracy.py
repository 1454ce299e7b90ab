#!/usr/bin/env python3
"""Estimate the Mandarin frontend's accuracy on data it was not built from (docs/frontend.md).

    python3 scripts/frontend/eval_accuracy.py .build/release/vits [--biaobei LABELS.txt] [--cpp SENT LB]

1. Held-out phrases (always): every 20th pypinyin phrase (by a stable hash) is removed from a
   freshly generated lexicon (build_lexicon.py --exclude), so the frontend must read it from
   segmentation, sub-words, character defaults and context rules. Each held-out word is run through
   `vits g2p --json --lexicon` and its per-character readings (`chars`, before tone sandhi) are
   compared with pypinyin's phrase reading: toned-syllable accuracy over all characters, and
   polyphone accuracy over characters with more than one reading, against the baseline of always
   taking the character's most frequent reading (the first one in the character table).
2. Biaobei labels (optional, e.g. PlayVoice/vits_chinese data/000001-010000.txt): surface toned-
   syllable accuracy (Levenshtein, as g2p_eval.py) for all, 1-9000 and 9001-10000, next to raw
   pypinyin (lazy_pinyin, TONE3, neutral 5, no sandhi).
3. g2pM's CPP set (optional, e.g. data/dev.sent + dev.lb): polyphone accuracy of `chars` at the
   marked character (labels' u: written v), next to the most-frequent-reading baseline and pypinyin.
Needs pypinyin and jieba (pip) for the lexicon build and the comparison.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def g2p(vits, lines, lexicon=None):
    cmd = [vits, "g2p", "--json"] + (["--lexicon", lexicon] if lexicon else [])
    p = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def pypinyin_first():
    """Each character's first reading in pypinyin's own table: the most-frequent-reading baseline."""
    from pypinyin.contrib.tone_convert import to_tone3
    from pypinyin.pinyin_dict import pinyin_dict
    return {chr(k): to_tone3(v.split(",")[0], neutral_tone_with_five=True).replace("ü", "v") for k, v in pinyin_dict.items()}


def heldout(vits):
    from pypinyin.contrib.tone_convert import to_tone3
    from pypinyin.phrases_dict import phrases_dict
    words = sorted(w for w, r in phrases_dict.items()
                   if 2 <= len(w) <= 8 and all('\u4e00' <= c <= '\u9fff' for c in w) and len(r) == len(w))
    held = [w for w in words if int(hashlib.md5(w.encode()).hexdigest(), 16) % 20 == 0]
    with tempfile.TemporaryDirectory() as tmp:
        ex = os.path.join(tmp, "exclude.txt")
        open(ex, "w", encoding="utf-8").write("\n".join(held))
        subprocess.run([sys.executable, os.path.join(HERE, "build_lexicon.py"), tmp, "--exclude", ex],
                       check=True, capture_output=True)
        overrides = os.path.join(HERE, "..", "..", "Sources", "Mandarin", "Resources", "zh_overrides.txt")
        # overrides are project knowledge, not phrase-table data; keep only those not held out
        lines = [l for l in open(overrides, encoding="utf-8") if l.startswith("#") or l.split("\t")[0] not in held]
        open(os.path.join(tmp, "zh_overrides.txt"), "w", encoding="utf-8").writelines(lines)
        first = {}
        for l in open(os.path.join(tmp, "zh_chars.txt"), encoding="utf-8"):
            c, r = l.rstrip("\n").split("\t")
            first[c] = r.split(",")
        out = g2p(vits, held, lexicon=tmp)
    raw = pypinyin_first()
    tot = ok = base = pn = pok = pbase = wok = rbase = prbase = 0
    for w, o in zip(held, out):
        ref = [to_tone3(r[0], neutral_tone_with_five=True).replace("ü", "v") for r in phrases_dict[w]]
        hyp = [c["pinyin"] for c in o["chars"]]
        allok = True
        for c, r, h in zip(w, ref, hyp):
            tot += 1; ok += (h == r); base += (first.get(c, [""])[0] == r); rbase += (raw.get(c) == r)
            allok &= (h == r)
            if len(first.get(c, [])) > 1:
                pn += 1; pok += (h == r); pbase += (first[c][0] == r); prbase += (raw.get(c) == r)
        wok += allok
    print("held-out phrases: %d words, %d characters" % (len(held), tot))
    print("  toned syllables (citation)  frontend %.4f   first reading: our table %.4f, pypinyin's %.4f" % (ok / tot, base / tot, rbase / tot))
    print("  polyphonic characters (%d)  frontend %.4f   first reading: our table %.4f, pypinyin's %.4f" % (pn, pok / pn, pbase / pn, prbase / pn))
    print("  whole words                 frontend %.4f" % (wok / len(held)))


def biaobei(vits, path):
    from pypinyin import Style, lazy_pinyin
    lines = open(path, encoding="utf-8-sig").read().splitlines()
    pairs = []
    for a, b in zip(lines, lines[1:]):
        m = re.match(r"^(\d{6})\t(.*)$", a)
        if m:
            pairs.append((int(m.group(1)), re.sub(r"#\d", "", m.group(2)).strip(), b.split()))
    out = g2p(vits, [p[1] for p in pairs])
    for lo, hi in [(1, 10000), (1, 9000), (9001, 10000)]:
        sel = [(p, o) for p, o in zip(pairs, out) if lo <= p[0] <= hi]
        err = sum(lev(p[2], o["pinyin"]) for p, o in sel); tot = sum(len(p[2]) for p, o in sel)
        exact = sum(lev(p[2], o["pinyin"]) == 0 for p, o in sel)
        perr = sum(lev(p[2], lazy_pinyin(p[1], style=Style.TONE3, neutral_tone_with_five=True, errors="ignore"))
                   for p, o in sel)
        print("biaobei %d-%d (%d sentences): frontend %.4f (exact sentences %.3f)   pypinyin %.4f"
              % (lo, hi, len(sel), 1 - err / tot, exact / len(sel), 1 - perr / tot))


def cpp(vits, sent_path, lb_path):
    from pypinyin import Style, pinyin
    first = {}
    res = os.path.join(HERE, "..", "..", "Sources", "Mandarin", "Resources", "zh_chars.txt")
    for l in open(res, encoding="utf-8"):
        c, r = l.rstrip("\n").split("\t")
        first[c] = r.split(",")[0]
    sents = open(sent_path, encoding="utf-8").read().splitlines()
    labels = [l.strip().replace("u:", "v") for l in open(lb_path, encoding="utf-8").read().splitlines()]
    texts, idx = [], []
    for s in sents:
        i = s.index("\u2581"); texts.append(s.replace("\u2581", "")); idx.append(i)
    out = g2p(vits, texts)
    raw = pypinyin_first()
    n = ok = base = py = skipped = rbase = 0
    for t, k, lab, o in zip(texts, idx, labels, out):
        if "".join(c["char"] for c in o["chars"]) != t:
            skipped += 1
            continue
        n += 1
        ok += o["chars"][k]["pinyin"] == lab
        base += first.get(t[k]) == lab
        rbase += raw.get(t[k]) == lab
        p = pinyin(t, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda x: [[c] for c in x])
        py += len(p) == len(t) and p[k][0].replace("ü", "v") == lab
    print("cpp %s: %d sentences scored (%d skipped: normalization changed the text)" % (os.path.basename(sent_path), n, skipped))
    print("  polyphone accuracy  frontend %.4f   first reading: our table %.4f, pypinyin's %.4f   pypinyin (phrases) %.4f"
          % (ok / n, base / n, rbase / n, py / n))


def main():
    vits = sys.argv[1]
    heldout(vits)
    if "--biaobei" in sys.argv:
        biaobei(vits, sys.argv[sys.argv.index("--biaobei") + 1])
    if "--cpp" in sys.argv:
        i = sys.argv.index("--cpp")
        cpp(vits, sys.argv[i + 1], sys.argv[i + 2])


if __name__ == "__main__":
    main()
