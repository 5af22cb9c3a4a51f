"""How sure a fact row is, and whether a person should look at it before it is trusted.

Every fact row (mentions, projects, indicators, visits) carries `pattern` (the rule that produced
it), `confidence` (0-1) and `needs_review`. confidence = the rule's prior in confidence.json times
the factor of each named doubt of the row (an indicator without a period, a vague amount …).
`REVIEW_THRESHOLD` (in the same file) is the one line: rows below it are kept, marked
`needs_review`, and not published as certain.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CONFIDENCE_FILE = Path(__file__).with_name("confidence.json")


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(CONFIDENCE_FILE.read_text(encoding="utf-8"))


REVIEW_THRESHOLD: float = _table()["review_threshold"]


def confidence(pattern: str, doubts=(), probability: float | None = None) -> float:
    """The prior of `pattern` (or a model's `probability` for this row) times the factor of each
    doubt (unknown names are an error)."""
    data = _table()
    value = data["patterns"][pattern] if probability is None else probability
    for doubt in doubts:
        value *= data["doubts"][doubt]
    return round(value, 3)


def scored(row: dict, pattern: str, doubts=(), probability: float | None = None) -> dict:
    """`row` with its pattern, confidence and needs_review set."""
    row["pattern"] = pattern
    row["confidence"] = confidence(pattern, doubts, probability)
    row["needs_review"] = row["confidence"] < REVIEW_THRESHOLD
    return row
