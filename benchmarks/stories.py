"""Story benchmark: quality on the labelled pairs, the dev near-duplicate sets, speed against
datatrove's MinHash, and incremental = full recompute.

    .venv/bin/python benchmarks/stories.py                  # everything (datatrove ~1 min)
    .venv/bin/python benchmarks/stories.py --no-datatrove
    .venv/bin/python benchmarks/stories.py --sweep          # + the tune grid the threshold came from

Needs ../shared (`NEWSGATE_SHARED`): the bench and dev corpora are ingested and cleaned by the
project's stages (benchmarks/corpora.py, cached in benchmarks/.cache/). datatrove runs as in
benchmarks/dedup.py (its own venv, benchmarks/.venv-datatrove; see README_dedup.md), on the same
cleaned bodies. Results and how to read them: benchmarks/README_stories.md.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "gold" / "stories"))

from corpora import CACHE, bench_articles, dev_articles  # noqa: E402
from gold import load_articles, load_pairs, pair_metrics  # noqa: E402

from newsgate.tasks import stories  # noqa: E402
from newsgate.tasks.dedup import dedup_articles  # noqa: E402
from newsgate.tasks.extract.tokenize import lexicon  # noqa: E402

SPLITS = ("tune", "test", "test2", "test3", "test4")  # test4 held out (round 5); test2, test3 seen before
DEV_SETS = [["gne_11.html", "gne_12.html"], ["gerapy_2.html", "gerapy_3.html"],
            ["sogouca_2.txt", "sogouca_3.txt"],
            ["sinacrawl_1.txt", "sinacrawl_2.txt", "sinacrawl_3.txt"],
            ["sinacrawl_4.txt", "sinacrawl_5.txt"]]


def story_map(result: stories.StoryResult) -> dict[str, str]:
    return dict(zip(result.stories["article_id"], result.stories["story_id"]))


def show(name: str, m: dict) -> None:
    print(f"  {name}: precision {m['precision']:.3f} ({m['tp']}/{m['tp'] + m['fp']}), "
          f"recall {m['recall']:.3f} ({m['tp']}/{m['tp'] + m['fn']})")
    for kind, p in m["errors"]:
        print(f"      {kind:<11} {p['pair_id']} [{p['relation']}] {p['note'][:80]}")


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def pairwise(pairs: list[dict], articles: pd.DataFrame) -> dict:
    """The scorer alone on each labelled pair (no candidates, no transitivity)."""
    by_id = articles.set_index("article_id")
    fps = {a: stories.fingerprint(a, r.title, r.body, r.published_date) for a, r in by_id.iterrows()}
    linked = {p["pair_id"]: stories.compare(fps[p["a"]], fps[p["b"]]).linked for p in pairs}
    tp = sum(1 for p in pairs if linked[p["pair_id"]] and p["same_story"])
    fp = sum(1 for p in pairs if linked[p["pair_id"]] and not p["same_story"])
    fn = sum(1 for p in pairs if not linked[p["pair_id"]] and p["same_story"])
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "tp": tp, "fp": fp,
            "fn": fn, "errors": []}


def quality(bench: pd.DataFrame, dev: pd.DataFrame) -> None:
    """Each split of the gold: stories over bench and dev as one corpus (part 2 holds pairs
    across them), over the gold articles alone, and the scorer pair by pair."""
    gold = load_articles()
    gold_result = stories.build_stories(gold, dedup_articles(gold).clusters)
    both = pd.concat([bench, dev], ignore_index=True)
    full = story_map(stories.build_stories(both, dedup_articles(both).clusters))
    for split in SPLITS:
        pairs = load_pairs(split)
        print(f"\n{split} pairs ({len(pairs)}, {sum(p['same_story'] for p in pairs)} same story):")
        show("story level, bench + dev corpora", pair_metrics(full, pairs))
        m = pair_metrics(story_map(gold_result), pairs)
        print(f"  story level, the gold articles alone: precision {m['precision']:.3f}, "
              f"recall {m['recall']:.3f}")
        m = pairwise(pairs, gold)
        print(f"  the scorer alone, pair by pair: precision {m['precision']:.3f}, recall {m['recall']:.3f}")


def dev_sets(dev: pd.DataFrame, result: stories.StoryResult) -> None:
    by_file = {Path(s).name: a for a, s in zip(dev["article_id"], dev["source"])}
    story_of = story_map(result)
    print("\ndev near-duplicate sets (../shared/corpus/dev/SOURCES.md):")
    for files in DEV_SETS:
        ids = [story_of[by_file[f]] for f in files]
        print(f"  {'joined' if len(set(ids)) == 1 else 'SPLIT ':<7} {', '.join(files)}")
    others = [f for f in by_file if not any(f in s for s in DEV_SETS)]
    merged = [f for f in others if result.stories.set_index("article_id").at[by_file[f], "story_size"] > 1]
    print(f"  dev files outside the sets in a multi-article story: {merged or 'none'}")


def speed(bench: pd.DataFrame, datatrove: bool) -> tuple[stories.StoryResult, float, float]:
    lexicon()  # jieba's dictionary and IDF table: loaded once per process, by extract too
    dedup_articles(bench.iloc[:50])
    stories.build_stories(bench.iloc[:50], dedup_articles(bench.iloc[:50]).clusters)  # warm-up
    runs = []
    for _ in range(3):
        deduped, t_dedup = timed(dedup_articles, bench)
        result, t_stories = timed(stories.build_stories, bench, deduped.clusters)
        runs.append((t_dedup + t_stories, t_dedup, t_stories))
    total, t_dedup, t_stories = min(runs)
    canon = int(deduped.clusters["is_canonical"].sum())
    print(f"\nbench corpus: {len(bench)} articles, {canon} canonical, "
          f"{result.stories['story_id'].nunique()} stories, {len(result.index.links)} links")
    print(f"  newsgate (best of 3): dedup {t_dedup:.2f} s + stories {t_stories:.2f} s = {total:.2f} s")
    if datatrove:
        from dedup import run_datatrove  # benchmarks/dedup.py: datatrove in its own venv
        texts = pd.DataFrame({"id": bench["article_id"], "text": bench["body"]})
        _, stats = run_datatrove(texts)
        print(f"  datatrove 0.10.1 MinHash (same bodies, 2 workers): {stats['seconds']:.2f} s "
              f"-> dedup + stories {stats['seconds'] / total:.1f}x faster")
    return result, t_dedup, t_stories


def incremental(bench: pd.DataFrame, full: stories.StoryResult, share: float = 0.01, seed: int = 7) -> None:
    """Stories of 99 % (saved and loaded as the published index), then a random 1 % added:
    the same stories as the full run, and the cost of the increment."""
    deduped = dedup_articles(bench)  # dedup's incremental run gives the same clusters
    rng = np.random.default_rng(seed)
    new_rows = rng.choice(len(bench), max(1, round(len(bench) * share)), replace=False)
    is_new = np.isin(np.arange(len(bench)), new_rows)
    old = bench[~is_new]
    first = stories.build_stories(old, dedup_articles(old).clusters)
    directory = first.index.save(CACHE / "story_index")
    loaded, t_load = timed(stories.StoryIndex.load, directory)
    result, t_inc = timed(stories.build_stories, bench, deduped.clusters, loaded)
    _, t_full = timed(stories.build_stories, bench, deduped.clusters)
    same = partition(result) == partition(full)
    print(f"\nincremental: {int(is_new.sum())} new articles against the index of {len(old)}: "
          f"{t_inc:.2f} s (+ {t_load:.2f} s loading the index) vs {t_full:.2f} s full; "
          f"stories equal to the full run: {same}")


def partition(result: stories.StoryResult) -> set[frozenset]:
    return {frozenset(g) for _, g in result.stories.groupby("story_id")["article_id"]}


def sweep() -> None:
    """The tune grid LINK_THRESHOLD and SUPPORT_FULL were chosen on (gold articles alone)."""
    gold, pairs = load_articles(), load_pairs("tune")
    clusters = dedup_articles(gold).clusters
    saved = stories.LINK_THRESHOLD, stories.SUPPORT_FULL
    print("\ntune grid (story level, gold articles): threshold, support_full -> precision, recall")
    try:
        for threshold, full in itertools.product((0.35, 0.4, 0.45, 0.5), (0.25, 0.3, 0.35, 0.4)):
            stories.LINK_THRESHOLD, stories.SUPPORT_FULL = threshold, full
            m = pair_metrics(story_map(stories.build_stories(gold, clusters)), pairs)
            print(f"  {threshold:.2f} {full:.2f} -> {m['precision']:.3f} {m['recall']:.3f}")
    finally:
        stories.LINK_THRESHOLD, stories.SUPPORT_FULL = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-datatrove", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    bench, dev = bench_articles(), dev_articles()
    result, _, _ = speed(bench, not args.no_datatrove)
    dev_result = stories.build_stories(dev, dedup_articles(dev).clusters)
    quality(bench, dev)
    dev_sets(dev, dev_result)
    incremental(bench, result)
    if args.sweep:
        sweep()


if __name__ == "__main__":
    main()
