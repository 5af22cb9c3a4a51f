"""A release is cumulative: this run's documents replace their own earlier rows, the rest of
the previous release carries over. doc_id is a content hash, so re-running the same inputs
reproduces the same release instead of duplicating it.
"""
from __future__ import annotations

import pandas as pd


def doc_ids_of(df: pd.DataFrame) -> pd.Series:
    """The document every row belongs to (article_id is `<doc_id>-<seq>`)."""
    if "doc_id" in df.columns:
        return df["doc_id"]
    if "article_id" in df.columns:
        return df["article_id"].str.rsplit("-", n=1).str[0]
    raise KeyError("table has neither doc_id nor article_id")


def carry_over(previous: pd.DataFrame | None, replaced_doc_ids: set[str]) -> pd.DataFrame | None:
    """Rows of the previous release that this run does not replace."""
    if previous is None or previous.empty:
        return None
    return previous[~doc_ids_of(previous).isin(replaced_doc_ids)]


def combine(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    if previous is None or previous.empty:
        return current.reset_index(drop=True)
    if current.empty:
        return previous.reset_index(drop=True)
    merged = pd.concat([previous, current], ignore_index=True)
    for column in current.columns.difference(previous.columns):
        # a column added since the previous release: its list columns are empty lists, not NaN
        if current[column].map(lambda v: isinstance(v, list)).any():
            old = merged.index[:len(previous)]
            merged.loc[old, column] = pd.Series([[] for _ in old], index=old, dtype=object)
    return merged


def merge_table(previous: pd.DataFrame | None, current: pd.DataFrame,
                replaced_doc_ids: set[str]) -> pd.DataFrame:
    return combine(carry_over(previous, replaced_doc_ids), current)


def merge_quarantine(previous: pd.DataFrame | None, current: pd.DataFrame,
                     run_sources: set[str]) -> pd.DataFrame:
    """Quarantine is keyed by source: a source seen again replaces its old verdicts."""
    if previous is None or previous.empty:
        return current.reset_index(drop=True)
    base = previous["source"].fillna("").str.split("#L", n=1).str[0]
    return combine(previous[~base.isin(run_sources)], current)


def upsert(previous: pd.DataFrame | None, current: pd.DataFrame, key: str) -> pd.DataFrame:
    """`previous` with the rows `current` has for the same key replaced, plus `current`'s new rows."""
    if previous is None or previous.empty:
        return current.reset_index(drop=True)
    return combine(previous[~previous[key].isin(current[key])], current)


def patch(rows: pd.DataFrame, update: pd.DataFrame, key: str) -> pd.DataFrame:
    """`rows` with the rows of `update` in place of the rows with the same key (in their
    position), and `update`'s other rows after them."""
    if update.empty:
        return rows
    replaced = rows[key].isin(update[key])
    if not replaced.any():
        return combine(rows, update.reindex(columns=rows.columns))
    position = pd.Series(range(len(rows)), index=rows[key].to_numpy())
    merged = pd.concat([rows[~replaced.to_numpy()], update.reindex(columns=rows.columns)])
    order = merged[key].map(position).fillna(len(rows)).to_numpy()
    return merged.iloc[pd.Series(order).argsort(kind="stable").to_numpy()].reset_index(drop=True)
