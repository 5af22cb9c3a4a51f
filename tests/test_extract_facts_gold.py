"""Extraction scored on the facts gold shipped in the repository (tests/gold/facts, annotated by
reading; docs/ANNOTATION.md): regressions show here. Definitions in benchmarks/scoring.py.

Floors are the scores of the last change to the extractors, rounded down: the tuning part (the
rules were tuned on it) and the test part (never looked at while tuning: its floor only guards
against a regression, it was measured once at the end). Raise them when the extractors improve.
"""
from __future__ import annotations

import sys

import pytest

from conftest import ROOT
from facts_gold import load
from stages import extract_articles

sys.path.insert(0, str(ROOT / "benchmarks"))  # the scorer is benchmark tooling, not pipeline code
from scoring import articles_of, score_facts  # noqa: E402

FLOORS = {   # a little under what the rules and the shipped models reach (docs/EXTRACTION.md)
    "tune": {"projects_recall": 0.60, "projects_precision": 0.67, "indicators_recall": 0.77,
             "indicators_precision": 0.64, "money_recall": 0.98, "money_values_right": 1.0},
    "test": {"projects_recall": 0.43, "projects_precision": 0.55, "indicators_recall": 0.62,
             "indicators_precision": 0.50, "money_recall": 0.97, "money_values_right": 1.0},
    "test2": {"projects_recall": 0.26, "projects_precision": 0.39, "indicators_recall": 0.64,
              "indicators_precision": 0.53, "money_recall": 0.97, "money_values_right": 0.95},
}


@pytest.mark.parametrize("split", list(FLOORS))
def test_facts_gold_scores_do_not_regress(split):
    records = load(split)
    summary = score_facts(records, extract_articles(articles_of(records))).summary()
    print(f"\n{split}:", {k: round(v, 3) for k, v in summary.items()})
    for key, floor in FLOORS[split].items():
        assert summary[key] >= floor, (split, key, summary[key])
