"""The shared corpora as the pipeline sees them: ingested and cleaned by the project's own stages.

    bench_articles()  ../shared/corpus/bench/eb.jsonl, cleaned in the flow's batches (cached)
    dev_articles()    ../shared/corpus/dev/*, cleaned as one run over the folder (cached)

Used by benchmarks/stories.py and tests/gold/stories/build.py; both need ../shared
(`NEWSGATE_SHARED` overrides its location). The caches live in benchmarks/.cache/ and are
rebuilt when the corpus or the clean stage's code is newer.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSGATE_SHARED", ROOT.parent / "shared"))
BENCH = SHARED / "corpus" / "bench" / "eb.jsonl"
DEV = SHARED / "corpus" / "dev"
CACHE = Path(__file__).resolve().parent / ".cache"


def _clean_code_mtime() -> float:
    return max(p.stat().st_mtime for p in (ROOT / "tasks" / "clean").glob("*"))


def _cleaned(paths: list[Path], cache: Path, batch_size: int) -> pd.DataFrame:
    """Articles of `paths`, ingested and cleaned in the flow's batches (largest site templates
    are found per batch, as in a run)."""
    newest = max([p.stat().st_mtime for p in paths] + [_clean_code_mtime()])
    if cache.exists() and cache.stat().st_mtime > newest:
        return pd.read_parquet(cache)
    from newsgate.flows.stage_runner import split
    from newsgate.tasks.clean import STAGE as CLEAN
    from newsgate.tasks.ingest import ingest_files
    from newsgate.tasks.records import to_records

    documents = ingest_files(paths).documents
    batches = split(to_records(documents, CLEAN.columns), batch_size, CLEAN.batches.multiple)
    with ProcessPoolExecutor(max(1, min(len(batches), os.cpu_count() or 1))) as pool:
        cleaned = list(pool.map(CLEAN.function, batches))
    articles = pd.concat([CLEAN.frames(c)["articles"] for c in cleaned], ignore_index=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    articles.to_parquet(cache, index=False)
    return articles


def bench_articles(batch_size: int = 400) -> pd.DataFrame:
    """The bench corpus's articles (3,355 of its 3,426 pages yield one)."""
    return _cleaned([BENCH], CACHE / "eb_clean.parquet", batch_size)


def dev_articles() -> pd.DataFrame:
    """The dev corpus's articles, `source` = the file's path."""
    paths = sorted(p for p in DEV.iterdir() if p.is_file() and p.suffix in (".txt", ".html"))
    return _cleaned(paths, CACHE / "dev_clean.parquet", 400)
