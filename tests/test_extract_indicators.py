"""Indicators on seed sentences: which numbers are statistics, their metric, period and region."""
from __future__ import annotations

from newsgate.tasks.extract.context import RegionLocator
from newsgate.tasks.extract.indicators import PERIOD, find_indicators
from newsgate.tasks.extract.numbers import find_quantities
from newsgate.tasks.extract.places import find_places, home_of
from newsgate.tasks.extract.sentences import clauses, paragraphs, sentences
from newsgate.tasks.extract.tokenize import tokenize


def indicators(text: str, claimed=()):
    toks = tokenize(text)
    home = home_of([], toks, None)
    locator = RegionLocator(text, find_places(text, toks, home), paragraphs(text), home)
    return [(i.metric, i.quantity.value, i.quantity.unit, i.region_full.full if i.region_full else None, i.period)
            for i in find_indicators(text, find_quantities(text, set(toks.starts)), clauses(text),
                                     sentences(text), list(claimed), locator)]


def test_counts_growth_and_thresholds_in_one_sentence():
    text = ("1-6月份,全省固定资产投资同比增长7.8%,高于全国10.9个百分点,居全国第4位;"
            "实施5000万元以上项目1677个,比去年同期增加398个,同比增长31.1%。辽源市")
    got = indicators(text)
    assert [(m, v, u) for m, v, u, _, _ in got] == [
        ("全省固定资产投资同比增长", 7.8, "%"), ("高于全国", 10.9, "个百分点"), ("居全国", 4, "位"),
        ("实施5000万元以上项目", 1677, "个"), ("比去年同期增加", 398, "个"), ("同比增长", 31.1, "%")]
    assert got[0][3:] == ("吉林省", "1-6月份")    # 全省 of the article's province (辽源 → 吉林)


def test_section_heading_gives_the_region_and_claimed_spans_are_skipped():
    text = "东丰县\n今年,东丰县拟实施500万元以上项目80个,总投资95.94亿元。\n其中,新建项目55个,总投资39.98亿元。"
    got = indicators(text)
    assert ("新建项目", 55, "个", "吉林省辽源市东丰县", None) in got
    start = text.index("其中")
    assert all(v != 55 for _, v, *_ in indicators(text, claimed=[(start, len(text))]))


def test_period_expressions():
    text = "截至今年3月底累计完成投资92.36亿元;截至2月28日;1-6月份;2014—2018年;近五年来;今年"
    assert [m.group(0) for m in PERIOD.finditer(text)] == [
        "截至今年3月底", "截至2月28日", "1-6月份", "2014—2018年", "近五年来", "今年"]
