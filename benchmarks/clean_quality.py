"""Clean-stage quality and speed benchmark.

    python benchmarks/clean_quality.py [--shared ../shared] [--bench] [--workers N]

1. Seeds gold (gold/seeds.json): boilerplate, joins, titles, segmentation, must_contain…, metadata.
2. Dev HTML pages with human-checked main text (corpus/dev/_gold/mh_N.txt): character F1 of
   newsgate's article body vs trafilatura alone (`trafilatura.extract(page)`, default settings),
   per page and overall (macro mean). F1 is bag-of-characters (multiset of non-whitespace
   characters): it rewards keeping the content and dropping boilerplate and ignores line breaks.
   The headline number is the body alone; a second column adds the `captions` column (the human
   gold counts photo captions as main text, newsgate keeps them apart from the body).
   For the 3 pages with a GeneralNewsExtractor reference (_gold/gne_N.json, not human-checked) the
   same F1 against GNE's content is printed for information.
3. --bench: articles/s of the clean stage on corpus/bench/eb.jsonl (3,426 HTML pages).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.clean_scoring import char_f1, format_tallies, score_seeds  # noqa: E402
from newsgate.tasks.clean import STAGE as CLEAN  # noqa: E402


def clean_documents(rows: list[dict]) -> SimpleNamespace:
    """The clean stage over one batch of document rows: articles, removals, quarantine frames."""
    return SimpleNamespace(**CLEAN.frames(CLEAN.function(rows)))


def document_row(text: str, source: str, fmt: str, **extra) -> dict:
    return {"doc_id": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], "source": source,
            "format": fmt, "text": text, "title_hint": None, "published_hint": None, "url": None,
            "warnings": [], **extra}


def read_page(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def seeds_report(shared: Path) -> None:
    gold = json.loads((shared / "gold" / "seeds.json").read_text(encoding="utf-8"))
    rows, ids = [], {}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        row = document_row(path.read_text(encoding="utf-8"), str(path), "text")
        rows.append(row)
        ids[path.name] = row["doc_id"]
    batch = clean_documents(rows)
    tallies = score_seeds(gold, batch.articles, batch.removals, ids)
    print("== seeds gold")
    print(format_tallies(tallies))
    for tally in tallies.values():
        for failure in tally.failures:
            print("   FAIL", failure)


def html_report(shared: Path) -> tuple[float, float]:
    dev = shared / "corpus" / "dev"
    pages = []
    for gold_path in sorted(dev.glob("_gold/*"), key=lambda p: (p.suffix, int(p.stem.split("_")[1]))):
        page = dev / (gold_path.stem + ".html")
        if gold_path.suffix == ".txt":
            pages.append((page, gold_path.read_text(encoding="utf-8"), "human"))
        else:
            pages.append((page, json.loads(gold_path.read_text(encoding="utf-8"))["content"], "gne"))
    rows = [document_row(read_page(p), str(p), "html") for p, _, _ in pages]
    batch = clean_documents(rows)
    arts = batch.articles
    bodies = arts.groupby("doc_id")["body"].apply("\n".join).to_dict()
    captions = arts.groupby("doc_id")["captions"].apply(lambda c: "\n".join(x for cs in c for x in cs)).to_dict()
    print("\n== dev HTML main text: char F1 (bag of characters)")
    print(f"{'page':12s} {'ref':6s} {'newsgate':>9s} {'+captions':>10s} {'trafilatura':>12s}")
    scores = []
    for (page, gold_text, kind), row in zip(pages, rows):
        body = bodies.get(row["doc_id"], "")
        f_ours = char_f1(body, gold_text)
        f_caps = char_f1(body + "\n" + captions.get(row["doc_id"], ""), gold_text)
        f_base = char_f1(trafilatura.extract(row["text"]) or "", gold_text)
        print(f"{page.stem:12s} {kind:6s} {f_ours:9.3f} {f_caps:10.3f} {f_base:12.3f}")
        if kind == "human":
            scores.append((f_ours, f_caps, f_base))
    means = [sum(col) / len(scores) for col in zip(*scores)]
    print(f"{'overall':12s} {'human':6s} {means[0]:9.3f} {means[1]:10.3f} {means[2]:12.3f}"
          f"   (macro mean over {len(scores)} pages)")
    return means[0], means[2]


def speed_report(shared: Path, workers: int | None) -> None:
    """The flow's way: batches of 400 as plain rows on the run's workers (this process and a
    pool, tasks/workers.py)."""
    from concurrent.futures import ThreadPoolExecutor

    from newsgate.tasks.workers import Workers, available_cpus

    path = shared / "corpus" / "bench" / "eb.jsonl"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            record = json.loads(line)
            rows.append(document_row(record["html"], str(path), "html", container="jsonl", line_no=n))
    workers = workers or available_cpus()
    batches = [[{k: r.get(k) for k in CLEAN.columns} for r in rows[i:i + 400]]
               for i in range(0, len(rows), 400)]
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    with Workers(workers) as pool, ThreadPoolExecutor(workers) as threads:
        done = list(threads.map(lambda b: pool.call(CLEAN.function, b), batches))
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    batch = SimpleNamespace(**CLEAN.frames(
        {t: [r for d in done for r in d[t]] for t in ("articles", "removals", "quarantine")}))
    n = len(batch.articles)
    print(f"\n== speed: {len(rows)} documents -> {n} articles, {len(batch.quarantine)} quarantined, "
          f"{seconds:.1f} s wall, {n / seconds:.0f} articles/s (workers={workers}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    # CPU time says what the stage costs when the box is shared with other jobs
    print(f"   {cpu:.1f} CPU-s (incl. worker processes), {n / cpu:.0f} articles per CPU-second")
    print(batch.removals.rule.value_counts().to_string())


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--bench", action="store_true", help="also time the eb.jsonl bench corpus")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes for --bench (default: available CPUs)")
    args = parser.parse_args()
    seeds_report(args.shared)
    html_report(args.shared)
    if args.bench:
        speed_report(args.shared, args.workers)


if __name__ == "__main__":
    main()
