"""Clean stage: documents -> articles (+ removals with the rule behind every removed line, + quarantine).

    clean_records(documents) -> {"articles", "removals", "quarantine"}: lists of row dicts

One entry, over plain rows (the worker processes that run it import no pandas: ~100 MB
each); `STAGE` declares it to the flow (tasks/stage.py), and `STAGE.frames(...)` makes frames.

Per batch: (1) reduce every document to numbered lines (HTML: main text via trafilatura), (2) find
template lines repeated across a site's documents, (3) clean each document: rule catalogue,
captions, page segmentation, layout repair, metadata. One failing document becomes a quarantine
row (`clean error`); a document left without text becomes `no article after cleaning`.
"""
from __future__ import annotations

from newsgate.tasks.stage import Batches, Stage

from .document import SourceDoc, clean_document, prepare
from .repeated import repeated_lines, site_group

ARTICLE_COLUMNS = ["article_id", "doc_id", "seq", "title", "subtitle", "outlet", "published_date",
                   "published_time", "date_source", "dateline_place", "authors", "reporters", "editors",
                   "photographers", "body", "n_chars", "captions", "source", "warnings"]
REMOVAL_COLUMNS = ["doc_id", "rule", "text", "line_no"]
# the document columns cleaning reads
INPUT_COLUMNS = ["doc_id", "source", "format", "container", "url", "title_hint", "published_hint",
                 "text"]

__all__ = ["INPUT_COLUMNS", "STAGE", "clean_records"]


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


def clean_records(rows: list[dict]) -> dict[str, list[dict]]:
    """Articles, removals and quarantine rows of a batch of documents (row dicts, missing values
    None). Serial and pure: the flow runs batches in parallel (tasks/workers.py)."""
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


def _this_run(output, tables) -> list[tuple[str, int]]:
    return [("articles (this run)", len(output.made["articles"]))]


STAGE = Stage(
    name="clean", function=clean_records, reads={"documents": INPUT_COLUMNS}, key="doc_id",
    writes={"articles": ARTICLE_COLUMNS, "removals": REMOVAL_COLUMNS},
    # bylines and dates are read with extract's people, places and dates (tasks/clean/metadata.py)
    code=("newsgate.tasks.clean", "newsgate.tasks.extract"), carry="replace",
    # a site's repeated template lines are found within a batch, so the split must not depend on
    # the number of workers (or the tables would): an even number of batches suits two workers
    batches=Batches(multiple=2, longest_first="text"),
    dtypes={"seq": "int64", "n_chars": "int64", "line_no": "int64"}, counts=_this_run)
