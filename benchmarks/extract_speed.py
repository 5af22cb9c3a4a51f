"""Extract-stage speed vs the floor of one bare jieba pass.

    python benchmarks/extract_speed.py [--shared ../shared] [--limit N]

Input: corpus/bench/eb.jsonl (3,426 HTML pages). Body text = trafilatura.extract(html) (default
settings), cached in benchmarks/.cache/extract_eb_text.parquet so reruns time extraction only.
Both timings exclude one-off start-up (dictionary loading): each side is warmed up on one article
first, and each is timed --repeat times (default 3), keeping the fastest. Reported: articles/s and MB/s of `extract_articles`, of `jieba.lcut` over the same bodies
(the floor: extraction must at least segment every body once), and their ratio (goal <= 3x).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / ".cache" / "extract_eb_text.parquet"


def _extract(html: str) -> str:
    import trafilatura
    return trafilatura.extract(html) or ""


def bench_texts(shared: Path) -> pd.DataFrame:
    if CACHE.exists():
        return pd.read_parquet(CACHE)
    rows = [json.loads(line) for line in (shared / "corpus" / "bench" / "eb.jsonl").open(encoding="utf-8")]
    with ProcessPoolExecutor() as pool:
        texts = list(pool.map(_extract, [r["html"] for r in rows], chunksize=32))
    df = pd.DataFrame({"id": [r["id"] for r in rows], "text": texts})
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(CACHE, index=False)
    return df


def as_articles(texts: pd.DataFrame) -> pd.DataFrame:
    texts = texts[texts["text"].str.strip().str.len() > 0]
    return pd.DataFrame({"article_id": texts["id"], "doc_id": texts["id"], "title": None,
                         "body": texts["text"], "published_date": None, "dateline_place": None,
                         "outlet": None})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    articles = as_articles(bench_texts(Path(args.shared)))
    if args.limit:
        articles = articles.head(args.limit)
    from newsgate.tasks.extract import STAGE as EXTRACT
    extract_articles = EXTRACT.over_frame
    from newsgate.tasks.extract.tokenize import segmenter
    jieba = segmenter()
    extract_articles(articles.head(1))                      # warm-up: dictionaries, gazetteer
    bodies = articles["body"].tolist()
    n_mb = sum(len(b.encode("utf-8")) for b in bodies) / 1e6

    floor, took, tables = float("inf"), float("inf"), {}
    for _ in range(args.repeat):  # best of N: the machine is shared, the minimum is the signal
        t0 = time.perf_counter()
        for body in bodies:
            jieba.lcut(body)
        floor = min(floor, time.perf_counter() - t0)
        t0 = time.perf_counter()
        tables = extract_articles(articles)
        took = min(took, time.perf_counter() - t0)

    print(f"articles: {len(articles)}  text: {n_mb:.1f} MB  (jieba module: {jieba.__name__})")
    print(f"jieba.lcut floor : {floor:7.2f} s  {len(bodies) / floor:8.1f} articles/s  {n_mb / floor:6.2f} MB/s")
    print(f"extract_articles : {took:7.2f} s  {len(bodies) / took:8.1f} articles/s  {n_mb / took:6.2f} MB/s")
    print(f"ratio extract / floor: {took / floor:.2f}x (goal <= 3x)")
    print("rows: " + ", ".join(f"{k} {len(v)}" for k, v in tables.items()))


if __name__ == "__main__":
    main()
