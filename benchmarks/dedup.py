"""Dedup benchmark: newsgate (tasks.dedup) vs datatrove 0.10.1 MinHash on the bench corpus.

    .venv/bin/python benchmarks/dedup.py              # full benchmark (see README_dedup.md)
    .venv/bin/python benchmarks/dedup.py --sweep      # + signature backends, parameter sweep

Steps: trafilatura main text of every page (cached under benchmarks/.cache/, so timings measure
dedup only) -> exact ground truth (all pairs with char-5-gram Jaccard >= 0.8) -> newsgate
full run (time, peak memory) -> datatrove in its own venv as a subprocess -> recall, false
merges and disagreements of both -> incremental run with 1 % new documents.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import subprocess
import sys
import time
import tracemalloc
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsgate.tasks import dedup  # noqa: E402

SHARED = Path(os.environ.get("NEWSGATE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "bench" / "eb.jsonl"
CACHE = Path(__file__).resolve().parent / ".cache"
DATATROVE_PY = Path(__file__).resolve().parent / ".venv-datatrove" / "bin" / "python"
TRUTH_JACCARD = 0.8          # ground truth: pairs at or above this char-5-gram Jaccard
FALSE_JACCARD, FALSE_CONTAINMENT = 0.5, 0.8   # a merged pair below both is a false merge


# ---- inputs --------------------------------------------------------------------------------------
def _extract(html: str) -> str:
    import trafilatura
    return trafilatura.extract(html) or ""


def load_texts() -> pd.DataFrame:
    """id, text (trafilatura main text) of every bench page with some text; cached."""
    cache = CACHE / "eb_trafilatura.parquet"
    if cache.exists() and cache.stat().st_mtime > CORPUS.stat().st_mtime:
        return pd.read_parquet(cache)
    pages = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        texts = list(pool.map(_extract, [p["html"] for p in pages], chunksize=32))
    frame = pd.DataFrame({"id": [p["id"] for p in pages], "text": texts})
    frame = frame[frame["text"].str.strip() != ""].reset_index(drop=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(cache, index=False)
    return frame


def as_articles(texts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"article_id": texts["id"], "doc_id": texts["id"], "body": texts["text"],
                         "title": "", "outlet": None, "published_date": None,
                         "n_chars": texts["text"].str.len(), "source": "eb.jsonl"})


# ---- ground truth --------------------------------------------------------------------------------
def truth_shingles(text: str) -> np.ndarray:
    """Character 5-grams of the text with only NFKC and whitespace removal — a normalisation
    independent of newsgate's (which also drops punctuation)."""
    plain = "".join(unicodedata.normalize("NFKC", text).split())
    return dedup.shingle_hashes(plain, 5)


def exact_pair_scores(sets: list[np.ndarray], min_jaccard: float) -> dict[tuple[int, int], float]:
    """All pairs with Jaccard >= min_jaccard, exactly: prefix filtering (AllPairs). A pair with
    J >= t shares a shingle within the first |x| - ceil(t|x|) + 1 shingles of both, when every
    set is ordered by the same global order (rarest first, to keep the posting lists short)."""
    doc_freq: dict[int, int] = {}
    for s in sets:
        for h in s.tolist():
            doc_freq[h] = doc_freq.get(h, 0) + 1
    postings: dict[int, list[int]] = {}
    candidates: set[tuple[int, int]] = set()
    for i, s in enumerate(sets):
        ordered = sorted(s.tolist(), key=lambda h: (doc_freq[h], h))
        prefix = len(ordered) - int(np.ceil(min_jaccard * len(ordered))) + 1
        for h in ordered[:prefix]:
            for j in postings.setdefault(h, []):
                candidates.add((j, i))
            postings[h].append(i)
    scores = {}
    for a, b in candidates:
        jac, _ = dedup.overlap_scores(sets[a], sets[b])
        if jac >= min_jaccard:
            scores[(a, b)] = jac
    return scores


# ---- quality -------------------------------------------------------------------------------------
def cluster_pairs(labels: np.ndarray) -> set[tuple[int, int]]:
    """Every pair of rows that share a cluster label."""
    groups: dict = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(i)
    return {p for g in groups.values() if len(g) > 1 for p in itertools.combinations(sorted(g), 2)}


def is_false_merge(a: int, b: int, sets: list[np.ndarray]) -> bool:
    jac, con = dedup.overlap_scores(sets[a], sets[b])
    return jac < FALSE_JACCARD and con < FALSE_CONTAINMENT


def quality(labels: np.ndarray, truth: dict, sets: list[np.ndarray], norm_sets: list[np.ndarray]) -> dict:
    """Recall of the truth pairs; false merges measured on the neutral shingles (`sets`), and
    how many of them remain false on newsgate's normalisation (casefold, punctuation dropped)."""
    merged = cluster_pairs(labels)
    false = [(a, b) for a, b in merged if is_false_merge(a, b, sets)]
    false_normalised = [(a, b) for a, b in false if is_false_merge(a, b, norm_sets)]
    missed = sorted(set(truth) - merged)
    return {"clusters": len(set(labels.tolist())),
            "multi_clusters": sum(1 for v in pd.Series(labels).value_counts() if v > 1),
            "merged_pairs": len(merged), "recall": len(set(truth) & merged) / max(len(truth), 1),
            "found": len(set(truth) & merged), "missed": missed, "false_merges": false,
            "false_merges_normalised": false_normalised}


# ---- the two systems -----------------------------------------------------------------------------
def run_newsgate(articles: pd.DataFrame) -> tuple[dedup.DedupResult, float]:
    start = time.perf_counter()
    result = dedup.dedup_articles(articles)
    return result, time.perf_counter() - start


def peak_rss_mib() -> float:
    """This process's RSS high-water mark (VmHWM: unlike ru_maxrss it is not inherited over exec)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def rss_probe() -> None:
    """Run in a fresh process: RSS high-water mark before and after one full dedup."""
    articles = as_articles(load_texts())
    before = peak_rss_mib()
    dedup.dedup_articles(articles)
    print(json.dumps({"before_mib": before, "peak_mib": peak_rss_mib()}))


def rss_newsgate() -> dict:
    proc = subprocess.run([sys.executable, __file__, "--rss-probe"], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_memory_newsgate(articles: pd.DataFrame) -> float:
    """Peak Python-heap + numpy allocation (MiB) of one full dedup, measured by tracemalloc."""
    tracemalloc.start()
    dedup.dedup_articles(articles)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


DATATROVE_SCRIPT = r'''
import json, sys, time, resource
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupSignature,
    MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.typeshelper import Languages


def main():
    data, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = MinhashConfig()  # defaults: word 5-grams, 14 buckets x 8 hashes, 64-bit xxhash
    lang = Languages.mandarin_chinese__hani  # "cmn_Hani": jieba word tokenizer
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline=[JsonlReader(data),
        MinhashDedupSignature(output_folder=f"{work}/sigs", config=config, language=lang)],
        tasks=workers, workers=workers, logging_dir=f"{work}/logs/1").run()
    LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(input_folder=f"{work}/sigs",
        output_folder=f"{work}/buckets", config=config)],
        tasks=config.num_buckets, workers=workers, logging_dir=f"{work}/logs/2").run()
    LocalPipelineExecutor(pipeline=[MinhashDedupCluster(input_folder=f"{work}/buckets",
        output_folder=f"{work}/remove_ids", config=config, save_cluster_id=True)],
        tasks=1, workers=1, logging_dir=f"{work}/logs/3").run()
    LocalPipelineExecutor(pipeline=[JsonlReader(data),
        MinhashDedupFilter(input_folder=f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed"),
                           load_cluster_ids=True),
        JsonlWriter(f"{work}/kept")],
        tasks=workers, workers=workers, logging_dir=f"{work}/logs/4").run()
    elapsed = time.perf_counter() - t0
    own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": max(own, workers_peak) / 1024}))


if __name__ == "__main__":  # the executor starts worker processes
    main()
'''


def run_datatrove(texts: pd.DataFrame, workers: int = 2) -> tuple[np.ndarray, dict]:
    """Cluster labels per row (rows datatrove keeps alone get their own label) and timing."""
    import gzip
    import shutil
    work = CACHE / "datatrove"
    shutil.rmtree(work, ignore_errors=True)
    (work / "input").mkdir(parents=True)
    for part, rows in enumerate(np.array_split(np.arange(len(texts)), workers)):  # a file per task
        with (work / "input" / f"eb_{part}.jsonl").open("w", encoding="utf-8") as out:
            for row in texts.iloc[rows].itertuples():
                out.write(json.dumps({"id": row.id, "text": row.text}, ensure_ascii=False) + "\n")
    script = work / "run_datatrove.py"
    script.write_text(DATATROVE_SCRIPT)
    proc = subprocess.run([str(DATATROVE_PY), str(script), str(work / "input"), str(work), str(workers)],
                          capture_output=True, text=True, check=True)
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    cluster_of: dict[str, object] = {}
    for folder in ("kept", "removed"):
        for path in sorted((work / folder).glob("*")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line in f:
                    doc = json.loads(line)
                    cid = doc.get("metadata", {}).get("minhash_cluster_id")
                    cluster_of[doc["id"]] = cid if cid not in (None, -1) else f"solo-{doc['id']}"
    labels = np.array([str(cluster_of.get(i, f"missing-{i}")) for i in texts["id"]], dtype=object)
    return labels, stats


# ---- incremental ---------------------------------------------------------------------------------
def incremental_cost(articles: pd.DataFrame, full: dedup.DedupResult, full_seconds: float,
                     share: float = 0.01, seed: int = 7) -> dict:
    """Dedup 99 % of the corpus (the published state, saved and loaded as an index), then a
    random 1 % against it; check the new articles land where the full run put them."""
    new_rows = np.random.default_rng(seed).choice(len(articles), max(1, round(len(articles) * share)),
                                                  replace=False)
    is_new = np.isin(np.arange(len(articles)), new_rows)
    old, new = articles[~is_new], articles[is_new]
    index_dir = CACHE / "index"
    dedup.dedup_articles(old).index.save(index_dir)
    # the index keeps no bodies: the old articles a candidate is verified against are read by
    # id from the published release (here: the old articles' frame)
    published = dict(zip(old["article_id"].astype(str), old["body"]))

    def fetch(ids: list[str]) -> dict[str, str]:
        return {a: published[a] for a in ids}

    load_seconds, seconds = float("inf"), float("inf")
    for _ in range(3):  # best of 3, like the full run; loaded afresh, so no round reuses the
        start = time.perf_counter()  # bodies an earlier one fetched
        loaded = dedup.DedupIndex.load(index_dir, fetch=fetch)
        load_seconds = min(load_seconds, time.perf_counter() - start)
        start = time.perf_counter()
        result = dedup.dedup_articles(new, loaded)
        seconds = min(seconds, time.perf_counter() - start)
    # same partner sets: for each new article, who shares its cluster in the full run and here
    full_cluster = full.clusters.set_index("article_id")["cluster_id"]
    inc_state = result.index.state.set_index("article_id")["cluster_id"]
    disagree = [aid for aid in new["article_id"]
                if set(full_cluster.index[full_cluster == full_cluster[aid]])
                != set(inc_state.index[inc_state == inc_state[aid]])]
    return {"new_docs": int(is_new.sum()), "seconds": seconds, "load_seconds": load_seconds,
            "share_of_full": seconds / full_seconds,
            "share_with_load": (seconds + load_seconds) / full_seconds,
            "rows_returned": len(result.clusters),
            "joined_existing": int((result.clusters["kind"] != "unique").sum()),
            "disagree_with_full": disagree}


# ---- main ----------------------------------------------------------------------------------------
def describe_pair(texts: pd.DataFrame, a: int, b: int, sets) -> str:
    jac, con = dedup.overlap_scores(sets[a], sets[b])
    return (f"{texts.at[a, 'id'][-8:]}~{texts.at[b, 'id'][-8:]} J={jac:.3f} C={con:.3f} "
            f"len={len(texts.at[a, 'text'])}/{len(texts.at[b, 'text'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="store_true", help="also sweep n-gram and LSH parameters")
    parser.add_argument("--no-datatrove", action="store_true")
    parser.add_argument("--rss-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_probe:
        return rss_probe()

    t0 = time.perf_counter()
    texts = load_texts()
    print(f"corpus: {len(texts)} pages with text ({time.perf_counter() - t0:.1f} s incl. extraction/cache)")
    articles = as_articles(texts)
    sets = [truth_shingles(t) for t in texts["text"]]
    norm_sets = [dedup.shingle_hashes(dedup.normalize_body(t), 5) for t in texts["text"]]
    t0 = time.perf_counter()
    truth = exact_pair_scores(sets, TRUTH_JACCARD)
    print(f"ground truth: {len(truth)} pairs with char-5-gram Jaccard >= {TRUTH_JACCARD} "
          f"(exact, prefix filtering, {time.perf_counter() - t0:.1f} s)")

    dedup.dedup_articles(articles.iloc[:50])  # warm-up: imports, lookup table
    runs = [run_newsgate(articles) for _ in range(3)]
    result, ng_seconds = runs[0][0], min(r[1] for r in runs)
    peak_mib = peak_memory_newsgate(articles)
    ng_labels = result.clusters.set_index("article_id").loc[texts["id"], "cluster_id"].to_numpy()
    ng = quality(ng_labels, truth, sets, norm_sets)
    rss = rss_newsgate()
    print(f"\nnewsgate: {ng_seconds:.2f} s (best of 3) = {len(texts) / ng_seconds:,.0f} articles/s, "
          f"peak traced allocation {peak_mib:.0f} MiB (tracemalloc); in a fresh process RSS "
          f"{rss['before_mib']:.0f} MiB after loading the texts, {rss['peak_mib']:.0f} MiB peak")
    print(f"  params: n={dedup.NGRAM}, {dedup.BANDS} bands x {dedup.ROWS} rows = {dedup.NUM_PERM} perms "
          f"(rensa {importlib.metadata.version('rensa')} RMinHash), "
          f"LSH threshold ~{dedup.LSH_THRESHOLD:.2f}, merge threshold {dedup.NEAR_THRESHOLD}")
    print(f"  clusters {ng['clusters']} ({ng['multi_clusters']} with >1 member), kinds "
          f"{result.clusters['kind'].value_counts().to_dict()}, recall {ng['recall']:.3f} "
          f"({ng['found']}/{len(truth)}), false merges {len(ng['false_merges'])} "
          f"({len(ng['false_merges_normalised'])} on normalised text)")
    for a, b in ng["missed"]:
        print("  missed", describe_pair(texts, a, b, sets))

    if not args.no_datatrove:
        dt_labels, dt_stats = run_datatrove(texts)
        dt = quality(dt_labels, truth, sets, norm_sets)
        print(f"\ndatatrove 0.10.1 (cmn_Hani, jieba word 5-grams, 14x8, 2 workers): "
              f"{dt_stats['seconds']:.2f} s = {len(texts) / dt_stats['seconds']:,.0f} articles/s, "
              f"peak RSS of its largest process {dt_stats['peak_rss_mib']:.0f} MiB")
        print(f"  clusters {dt['clusters']} ({dt['multi_clusters']} with >1 member), recall "
              f"{dt['recall']:.3f} ({dt['found']}/{len(truth)}), false merges {len(dt['false_merges'])} "
              f"({len(dt['false_merges_normalised'])} on normalised text)")
        for a, b in dt["missed"]:
            print("  missed", describe_pair(texts, a, b, sets))
        for a, b in dt["false_merges"]:
            print("  false merge", describe_pair(texts, a, b, sets))
        print(f"\nspeed-up newsgate vs datatrove: {dt_stats['seconds'] / ng_seconds:.1f}x")
        ng_pairs, dt_pairs = cluster_pairs(ng_labels), cluster_pairs(dt_labels)
        for name, only in (("only newsgate merged", ng_pairs - dt_pairs),
                           ("only datatrove merged", dt_pairs - ng_pairs)):
            print(f"  {name}: {len(only)} pairs")
            for a, b in sorted(only):
                print("   ", describe_pair(texts, a, b, sets))

    inc = incremental_cost(articles, result, ng_seconds)
    print(f"\nincremental: {inc['new_docs']} random new docs against the index of the other "
          f"{len(articles) - inc['new_docs']}: {inc['seconds']:.3f} s (best of 3) = {100 * inc['share_of_full']:.1f} % "
          f"of a full dedup ({100 * inc['share_with_load']:.1f} % incl. loading the index, "
          f"{inc['load_seconds']:.3f} s); {inc['rows_returned']} rows returned, "
          f"{inc['joined_existing']} joined a cluster; cluster partners differ from the full run "
          f"for {len(inc['disagree_with_full'])}: {inc['disagree_with_full']}")

    if args.sweep:
        sweep(texts, truth, sets, norm_sets)


def signature_backends(texts: pd.DataFrame) -> None:
    """Time to sign every text (64 permutations, char 5-grams of the normalised body): the
    rensa path dedup uses, rensa's per-document string API, and datasketch."""
    from rensa import RMinHash
    try:  # a comparison only: datasketch is not a project dependency
        from datasketch import MinHash
    except ImportError:
        MinHash = None
    norm = [dedup.normalize_body(t) for t in texts["text"]]

    def best_of_3(fn) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    def grams(t: str) -> list[str]:
        n = min(5, len(t))
        return [t[i:i + n] for i in range(len(t) - n + 1)] if t else []

    def rensa_per_document() -> None:
        for t in norm:
            sketch = RMinHash(64, dedup.SEED)
            sketch.update(grams(t))
            sketch.digest()

    ours = best_of_3(lambda: dedup.minhash_signatures([dedup.ngram_hashes(t) for t in norm], 64))
    per_doc = best_of_3(rensa_per_document)
    byte_grams = [[t[i:i + 5].encode() for i in range(max(1, len(t) - 4))] for t in norm]
    theirs = best_of_3(lambda: MinHash.bulk(byte_grams, num_perm=64)) if MinHash else float("nan")
    print(f"\nsignatures of {len(norm)} texts, 64 perms: dedup.signatures path (numpy 5-gram hashes "
          f"-> rensa RMinHash flat matrix) {ours:.3f} s; rensa RMinHash(64).update(list of 5-gram str) "
          f"per document {per_doc:.3f} s; datasketch MinHash.bulk (sha1 of byte 5-grams, lists "
          f"prepared) {theirs:.3f} s")


def sweep(texts: pd.DataFrame, truth: dict, sets, norm_sets) -> None:
    """Candidate volume / recall / time of LSH settings and n-gram lengths."""
    signature_backends(texts)
    print("\nsweep: n, bands x rows -> candidates, verified recall, false merges, seconds")
    articles = as_articles(texts)
    saved = (dedup.NGRAM, dedup.BANDS, dedup.ROWS, dedup.NUM_PERM)
    counted = {}
    verify = dedup.verify_pairs

    def counting_verify(pairs, shingles):
        verified = verify(pairs, shingles)
        counted.update(candidates=len(pairs), verified=len(verified))
        return verified

    dedup.verify_pairs = counting_verify
    try:
        for n, bands, rows in [(5, 16, 4), (5, 32, 4), (5, 20, 5), (5, 9, 7), (5, 8, 8), (5, 32, 2),
                               (4, 16, 4), (3, 16, 4), (6, 16, 4)]:
            dedup.NGRAM, dedup.BANDS, dedup.ROWS, dedup.NUM_PERM = n, bands, rows, bands * rows
            start = time.perf_counter()
            result = dedup.dedup_articles(articles)
            seconds = time.perf_counter() - start
            labels = result.clusters.set_index("article_id").loc[texts["id"], "cluster_id"].to_numpy()
            q = quality(labels, truth, sets, norm_sets)
            print(f"  n={n} {bands:2d}x{rows} (t~{(1 / bands) ** (1 / rows):.2f}): {counted['candidates']} "
                  f"candidates, {counted['verified']} verified, recall {q['recall']:.3f}, "
                  f"false {len(q['false_merges'])}/{len(q['false_merges_normalised'])}, clusters {q['clusters']}, {seconds:.2f} s")
            for a, b in q["false_merges"]:
                print("      false merge", describe_pair(texts, a, b, sets),
                      "(still false normalised)" if (a, b) in q["false_merges_normalised"] else
                      "(not false on normalised text)")
    finally:
        dedup.verify_pairs = verify
        dedup.NGRAM, dedup.BANDS, dedup.ROWS, dedup.NUM_PERM = saved


if __name__ == "__main__":
    main()
