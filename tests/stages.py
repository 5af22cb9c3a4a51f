"""The stages' functions over frames, for tests: what the flow makes of one batch."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from newsgate.tasks.clean import STAGE as CLEAN
from newsgate.tasks.extract import STAGE as EXTRACT


def clean_documents(documents: pd.DataFrame) -> SimpleNamespace:
    """Articles, removals and quarantine of one batch of documents, as attributes."""
    return SimpleNamespace(**CLEAN.over_frame(documents))


def extract_articles(articles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The fact tables of one batch of articles."""
    return {t: f for t, f in EXTRACT.over_frame(articles).items() if t != "quarantine"}
