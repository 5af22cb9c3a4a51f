"""Indicators: statistics stated with a number (counts, totals, growth rates, targets, areas).

Every quantity that is not a project's own figure becomes an indicator, except
- thresholds that describe a class of projects (5000万元以上项目 — they go into the metric text),
- quantities inside a project's evidence (a project's investment, 已完成工程量的85%, 年产100万套),
- measures that are part of names (capacity, weight, length, volume).
The metric is the phrase that names the number: the words right before it in its clause back to
the previous comma or number (实施5000万元以上项目 1677个), or, when the count precedes its noun
(127个5000万元以上重点项目), the noun phrase after it. Region: the nearest place before it (see
context.py); period: the first time expression in the sentence before the number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .context import RegionLocator
from .numbers import Quantity
from .places import Region
from .sense import head_span, names_a_measure, unit_fits
from .sentences import Span, SpanIndex

SKIP_MEASURES = {"duration"}
PERIOD = re.compile(
    r"\d{4}\s*[—\-–~至到]\s*\d{4}年|\d{4}年(?:上半年|下半年|[一二三四]季度|\d{1,2}[-—~至]\d{1,2}月份?|\d{1,2}月份?)?"
    r"|\d{1,2}\s*[-—~至]\s*\d{1,2}月份?"
    r"|截至(?:目前|年底|今年|去年|\d{4}年)?(?:\d{1,2}月(?:底|末|份|\d{1,2}日)?)?|近[一二三四五六七八九十\d]+年来?"
    r"|“十[一二三四五六]五”|十[一二三四五六]五|今年|去年|明年|上半年|下半年|年初|年内|全年|当年|同期|每年|冬季|春季")
METRIC_STOP = re.compile(r"[,，、:：;；。“”()（）]")
LEADING_FILLER = re.compile(r"^(?:其中|共|共有|已|已经|又|累计|合计|实现|达到|达|为|是|有|占|了|的|\s)+")
TRAILING_FILLER = re.compile(r"(?:达到|达|为|是|共|共有|有|占|了|约|近|超|超过|逾|实现|完成)+$")
NOUN_AFTER = re.compile(r"^[\u4e00-\u9fffA-Za-z“”\d万亿元以上]+")


@dataclass
class Indicator:
    quantity: Quantity
    metric: str
    region: str | None
    region_full: Region | None
    period: str | None
    clause: Span


def _metric(text: str, q: Quantity, clause: Span, previous_end: int, carried: str | None) -> str | None:
    """The noun phrase naming the measure of `q`, or None: the words before it in its clause (back
    to the previous comma or number), else the noun phrase right after it (127个 + 重点项目,
    安排2亿元 + 专项资金) cut at its measure head, else the sentence's previous metric joined with
    the words before (固定资产投资同比增长7.8%,高于全国 10.9个百分点)."""
    left = max(clause.start, previous_end)
    before = text[left:q.start]
    cut = 0
    for m in METRIC_STOP.finditer(before):
        cut = m.end()
    before = TRAILING_FILLER.sub("", LEADING_FILLER.sub("", before[cut:])).strip()
    if _fits(before, q):
        return before
    after = NOUN_AFTER.match(text[q.end:clause.end])
    if after:  # the shortest noun phrase after the number that names its measure, whole head
        phrase = after.group(0).lstrip("的")
        for end in range(2, len(phrase) + 1):
            if _fits(phrase[:end], q):
                while end < len(phrase) and (span := head_span(phrase[:end + 1])) and span[1] == end + 1 \
                        and span[0] < end:
                    end += 1  # 增 -> 增长 -> 增长率
                return phrase[:end]
    if carried and _fits(carried + before, q):
        return carried + before
    return None


def _fits(metric: str, q: Quantity) -> bool:
    return names_a_measure(metric) and unit_fits(metric, q.measure)


def find_indicators(text: str, quantities: list[Quantity], clauses: list[Span], sentences: list[Span],
                    claimed: list[tuple[int, int]], locator: RegionLocator) -> list[Indicator]:
    clause_at, sentence_at = SpanIndex(clauses), SpanIndex(sentences)
    out: list[Indicator] = []
    previous_end, previous_clause = 0, None
    carried, carried_sentence = None, None   # the sentence's last metric (joined to a bare comparison)
    for q in quantities:
        if q.threshold or q.measure in SKIP_MEASURES:
            continue
        if any(a <= q.start < b for a, b in claimed):
            continue
        clause = clause_at.at(q.start)
        if clause is None:
            continue
        if clause is not previous_clause:
            previous_end, previous_clause = clause.start, clause
        sentence = sentence_at.at(q.start) or clause
        if sentence is not carried_sentence:
            carried, carried_sentence = None, sentence
        metric = _metric(text, q, clause, previous_end, carried)
        previous_end = q.end
        if metric is None:
            continue
        carried = metric
        surface, region = locator.locate(q.start, q.start)
        period = None
        for m in PERIOD.finditer(text, sentence.start, q.start):
            period = m.group(0)
            break
        out.append(Indicator(q, metric, surface, region, period, clause))
    return out
