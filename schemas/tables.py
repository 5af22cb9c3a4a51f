"""Pandera models: one per published table (the cheap, fail-fast half of every gate).

Column checks catch types, nulls, enums and caps (their values: schemas/contract.py); a row
that fails one, or a `dataframe_check` (a row rule), goes to quarantine under the check's name
(see tasks/gates.py). Dataset-level rules (unique keys, reconciliation) live in the Great
Expectations suites under expectations/, and only there.

`Field(metadata={"arrow": ...})` names the Arrow type a column is published with when pandas
alone cannot say it (lists, all-null columns).
"""
from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from newsgate.schemas.contract import (CLUSTER_KINDS, DATE_SOURCES, DOCUMENT_FORMATS,
                                       ISO_PARTIAL_DATE, ISO_TIME, MAX_INVESTMENT_YUAN,
                                       MENTION_KINDS, PROJECT_STATUSES, REGION_LEVELS,
                                       STORY_RELATIONS)
from newsgate.tasks.clean.metadata import looks_like_person, plausible
from newsgate.tasks.extract import sense

LIST_OF_STR = {"arrow": "list<string>"}


# a flag is the nullable boolean type: pandera coerces a missing flag to <NA> (then refused, the
# row quarantined), where `bool` would silently make it False
def _flag():
    return pa.Field(nullable=False)


def _opt_str(**kw):
    return pa.Field(nullable=True, coerce=True, **kw)


class _Base(pa.DataFrameModel):
    class Config:
        strict = False  # stages may add columns; required ones are checked
        coerce = True


class Documents(_Base):
    doc_id: Series[str] = pa.Field(str_length={"min_value": 8})
    source: Series[str]
    format: Series[str] = pa.Field(isin=DOCUMENT_FORMATS)
    encoding: Series[str]
    n_bytes: Series[int] = pa.Field(ge=1)
    text: Series[str]

    @pa.dataframe_check(name="text_not_blank", error="text is blank")
    def text_not_blank(cls, df: pd.DataFrame) -> pd.Series:
        return df["text"].str.strip().str.len() > 0


class Articles(_Base):
    article_id: Series[str]
    doc_id: Series[str]
    seq: Series[int] = pa.Field(ge=0)
    title: Series[str] = _opt_str()
    subtitle: Series[str] = _opt_str()
    outlet: Series[str] = _opt_str()
    published_date: Series[str] = _opt_str(str_matches=ISO_PARTIAL_DATE)
    published_time: Series[str] = _opt_str(str_matches=ISO_TIME)
    date_source: Series[str] = _opt_str(isin=list(DATE_SOURCES))
    dateline_place: Series[str] = _opt_str()
    authors: Series[object] = pa.Field(metadata=LIST_OF_STR)
    reporters: Series[object] = pa.Field(metadata=LIST_OF_STR)
    editors: Series[object] = pa.Field(metadata=LIST_OF_STR)
    photographers: Series[object] = pa.Field(metadata=LIST_OF_STR)
    body: Series[str]
    n_chars: Series[int] = pa.Field(ge=1)

    @pa.dataframe_check(name="n_chars_is_body_length", error="n_chars != len(body)")
    def n_chars_matches(cls, df: pd.DataFrame) -> pd.Series:
        return df["body"].str.len() == df["n_chars"]

    @pa.dataframe_check(name="published_date_plausible",
                        error="published_date is in the future or before 1990")
    def published_date_plausible(cls, df: pd.DataFrame) -> pd.Series:
        today = date.today()  # (a malformed date is str_matches' to quarantine, not this rule's)
        return df["published_date"].map(lambda d: not isinstance(d, str) or not re.match(ISO_PARTIAL_DATE, d)
                                        or plausible(d, today)).astype(bool)

    @pa.dataframe_check(name="outlet_not_a_person", error="the outlet is a person's name, not an organisation")
    def outlet_not_a_person(cls, df: pd.DataFrame) -> pd.Series:
        return df["outlet"].map(lambda o: not isinstance(o, str) or not looks_like_person(o)).astype(bool)


class Removals(_Base):
    doc_id: Series[str]
    rule: Series[str]
    text: Series[str]
    line_no: Series[int] = pa.Field(ge=0)


class Clusters(_Base):
    article_id: Series[str]
    cluster_id: Series[str]
    canonical_id: Series[str]
    is_canonical: Series[pd.BooleanDtype] = _flag()
    kind: Series[str] = pa.Field(isin=CLUSTER_KINDS)
    similarity: Series[float] = pa.Field(ge=0.0, le=1.0)


class Stories(_Base):
    """One row per clustered article: its story and the evidence that joined it
    (tasks/stories.py). The representative's relation is `unique`, as in clusters.kind."""
    story_id: Series[str]
    article_id: Series[str]
    relation: Series[str] = pa.Field(isin=STORY_RELATIONS)
    score: Series[float] = pa.Field(ge=0.0, le=1.0)
    evidence: Series[str]
    matched_id: Series[str] = _opt_str()
    is_representative: Series[pd.BooleanDtype] = _flag()
    cluster_id: Series[str]
    containment: Series[float] = pa.Field(ge=0.0, le=1.0)
    shared_clauses: Series[int] = pa.Field(ge=0)
    lead_support: Series[float] = pa.Field(ge=0.0, le=1.0)
    shared_figures: Series[object] = pa.Field(metadata=LIST_OF_STR)
    conflicting_figures: Series[object] = pa.Field(metadata=LIST_OF_STR)
    shared_names: Series[object] = pa.Field(metadata=LIST_OF_STR)
    days_apart: Series["Int64"] = pa.Field(nullable=True, ge=0)
    story_size: Series[int] = pa.Field(ge=1)

    @pa.dataframe_check(name="representative_is_unique",
                        error="relation is 'unique' exactly for the representative, which has no match")
    def representative_is_unique(cls, df: pd.DataFrame) -> pd.Series:
        rep = df["is_representative"].fillna(False).astype(bool)  # a missing flag: not_nullable's
        return (rep == (df["relation"] == "unique")) & (rep == df["matched_id"].isna())


class _Spans(_Base):
    """Rows that quote their article: `start`/`end` are offsets into the article's body."""
    article_id: Series[str]
    start: Series[int] = pa.Field(ge=0)
    end: Series[int] = pa.Field(ge=1)

    @pa.dataframe_check(name="span_not_empty", error="end <= start")
    def span_not_empty(cls, df: pd.DataFrame) -> pd.Series:
        # numbers, whatever the columns hold: a missing offset fails here, it does not raise
        return pd.to_numeric(df["end"], errors="coerce") > pd.to_numeric(df["start"], errors="coerce")


def _each(df: pd.DataFrame, rule, *columns: str) -> pd.Series:
    """A row rule of tasks/extract/sense.py applied to every row (missing values as None)."""
    values = [df[c].astype(object).where(df[c].notna(), None) for c in columns]
    return pd.Series([bool(rule(*args)) for args in zip(*values)], index=df.index, dtype=bool)


class _Facts(_Spans):
    """Every fact row says which rule produced it and how sure it is (tasks/extract/confidence.py)."""
    pattern: Series[str]
    confidence: Series[float] = pa.Field(ge=0.0, le=1.0)
    needs_review: Series[pd.BooleanDtype] = _flag()


class Mentions(_Facts):
    kind: Series[str] = pa.Field(isin=MENTION_KINDS)
    text: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    value_max: Series[float] = pa.Field(nullable=True)
    unit: Series[str] = _opt_str()
    normalized: Series[str] = _opt_str()
    measure: Series[str] = _opt_str()

    @pa.dataframe_check(name="range_ordered")
    def range_ordered(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.range_ordered, "value", "value_max")

    @pa.dataframe_check(name="count_is_whole")
    def count_is_whole(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.count_is_whole, "measure", "value", "text")

    @pa.dataframe_check(name="amount_reads_back")
    def amount_reads_back(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.amount_reads_back, "text", "value", "value_max", "value_yuan")


class Projects(_Facts):
    project_id: Series[str]
    name: Series[str]
    investment_yuan: Series[float] = pa.Field(
        nullable=True, gt=0, lt=MAX_INVESTMENT_YUAN)
    investment_yuan_max: Series[float] = pa.Field(nullable=True, gt=0)
    investment_text: Series[str] = _opt_str()
    status: Series[str] = pa.Field(isin=PROJECT_STATUSES)
    status_text: Series[str] = _opt_str()
    place: Series[str] = _opt_str()
    admin_code: Series[str] = _opt_str()
    industry: Series[str] = _opt_str()
    evidence: Series[str]

    @pa.dataframe_check(name="investment_range_ordered")
    def investment_range_ordered(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.range_ordered, "investment_yuan", "investment_yuan_max")

    @pa.dataframe_check(name="investment_reads_back")
    def investment_reads_back(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.yuan_reads_back, "investment_text", "investment_yuan", "investment_yuan_max")


class Indicators(_Facts):
    region: Series[str] = _opt_str()
    region_full: Series[str] = _opt_str()
    period: Series[str] = _opt_str()
    metric: Series[str]
    value: Series[float]
    value_max: Series[float] = pa.Field(nullable=True)
    unit: Series[str] = _opt_str()
    measure: Series[str] = _opt_str()
    value_text: Series[str] = _opt_str()
    evidence: Series[str]

    @pa.dataframe_check(name="metric_names_a_measure")
    def metric_names_a_measure(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.names_a_measure, "metric")

    @pa.dataframe_check(name="unit_fits_metric")
    def unit_fits_metric(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.unit_fits, "metric", "measure")

    @pa.dataframe_check(name="range_ordered")
    def range_ordered(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.range_ordered, "value", "value_max")

    @pa.dataframe_check(name="count_is_whole")
    def count_is_whole(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.count_is_whole, "measure", "value", "value_text")

    @pa.dataframe_check(name="amount_reads_back")
    def amount_reads_back(cls, df: pd.DataFrame) -> pd.Series:
        return _each(df, sense.amount_reads_back, "value_text", "value", "value_max", "value_yuan")


class Visits(_Facts):
    person: Series[str]
    title: Series[str] = _opt_str()
    place: Series[str] = _opt_str()
    date: Series[str] = _opt_str(str_matches=ISO_PARTIAL_DATE)
    evidence: Series[str]


class Keywords(_Base):
    article_id: Series[str]
    keyword: Series[str]
    weight: Series[float] = pa.Field(ge=0.0)


class RegionStats(_Base):
    region_full: Series[str]
    admin_code: Series[str] = _opt_str()
    level: Series[str] = pa.Field(isin=REGION_LEVELS)
    year: Series[str] = _opt_str()
    n_articles: Series[int] = pa.Field(ge=0)
    n_projects: Series[int] = pa.Field(ge=0)
    investment_yuan_total: Series[float] = pa.Field(ge=0.0)


class Quarantine(_Base):
    stage: Series[str]
    source: Series[str] = _opt_str()
    doc_id: Series[str] = _opt_str()
    reason: Series[str]
    detail: Series[str] = _opt_str()


SCHEMAS: dict[str, type[_Base]] = {
    "documents": Documents,
    "articles": Articles,
    "removals": Removals,
    "clusters": Clusters,
    "stories": Stories,
    "mentions": Mentions,
    "projects": Projects,
    "indicators": Indicators,
    "visits": Visits,
    "keywords": Keywords,
    "region_stats": RegionStats,
    "quarantine": Quarantine,
}
TABLES = list(SCHEMAS)
