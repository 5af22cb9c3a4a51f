"""A learned scorer of indicator rows (issue 12 part 7): is this candidate a regional statistic?

The rules of indicators.py name a metric for every quantity they can (`indicator_candidates`) and
then reject some by rule (inside a project's clause, a company's figure, a price …). This model
reads each candidate — the rules' verdict among its features — and gives the probability that a
reader counts it as a statistic of a region or a sector (docs/ANNOTATION.md §2). That probability
is the row's `confidence`, so `needs_review` follows it. The rules still decide which rows exist:
letting the model drop rows cost the seeds gold's recall, and letting it keep rows a rule rejected
let company figures back in (docs/EXTRACTION.md). It is a logistic
regression: python-crfsuite trained on one-item sequences (a one-item linear-chain CRF is a
maximum-entropy classifier), so the project needs one learning library, not two.

Features: where the metric came from (before/after/carried/derived), the rule that rejects it (or
none), the metric's measure head, first and last words, the quantity's measure/unit/qualifier,
whether a period and a region were said, the article's two tokens right before and right after the
number, company and project words in the clause. The model (`indicator_rows.crfsuite`) ships with
the package, is opened once per thread and is rebuilt by `benchmarks/train_extract_models.py`.
Without it, the rules decide.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from pathlib import Path

from .crf import open_model
from .tokenize import Tokens

MODEL_FILE = Path(__file__).with_name("indicator_rows.crfsuite")
COMPANY_WORDS = re.compile(r"公司|集团|企业|股份|厂商|品牌|旗下")
PROJECT_WORDS = re.compile(r"项目|工程")


def _words(phrase: str) -> tuple[str, ...]:
    from .indicators import _words_of
    return _words_of(phrase) if phrase else ()


def candidate_features(text: str, tokens: Tokens, candidate) -> list[str]:
    """The features of one candidate row (indicators.Candidate); `tokens` are the article's."""
    from .sense import measure_head
    ind = candidate.indicator
    q = ind.quantity
    metric_words = _words(ind.metric)
    clause = text[ind.clause.start:ind.clause.end]
    first = bisect_right(tokens.ends, q.start)          # the first token ending after the number starts
    before_words = [w for w, s in zip(tokens.words[max(0, first - 2):first], tokens.starts[max(0, first - 2):first])
                    if s >= ind.clause.start]
    after = bisect_left(tokens.starts, q.end)
    after_words = [w for w, e in zip(tokens.words[after:after + 2], tokens.ends[after:after + 2]) if e <= ind.clause.end]
    f = ["bias", "src=" + ind.pattern, "rej=" + str(candidate.rejected_by),
         "head=" + str(measure_head(ind.metric)), "measure=" + q.measure, "unit=" + q.unit,
         "kind=" + q.kind, "qual=" + str(q.qualifier), "period=" + str(ind.period is not None),
         "region=" + str(ind.region is not None),
         "region_level=" + (ind.region_full.level if ind.region_full else "none"),
         "mlen=" + str(min(len(ind.metric), 12) // 3), "range=" + str(q.value_max is not None),
         "company=" + str(bool(COMPANY_WORDS.search(clause))),
         "project=" + str(bool(PROJECT_WORDS.search(clause))),
         "claimed=" + str(candidate.in_project_clause)]
    if metric_words:
        f += ["m0=" + metric_words[0], "m-1=" + metric_words[-1]]
    f += ["mw=" + w for w in metric_words]
    f += ["b-1=" + w for w in before_words]
    f += ["a+1=" + w for w in after_words]
    return f


def _tagger():
    """The shipped model (None without it or without pycrfsuite)."""
    return open_model(MODEL_FILE)


def statistic_probability(text: str, tokens: Tokens, candidate) -> float | None:
    """P(the candidate is a statistic), or None when no model ships (the rules decide)."""
    tagger = _tagger()
    if tagger is None:
        return None
    tagger.set([candidate_features(text, tokens, candidate)])
    return tagger.marginal("yes", 0)
