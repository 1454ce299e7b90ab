#!/usr/bin/env python3
"""Generate the Mandarin frontend's lexicon resources from pypinyin and jieba (both MIT).

Run once by a developer (never by the product or the tests):

    pip install pypinyin==0.55.0 jieba==0.42.1
    python3 scripts/frontend/build_lexicon.py Sources/Mandarin/Resources [--exclude WORDS.txt]

--exclude leaves the listed words' phrase readings out (and out of the reading weights below): the
accuracy script uses it to build a lexicon that has never seen its held-out words.

Writes
    zh_chars.txt   char<TAB>readings      readings comma-separated, most common first (pypinyin order)
    zh_words.txt   word<TAB>freq<TAB>pinyin
                   freq: jieba count (empty when the word is only in pypinyin's phrase table);
                   pinyin: pypinyin phrase reading, space-separated (empty when jieba-only)
Syllables are written as Biaobei does: tone digit 1-5 (5 = neutral), u-umlaut as v.
Readings the phoneme inventory has no spelling for are canonicalised (see CANONICAL) and
any reading that still does not decompose into initial + final is dropped and counted.
The output is sorted, so the same package versions give byte-identical files.
"""
import math
import os
import re
import sys

import jieba
import pypinyin
from pypinyin.contrib.tone_convert import to_tone3
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

MIN_JIEBA_FREQ = 5  # measured in the research notes: pruning below 5 changes no result
MAX_WORD_CHARS = 8  # the Swift lexicon packs a word into 8 x 16 bits; longer ones are left out

# pypinyin lists a rare character's readings in no reliable order (框 kuang1 before kuang4, 佛 fu2
# before fo2). Promote the reading that carries clearly more weight in the phrase table: each
# phrase using it counts 1 + ln(1 + its jieba count, 1 when unlisted). A character that is common as
# a word of its own (jieba count >= 2000) needs a much larger margin, since its standalone use can
# differ from its use inside phrases. Thresholds chosen on Biaobei labels 1-9000 and g2pM's CPP dev
# set (docs/frontend.md).
REORDER_MAX_CHAR_FREQ = 2000
REORDER_MIN_RATIO = 3
REORDER_MIN_RATIO_COMMON = 10

# Spellings with no initial+final in the inventory, mapped to the nearest one the inventory has.
CANONICAL = {"ê": "e", "wong": "weng", "hm": "hen", "hng": "heng", "m": "mu", "n": "en", "ng": "en"}

INITIALS = ["zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s"]
FINALS = set("a ai an ang ao e ei en eng er i ia ian iang iao ie ii iii in ing iong iou o ong ou "
             "u ua uai uan uang uei uen ueng uo v van ve vn".split())
Y_W = {"yi": "i", "ya": "ia", "ye": "ie", "yao": "iao", "you": "iou", "yan": "ian", "yin": "in",
       "yang": "iang", "ying": "ing", "yong": "iong", "yu": "v", "yue": "ve", "yuan": "van",
       "yun": "vn", "yo": "iou", "wu": "u", "wa": "ua", "wo": "uo", "wai": "uai", "wei": "uei",
       "wan": "uan", "wen": "uen", "wang": "uang", "weng": "ueng"}


def decomposes(base):
    """Mirror of the Swift PhonemeInventory split, used only to keep bad readings out of the data."""
    if base in Y_W:
        return True
    if base in FINALS and base[0] in "aeo":
        return True
    for ini in INITIALS:
        if base.startswith(ini) and len(base) > len(ini):
            rest = base[len(ini):]
            if ini in ("j", "q", "x") and rest.startswith("u"):
                rest = "v" + rest[1:]
            if ini in ("z", "c", "s") and rest == "i":
                return True
            if ini in ("zh", "ch", "sh", "r") and rest == "i":
                return True
            rest = {"iu": "iou", "ui": "uei", "un": "uen"}.get(rest, rest)
            return rest in FINALS
    return False


dropped = 0


def syllable(marked):
    """pypinyin tone-marked reading -> Biaobei syllable (tone3 digits, neutral 5, u-umlaut v)."""
    global dropped
    s = to_tone3(marked, neutral_tone_with_five=True)
    m = re.fullmatch(r"([a-zêü]+)([1-5])", s)
    if not m:
        dropped += 1
        return None
    base, tone = m.group(1).replace("ü", "v"), m.group(2)
    base = CANONICAL.get(base, base)
    if not decomposes(base):
        dropped += 1
        return None
    return base + tone


def is_han(ch):
    c = ord(ch)
    return 0x3400 <= c <= 0x9FFF or 0xF900 <= c <= 0xFAFF or c == 0x3007


def main():
    args = sys.argv[1:]
    exclude = set()
    if "--exclude" in args:
        i = args.index("--exclude")
        exclude = set(open(args[i + 1], encoding="utf-8").read().split())
        del args[i:i + 2]
    out = args[0] if args else "Sources/Mandarin/Resources"
    os.makedirs(out, exist_ok=True)

    chars = {}
    for code, readings in pinyin_dict.items():
        ch = chr(code)
        if not is_han(ch):
            continue
        ys = []
        for r in readings.split(","):
            y = syllable(r)
            if y and y not in ys:
                ys.append(y)
        if ys:
            chars[ch] = ys

    phrases = {}
    for word, readings in phrases_dict.items():
        if len(word) < 2 or not all(is_han(c) for c in word) or len(readings) != len(word) or word in exclude:
            continue
        ys = [syllable(r[0]) for r in readings]
        if all(ys):
            phrases[word] = " ".join(ys)

    freqs = {}
    dict_path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(dict_path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or not all(is_han(c) for c in parts[0]):
                continue
            word, freq = parts[0], int(parts[1])
            if freq >= MIN_JIEBA_FREQ or word in phrases:
                freqs[word] = freq

    words = sorted(w for w in set(freqs) | set(phrases) if len(w) <= MAX_WORD_CHARS)
    with open(os.path.join(out, "zh_words.txt"), "w", encoding="utf-8") as f:
        for word in words:
            f.write("%s\t%s\t%s\n" % (word, freqs.get(word, ""), phrases.get(word, "")))

    # reading weights from the phrase table, then the reorder described at the top
    weight = {}
    for word, reading in phrases.items():
        w = 1 + math.log(1 + freqs.get(word, 1))
        for ch, syl in zip(word, reading.split()):
            weight.setdefault(ch, {}).setdefault(syl, 0)
            weight[ch][syl] += w
    reordered = 0
    for ch, ys in chars.items():
        common = freqs.get(ch, 0) >= REORDER_MAX_CHAR_FREQ
        if len(ys) < 2 or ch not in weight or ys[0].endswith("5"):
            continue
        ratio = REORDER_MIN_RATIO_COMMON if common else REORDER_MIN_RATIO
        wts = weight[ch]
        best = max(ys, key=lambda y: (wts.get(y, 0), -ys.index(y)))
        if best != ys[0] and wts.get(best, 0) >= ratio * max(wts.get(ys[0], 0), 1):
            ys.remove(best)
            ys.insert(0, best)
            reordered += 1
    with open(os.path.join(out, "zh_chars.txt"), "w", encoding="utf-8") as f:
        for ch in sorted(chars):
            f.write("%s\t%s\n" % (ch, ",".join(chars[ch])))

    print("pypinyin %s, jieba %s: %d chars (%d reordered), %d words (%d with pinyin), %d readings dropped"
          % (pypinyin.__version__, jieba.__version__, len(chars), reordered, len(words),
             sum(1 for w in words if w in phrases), dropped))


if __name__ == "__main__":
    main()
