"""Sense checks of fact rows, each rule defined once.

The extractors keep only rows that make sense; the gates (schemas/tables.py row checks and the
GX suites) apply the same rules to the published tables, so a row carried over from a release,
or one a slip let through, is quarantined under the rule's name:

- `names_a_measure(metric)`: the metric is a noun phrase with a head from the measure vocabulary
  (measures.json), not a function word (和, 过去, 未来);
- `unit_fits(metric, measure)`: the number's measure is one its head can take (a percent is not
  money, an area is not a count);
- `count_is_whole(measure, value, text)`: a count is a whole number in its base unit (447.32万人次 is;
  a written half, 7个半, aside);
- `range_ordered(value, value_max)`: low <= high;
- `amount_reads_back(text, value, value_max, value_yuan)` / `yuan_reads_back(...)`: the quoted
  text, read again on its own, gives the same value (catches a 10^4 slip between 万 and 亿);
- `share_drift(now, before)` / `per_article_drift(...)`: dataset drift against the previous
  release, naming the top offenders.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from .numbers import read_amount

MEASURES_FILE = Path(__file__).with_name("measures.json")
# drift bands (the GX suites warn outside them): a measure's share of the rows may move by this
# many points, facts per article by this factor; smaller releases are not compared
SHARE_BAND = 0.10
PER_ARTICLE_BAND = 2.0
MIN_ROWS_FOR_DRIFT = 500
TOP_OFFENDERS = 3


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    data = json.loads(MEASURES_FILE.read_text(encoding="utf-8"))
    classes = data["classes"]
    heads = {head: frozenset(m for c in cls for m in classes[c]) for head, cls in data["heads"].items()}
    return heads, frozenset(data["function_words"])


@lru_cache(maxsize=1)
def _end_only() -> frozenset[str]:
    return frozenset(json.loads(MEASURES_FILE.read_text(encoding="utf-8"))["end_only_heads"])


def measure_head(metric: str | None) -> str | None:
    """The vocabulary word that ends last in `metric` (the longest at that end); a one-character
    head (率, 数) or a broad one (计划, 目标) only when it ends the metric."""
    found = head_span(metric)
    return metric[found[0]:found[1]] if found else None


@lru_cache(maxsize=65536)
def head_span(metric: str | None) -> tuple[int, int] | None:
    """(start, end) of the measure head in `metric` (see measure_head); cached, as each candidate
    metric is tried against several rules."""
    if not metric:
        return None
    heads, _ = _vocabulary()
    end_only = _end_only()
    for end in range(len(metric), 0, -1):
        for length in range(min(end, 8), 0, -1):
            word = metric[end - length:end]
            if word in heads and ((length > 1 and word not in end_only) or end == len(metric)):
                return end - length, end
    return None


def names_a_measure(metric: str | None) -> bool:
    if not metric or len(metric) < 2:
        return False
    _, function_words = _vocabulary()
    if metric in function_words:
        return False
    return measure_head(metric) is not None


def unit_fits(metric: str | None, measure: str | None) -> bool:
    head = measure_head(metric)
    return head is not None and measure in _vocabulary()[0][head]


def count_is_whole(measure: str | None, value, text: str | None) -> bool:
    if measure != "count" or value is None or _missing(value):
        return True
    read = read_amount(text) if text else None
    # whole in the base unit: 447.32万人次 is 4,473,200 visits
    base = read.value_base if read is not None and math.isclose(read.value, float(value)) else float(value)
    return float(base).is_integer() or (float(base * 2).is_integer() and "半" in (text or ""))


def range_ordered(value, value_max) -> bool:
    return _missing(value_max) or _missing(value) or float(value) <= float(value_max)


def amount_reads_back(text: str | None, value, value_max=None, value_yuan=None) -> bool:
    """`text` read on its own gives `value` (and `value_max`, `value_yuan`). Texts that are not an
    amount alone (6大 of 6大产业链: the noun is outside) are not judged here."""
    if not text or _missing(value):
        return True
    q = read_amount(text)
    if q is None:
        return True
    return (_close(q.value, value) and _close(q.value_max, value_max)
            and (_missing(value_yuan) or _close(q.value_yuan, value_yuan)))


def yuan_reads_back(text: str | None, yuan, yuan_max=None) -> bool:
    """A project's investment_text read on its own gives its investment_yuan (and high end)."""
    if not text or _missing(yuan):
        return True
    q = read_amount(text)
    return q is None or (_close(q.value_yuan, yuan) and _close(q.value_yuan_max, yuan_max))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _close(a, b) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


# ------------------------------------------------------------------ drift against the previous release

def _counted(values) -> tuple[Counter, int]:
    """(count per value, number of rows) of a list of values or of counts (a Counter)."""
    counts = values if isinstance(values, Counter) else Counter(values)
    return counts, sum(counts.values())


def share_drift(now, before) -> dict:
    """{value: message} for the values (a measure, a kind) whose share of the rows moved by more
    than SHARE_BAND between two releases; the TOP_OFFENDERS largest moves only. Each side: the
    values, or their counts (a Counter: a large table counted column-wise)."""
    (a, n_now), (b, n_before) = _counted(now), _counted(before)
    if n_now < MIN_ROWS_FOR_DRIFT or n_before < MIN_ROWS_FOR_DRIFT:
        return {}
    moves = {k: a[k] / n_now - b[k] / n_before for k in set(a) | set(b)}
    over = sorted((k for k, d in moves.items() if abs(d) > SHARE_BAND), key=lambda k: -abs(moves[k]))
    return {k: f"{k}: {b[k] / n_before:.0%} of rows -> {a[k] / n_now:.0%} (band ±{SHARE_BAND:.0%})"
            for k in over[:TOP_OFFENDERS]}


def per_article_drift(now_articles, before_articles) -> str:
    """A message when facts per article moved by more than a factor PER_ARTICLE_BAND, naming the
    articles with the most facts now; '' when within the band. Each side: the article ids of
    the rows, or their counts (a Counter)."""
    (a, n_now), (b, n_before) = _counted(now_articles), _counted(before_articles)
    if n_now < MIN_ROWS_FOR_DRIFT or n_before < MIN_ROWS_FOR_DRIFT:
        return ""
    rate_now, rate_before = n_now / len(a), n_before / len(b)
    if 1 / PER_ARTICLE_BAND <= rate_now / rate_before <= PER_ARTICLE_BAND:
        return ""
    top = ", ".join(f"{k} ({n})" for k, n in a.most_common(TOP_OFFENDERS))
    return (f"facts per article {rate_before:.1f} -> {rate_now:.1f} (band x{PER_ARTICLE_BAND:g}); "
            f"most: {top}")
