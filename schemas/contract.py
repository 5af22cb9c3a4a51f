"""The published contract's values, each defined once: enums, caps and the quarantine columns.

The pandera models (schemas/tables.py), the extractors and the gates take them from here; the
JSON suites name none of them (a test keeps it so: a suite that restated an enum or a cap
would be a second home for it). Plain Python: the extract stage imports this in worker
processes that import no pandas.
"""
from __future__ import annotations

DOCUMENT_FORMATS = ["text", "html"]  # what documents.text holds
PROJECT_STATUSES = ["planned", "new_start", "under_construction", "completed", "in_operation",
                    "trial_production", "unknown"]
MENTION_KINDS = ["place", "person", "org", "money", "date", "percent", "count", "area"]
CLUSTER_KINDS = ["unique", "exact", "near"]
# unique = the story's representative (as clusters.kind); the others say how an article joined
STORY_RELATIONS = ["unique", "copy", "condensed", "rewrite", "same"]
DATE_SOURCES = ("byline", "stamp", "meta", "url", "body")  # articles.date_source, most trusted first
REGION_LEVELS = ["country", "province", "city", "county", "other"]

MAX_INVESTMENT_YUAN = 1e13  # no single Chinese project comes near 10^13 yuan (10万亿)
ISO_PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"  # YYYY, YYYY-MM or YYYY-MM-DD
ISO_TIME = r"^\d{2}:\d{2}(:\d{2})?$"  # HH:MM or HH:MM:SS

# the tables whose key names one row (DESIGN.md): diffs compare them by key, the invariants
# check the key is unique, incremental publishing merges changed rows over old ones by it
TABLE_KEYS = {"documents": "doc_id", "articles": "article_id", "clusters": "article_id",
              "projects": "project_id", "stories": "article_id"}

# every stage's rejected input and every gate's failing row lands in one table of this shape
QUARANTINE_COLUMNS = ["stage", "source", "doc_id", "reason", "detail"]


def valid_investment(yuan) -> bool:
    """Inside the contract's range (0, MAX_INVESTMENT_YUAN); None and NaN are not."""
    return yuan is not None and yuan == yuan and 0 < float(yuan) < MAX_INVESTMENT_YUAN
