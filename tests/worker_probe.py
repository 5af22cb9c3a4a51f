"""Run in a worker process by test_workers.py; imports nothing heavy itself (no pandas)."""
from __future__ import annotations

import sys

HEAVY = ("pandas", "numpy", "pyarrow", "prefect", "great_expectations")


def clean_extract_and_list_heavy_modules(documents: list[dict]) -> tuple[int, int, list[str]]:
    """Clean and extract `documents` here as the runner's batches do (rows back as columns),
    then name the heavy packages this process holds."""
    from newsgate.tasks.clean import STAGE as CLEAN
    from newsgate.tasks.extract import EXTRACT_INPUTS, STAGE as EXTRACT
    from newsgate.tasks.stage import in_columns
    articles = CLEAN.function(documents)["articles"]
    facts = in_columns(EXTRACT.function, EXTRACT.outputs,
                       [{k: a[k] for k in EXTRACT_INPUTS} for a in articles])
    return len(articles), len(facts["mentions"]["article_id"]), [m for m in HEAVY if m in sys.modules]


def lexicon_is_loaded() -> bool:
    from newsgate.tasks.extract.tokenize import lexicon
    return lexicon.cache_info().currsize == 1


def slow_start() -> None:
    """A warm-up that takes long (a worker still loading when the run stops early)."""
    import time
    time.sleep(6)


def pid_per_item(items: list) -> list[int]:
    """This process's id once per item (after a pause, so that chunks overlap)."""
    import os
    import time
    time.sleep(0.5)
    return [os.getpid()] * len(items)
