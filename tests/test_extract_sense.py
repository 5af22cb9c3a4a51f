"""Sense checks (tasks/extract/sense.py) and the gates that apply them to published fact rows:
pandera row checks quarantine under the check's name, GX drift checks warn naming offenders."""
from __future__ import annotations

import pandas as pd
import pytest

from stages import extract_articles
from newsgate.tasks.extract.confidence import REVIEW_THRESHOLD, confidence
from newsgate.tasks.extract.sense import (amount_reads_back, count_is_whole, measure_head, names_a_measure,
                                          range_ordered, share_drift, unit_fits)
from newsgate.tasks.gates import GateContext, run_gate

# seed 000: a provincial statistics sentence
SENTENCE = "1-6月份,全省固定资产投资同比增长7.8%,高于全国10.9个百分点,居全国第4位。"


@pytest.mark.parametrize("metric,head", [
    ("全省固定资产投资同比增长", "增长"), ("实施5000万元以上项目", "项目"), ("平均投资强度", "强度"),
    ("完成投资占全年目标比例", "比例"), ("居全国", "居全")])
def test_the_head_of_a_metric_is_the_vocabulary_word_that_ends_last(metric, head):
    assert measure_head(metric) == head and names_a_measure(metric)


@pytest.mark.parametrize("metric", ["和", "过去", "未来", "前", "篮板", "计划年内投产", ""])
def test_function_words_and_non_measures_are_no_metric(metric):
    # the most frequent metrics of the bench corpus before issue 12: 和, 过去, 前, 篮板
    assert not names_a_measure(metric)


def test_the_unit_must_fit_the_measure():
    assert unit_fits("规上工业增加值", "money") and not unit_fits("规上工业增加值", "percent")
    assert unit_fits("同比增长", "percent") and unit_fits("比去年同期增加", "count")
    assert not unit_fits("高于", "percent")          # 高于50%: a level, not a gap (个百分点)
    assert not unit_fits("用地面积", "money")


def test_counts_are_whole_ranges_ordered():
    assert count_is_whole("count", 7.5, "7个半") and not count_is_whole("count", 7.5, "7.5个")
    assert count_is_whole("percent", 7.8, "7.8%")
    # whole in the base unit (bench pages: 上半年游客达447.32万人次; 已有54.2万多人): 316 mentions
    # and 187 indicators of the bench corpus were quarantined for the number as written
    assert count_is_whole("count", 447.32, "447.32万人次") and count_is_whole("count", 54.2, "54.2万多人")
    assert not count_is_whole("count", 29.1, "29.1人") and not count_is_whole("count", 2.37, "2.37个")
    assert range_ordered(3000, 5000) and range_ordered(3, None) and not range_ordered(8, 6)


def test_an_amount_must_agree_with_its_own_text():
    # the slip: 3000万元至1亿元 multiplied into 3000亿 (value_yuan 3e11)
    assert amount_reads_back("3000万元至1亿元", 3000, 10000, 30_000_000)
    assert not amount_reads_back("3000万元至1亿元", 3000, None, 300_000_000_000)
    assert not amount_reads_back("三亿二千万元", 2000, None, 20_000_000)   # the 亿 part lost
    assert amount_reads_back("6大", 6, None, None)  # not an amount alone: not judged here


def _indicator(body: str, value_text: str, metric: str, value: float, unit: str, measure: str, **over) -> dict:
    start = body.index(value_text)
    row = dict(article_id="s-0", region="全省", region_full="吉林省", admin_code="220000", period="1-6月份",
               metric=metric, value=value, value_max=None, unit=unit, value_yuan=None, qualifier=None,
               value_text=value_text, measure=measure, pattern="indicators.before", confidence=0.8,
               needs_review=False, evidence=body, start=0, end=len(body))
    row.update(over)
    return row


@pytest.fixture()
def article():
    return pd.DataFrame([{"article_id": "s-0", "doc_id": "s", "body": SENTENCE}])


def test_rows_that_make_no_sense_are_quarantined_under_the_checks_name(article):
    good = _indicator(SENTENCE, "7.8%", "全省固定资产投资同比增长", 7.8, "%", "percent")
    no_measure = _indicator(SENTENCE, "7.8%", "和", 7.8, "%", "percent")
    percent_as_money = _indicator(SENTENCE, "7.8%", "全省固定资产投资", 7.8, "%", "percent")
    slip = _indicator(SENTENCE, "10.9个百分点", "高于全国", 109000.0, "个百分点", "percentage_point")
    kept, result = run_gate("indicators", pd.DataFrame([good, no_measure, percent_as_money, slip]),
                            stage="extract", context=GateContext(tables={"articles": article}))
    assert len(kept) == 1 and kept["metric"].tolist() == ["全省固定资产投资同比增长"]
    reasons = set(result.quarantine["reason"])
    assert {"indicators: metric_names_a_measure", "indicators: unit_fits_metric",
            "indicators: amount_reads_back"} <= reasons
    assert result.passed  # row rules quarantine, they do not block


def test_extracted_rows_pass_their_own_gates(article):
    tables = extract_articles(pd.DataFrame([{"article_id": "s-0", "body": SENTENCE, "title": None,
                                             "published_date": "2020-07-20"}]))
    for table in ("mentions", "indicators"):
        kept, result = run_gate(table, tables[table], stage="extract", context=GateContext(tables={"articles": article}))
        assert result.passed and result.quarantine.empty, result.quarantine
        assert len(kept) == len(tables[table])
    assert {"7.8%", "10.9个百分点", "第4位"} <= set(tables["indicators"]["value_text"])


def test_drift_against_the_previous_release_warns_and_names_the_offenders(article):
    rows = [_indicator(SENTENCE, "7.8%", "全省固定资产投资同比增长", 7.8, "%", "percent", article_id=f"a{i}")
            for i in range(600)]
    before = pd.DataFrame(rows)
    now = before.copy()
    now.loc[:299, ["measure", "unit", "metric", "value", "value_text"]] = [
        "percentage_point", "个百分点", "高于全国", 10.9, "10.9个百分点"]
    articles = pd.DataFrame([{"article_id": f"a{i}", "doc_id": f"a{i}", "body": SENTENCE} for i in range(600)])
    _, result = run_gate("indicators", now, stage="extract", context=GateContext(tables={"articles": articles}, previous={"indicators": before}))
    drift = next(c for c in result.checks if "share_drift" in c.check)
    assert drift.status == "warn" and drift.n_failed == 600
    assert "percent: 100% of rows -> 50%" in drift.observed and "percentage_point: 0% of rows -> 50%" in drift.observed
    assert result.passed  # a warning, not a block
    _, same = run_gate("indicators", before, stage="extract", context=GateContext(tables={"articles": articles}, previous={"indicators": before}))
    assert next(c for c in same.checks if "share_drift" in c.check).success


def test_share_drift_band_and_small_releases():
    assert share_drift(["a"] * 600, ["a"] * 300 + ["b"] * 300)["a"].startswith("a: 50% of rows -> 100%")
    assert share_drift(["a"] * 10, ["b"] * 10) == {}   # too small to compare


def test_every_fact_row_says_its_rule_and_confidence():
    text = ("总投资2.3亿元的吉林省腾祥农业科技40万头优质生猪生态养殖项目已建设完成3栋猪舍。"
            "1-6月份,全省固定资产投资同比增长7.8%。")
    tables = extract_articles(pd.DataFrame([{"article_id": "x", "body": text, "title": None,
                                             "published_date": None}]))
    for name in ("mentions", "projects", "indicators"):
        df = tables[name]
        assert len(df) and df["pattern"].notna().all()
        assert df["confidence"].between(0, 1).all()
        assert (df["needs_review"] == (df["confidence"] < REVIEW_THRESHOLD)).all()
    assert tables["projects"]["pattern"].tolist() == ["projects.money_led"]
    # a doubt lowers the rule's prior: an amount read from 数十亿 is less sure than from 2.3亿元
    assert confidence("numbers.range", ["vague"]) < confidence("numbers.range")
