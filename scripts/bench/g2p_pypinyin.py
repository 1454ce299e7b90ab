#!/usr/bin/env python3
"""Time pypinyin on the sentences of `vits bench g2p` (the comparison for issue 4's speed target).

    vits bench g2p --write-sentences /tmp/g2p_sentences.txt
    python3 scripts/bench/g2p_pypinyin.py /tmp/g2p_sentences.txt [--repeats 3] [--json]

Times `pypinyin.lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)` — pypinyin's
own segmentation, phrase table and tone-number output, the closest pypinyin call to what
`vits g2p` does (ours also normalizes, applies sandhi and emits tokens). Also reports the import
time (pypinyin loads its dictionaries at import). Median of the repeats.
"""
import json
import statistics
import sys
import time


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    repeats = 3
    if "--repeats" in sys.argv:
        repeats = int(sys.argv[sys.argv.index("--repeats") + 1])
        args = [a for a in args if a != str(repeats)]
    sentences = open(args[0], encoding="utf-8").read().splitlines()

    t0 = time.perf_counter()
    import pypinyin
    from pypinyin import Style, lazy_pinyin
    lazy_pinyin("预热")
    load = time.perf_counter() - t0

    times = []
    cpu_times = []
    syllables = 0
    for _ in range(repeats):
        start = time.perf_counter()
        cpu = time.process_time()
        syllables = 0
        for s in sentences:
            syllables += len(lazy_pinyin(s, style=Style.TONE3, neutral_tone_with_five=True))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    median = statistics.median(times)
    cpu_median = statistics.median(cpu_times)
    result = {"bench": "g2p_pypinyin", "pypinyin": pypinyin.__version__, "sentences": len(sentences),
              "syllables": syllables, "seconds": round(median, 4), "cpu_seconds": round(cpu_median, 4),
              "microseconds_per_sentence": round(median / len(sentences) * 1e6, 2),
              "sentences_per_second": round(len(sentences) / median, 1), "load_seconds": round(load, 4)}
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        print("pypinyin %s: %d sentences in %.3f s (%.3f s CPU) = %.1f us/sentence (median of %d); import+first call %.3f s"
              % (pypinyin.__version__, len(sentences), median, cpu_median, result["microseconds_per_sentence"], repeats, load))


if __name__ == "__main__":
    main()
