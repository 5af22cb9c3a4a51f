"""Clean stage: documents -> articles (+ removals with the rule behind every removed line, + quarantine).

    clean_documents(documents) -> CleanBatch(articles, removals, quarantine)
    clean_records(records) -> {"articles", "removals", "quarantine"}: lists of row dicts

`clean_records` is the pandas-free core that worker processes run (they never import pandas:
~100 MB each); `clean_documents` is the same over DataFrames.

Per batch: (1) reduce every document to numbered lines (HTML: main text via trafilatura), (2) find
template lines repeated across a site's documents, (3) clean each document: rule catalogue,
captions, page segmentation, layout repair, metadata. One failing document becomes a quarantine
row (`clean error`); a document left without text becomes `no article after cleaning`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsgate.tasks.records import to_records

from .document import SourceDoc, clean_document, prepare
from .repeated import repeated_lines, site_group

ARTICLE_COLUMNS = ["article_id", "doc_id", "seq", "title", "subtitle", "outlet", "published_date",
                   "published_time", "date_source", "dateline_place", "authors", "reporters", "editors",
                   "photographers", "body", "n_chars", "captions", "source", "warnings"]
REMOVAL_COLUMNS = ["doc_id", "rule", "text", "line_no"]
QUARANTINE_COLUMNS = ["stage", "source", "doc_id", "reason", "detail"]
# the document columns cleaning reads
INPUT_COLUMNS = ["doc_id", "source", "format", "container", "url", "title_hint", "published_hint",
                 "text"]

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CleanBatch", "INPUT_COLUMNS", "clean_documents", "clean_records"]


@dataclass
class CleanBatch:
    articles: pd.DataFrame
    removals: pd.DataFrame
    quarantine: pd.DataFrame

    @classmethod
    def from_rows(cls, rows: dict[str, list[dict]]) -> CleanBatch:
        return cls(_frame(rows["articles"], ARTICLE_COLUMNS, ints=("seq", "n_chars")),
                   _frame(rows["removals"], REMOVAL_COLUMNS, ints=("line_no",)),
                   _frame(rows["quarantine"], QUARANTINE_COLUMNS))


def _value(row: dict, key: str):
    value = row.get(key)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def _prepare_row(row: dict) -> SourceDoc | str:
    """A SourceDoc, or the error text when even preparing the document fails."""
    try:
        text = row.get("text")
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, not str")
        doc = prepare(str(row["doc_id"]), str(row.get("source") or ""), str(row.get("format") or "text"),
                      text, _value(row, "title_hint"), _value(row, "published_hint"), _value(row, "url"))
        doc.group = site_group(doc.source, _value(row, "container"), _value(row, "url"))
        return doc
    except Exception as exc:  # one bad document must not stop the batch
        return f"{type(exc).__name__}: {exc}"


def clean_documents(documents: pd.DataFrame) -> CleanBatch:
    """Serial and pure: the flow runs batches in parallel (tasks/workers.py)."""
    return CleanBatch.from_rows(clean_records(to_records(documents, INPUT_COLUMNS)))


def clean_records(rows: list[dict]) -> dict[str, list[dict]]:
    """`clean_documents` over plain row dicts (missing values None), returning row dicts."""
    prepared = [_prepare_row(r) for r in rows]
    docs = [d for d in prepared if isinstance(d, SourceDoc)]
    templates = repeated_lines((d.group, [text for _, text in d.lines]) for d in docs)

    articles, removals, quarantine = [], [], []
    for row, doc in zip(rows, prepared):
        quarantined = {"stage": "clean", "source": row.get("source"), "doc_id": row.get("doc_id")}
        if isinstance(doc, str):
            quarantine.append({**quarantined, "reason": "clean error", "detail": doc})
            continue
        try:
            result = clean_document(doc, frozenset(templates.get(doc.group, ())))
        except Exception as exc:  # one bad document must not stop the batch
            quarantine.append({**quarantined, "reason": "clean error",
                               "detail": f"{type(exc).__name__}: {exc}"})
            continue
        removals.extend(result.removals)
        if result.articles:
            articles.extend(result.articles)
        else:
            quarantine.append({**quarantined, "reason": "no article after cleaning",
                               "detail": f"{len(result.removals)} line(s) removed, no text left"})
    return {"articles": articles, "removals": removals, "quarantine": quarantine}


def _frame(rows: list[dict], columns: list[str], ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """Object columns keep None as None (pandas would turn it into NaN in inferred str columns)."""
    import pandas as pd
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for column in ints:
        frame[column] = frame[column].astype("int64")
    return frame
