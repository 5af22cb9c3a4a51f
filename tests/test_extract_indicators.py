"""Indicators on seed sentences: which numbers are statistics, their metric, period and region."""
from __future__ import annotations

import pytest

from newsgate.tasks.extract.context import RegionLocator
from newsgate.tasks.extract.indicators import PERIOD, find_indicators, indicator_candidates
from newsgate.tasks.extract.numbers import find_quantities
from newsgate.tasks.extract.places import find_places, home_of
from newsgate.tasks.extract.sentences import clauses, paragraphs, sentences
from newsgate.tasks.extract.tokenize import tokenize


def indicators(text: str, claimed=()):
    toks = tokenize(text)
    home = home_of([], toks, None)
    locator = RegionLocator(text, find_places(text, toks, home), paragraphs(text), home)
    return [(i.metric, i.quantity.value, i.quantity.unit, i.region_full.full if i.region_full else None, i.period)
            for i in find_indicators(text, toks, indicator_candidates(text, find_quantities(text, set(toks.starts)),
                                                                clauses(text), sentences(text), list(claimed),
                                                                locator))]


def test_counts_growth_and_thresholds_in_one_sentence():
    text = ("1-6月份,全省固定资产投资同比增长7.8%,高于全国10.9个百分点,居全国第4位;"
            "实施5000万元以上项目1677个,比去年同期增加398个,同比增长31.1%。辽源市")
    got = indicators(text)
    assert [(m, v, u) for m, v, u, _, _ in got] == [
        ("固定资产投资同比增长", 7.8, "%"), ("高于全国", 10.9, "个百分点"), ("居全国", 4, "位"),
        ("实施5000万元以上项目数", 1677, "个"), ("实施5000万元以上项目数比去年同期增加", 398, "个"),
        ("实施5000万元以上项目数同比增长", 31.1, "%")]   # 全省 is the region; a change names its measure
    assert got[0][3:] == ("吉林省", "1-6月份")    # 全省 of the article's province (辽源 → 吉林)


def test_the_country_said_closer_than_any_place_is_the_region():
    """Real paragraphs: a bench page's national power figures under a place heading; seed 001
    (全国's 156 projects, 7个半 of them in 吉林市); a tune-part page (eb:…14a00af1) where 全国 is
    part of a list 我省 is on; the comparison base of seed 000 (高于全国) stays the province's."""
    got = indicators("阳泉市\n1-6月份，全国发电量22166亿千瓦时，同比增长13.5%。增速仅低于2007年上半年的16%。")
    assert [(m, v, full) for m, v, _, full, _ in got][:2] == [("发电量", 22166, "中国"), ("发电量同比增长", 13.5, "中国")]
    got = indicators("吉林市是国家“一五”期间重点建设的东北工业重镇,当时全国156个重点项目,有7个半落户在吉林市,"
                     "确立了江城工业立市的根基。")
    assert [(v, full) for _, v, _, full, _ in got] == [(156, "中国"), (7.5, "吉林省吉林市")]
    got = indicators("贵州省\n开工我省第一批全国山洪防治县非工程措施建设;新增解决300万以上农村人口饮水安全问题，"
                     "新增农村水电装机35万千瓦。")
    assert {full for *_, full, _ in got} == {"贵州省"}
    got = indicators("1-6月份,全省固定资产投资同比增长7.8%,高于全国10.9个百分点,居全国第4位。辽源市")
    assert {full for *_, full, _ in got} == {"吉林省"}


def test_a_change_names_the_measure_it_follows_and_changes_said_of_each_pair_in_turn():
    """Bench pages outside the gold: 同比增长 after the power figure is the power figure's growth;
    同比分别增长 135% and 179% are of the two measures before them in turn."""
    got = indicators("1-6月份，全国发电量22166亿千瓦时，同比增长13.5%。")
    assert [m for m, *_ in got] == ["发电量", "发电量同比增长"]
    got = indicators("据大中型钢铁生产企业统计，2月末企业钢材库存1053.74万吨，比年初增长40.65%。")
    assert [m for m, *_ in got] == ["企业钢材库存", "企业钢材库存比年初增长"]
    # tune part: the measure its own clause names before the number
    got = indicators("祁俊表示，预计2011年，我国工程机械全行业销售收入将实现17%的增长，出口额增幅将达到25%。")
    assert [m for m, *_ in got][0] == "工程机械全行业销售收入增长"
    got = indicators("其中，3月份，全国家电下乡产品销售1471.5万台，实现销售额344.8亿元，同比分别增长135%和179%。")
    assert [(m, v) for m, v, *_ in got][-2:] == [("家电下乡产品销售同比增长", 135), ("销售额同比增长", 179)]
    # written for this test: a change whose own clause names its measure keeps it
    got = indicators("全年实现销售额344.8亿元，销售额同比分别增长5%。")
    assert [m for m, *_ in got][-1] == "销售额同比增长"


def test_section_heading_gives_the_region_and_claimed_spans_are_skipped():
    text = "东丰县\n今年,东丰县拟实施500万元以上项目80个,总投资95.94亿元。\n其中,新建项目55个,总投资39.98亿元。"
    got = indicators(text)
    assert ("新建项目数", 55, "个", "吉林省辽源市东丰县", None) in got
    start = text.index("其中")
    assert all(v != 55 for _, v, *_ in indicators(text, claimed=[(start, len(text))]))


def test_period_expressions():
    text = "截至今年3月底累计完成投资92.36亿元;截至2月28日;1-6月份;2014—2018年;近五年来;今年"
    assert [m.group(0) for m in PERIOD.finditer(text)] == [
        "截至今年3月底", "截至2月28日", "1-6月份", "2014—2018年", "近五年来", "今年"]


def article_indicators(text: str, title: str | None = None):
    """(metric, value, unit) of the indicators the whole extractor keeps (projects claim theirs)."""
    import pandas as pd
    from stages import extract_articles
    rows = extract_articles(pd.DataFrame([{"article_id": "x", "body": text, "title": title,
                                           "published_date": None}]))["indicators"]
    return [(r.metric, r.value, r.unit) for r in rows.itertuples()]


# Real sentences of the tuning part of the facts gold: what is not a statistic of a region
# (docs/ANNOTATION.md §2), and measures the text implies.

@pytest.mark.parametrize("text", [
    "截至2018年底，同盾科技累计客户数量为2421家，完成了对互金行业90%以上的覆盖。",      # a company's figure (gne_10)
    "5月9日，学校举办了就业双选会，35家企业参与招聘。",                                # attendance (mh_12)
    "蒙西LED光电产业集群区位于杭锦旗锡尼镇，项目占地2500亩，计划投资275亿元。",        # a project's own figures
    "目前大同地区５０００大卡动力煤坑口价格是６５０元／吨。",                             # a price (sogouca_6)
    "经过近20年的开发建设，未来十年还将投入更多。",                                      # durations
])
def test_not_statistics(text):
    assert article_indicators(text) == []


def test_counts_of_works_and_shares_imply_their_measure():
    # dev:ebuy_6 — the number of each kind of facility a city built
    got = article_indicators("目前，全市农村建垃圾焚烧炉81个，垃圾填埋场52个，垃圾中转站109座。", title="黄山市推进生态建设")
    assert [(m, v) for m, v, *_ in got] == [("农村建垃圾焚烧炉数", 81), ("垃圾填埋场数", 52), ("垃圾中转站数", 109)]
    # eb:…dc85a16e0d92 — a part of a whole is a share of it
    got = indicators("1至3月份，全省工业累计完成技改投资1063.1亿元，同比增长8.9%，占全省工业固定资产投资的66%。")
    assert [(m, v, u) for m, v, u, *_ in got] == [
        ("工业累计完成技改投资", 1063.1, "亿元"), ("工业累计完成技改投资同比增长", 8.9, "%"), ("工业固定资产投资比重", 66, "%")]


def test_sales_shipments_and_capacities_are_measures_of_their_units():
    # train part: shipments counted in sets (eb:ff80808131f188870131f411b86c000a), a city's
    # grain-processing capacity in tonnes (eb:ff8080813008ca4701301f8175520592): both are
    # statistics a reader counts (docs/ANNOTATION.md §2)
    got = indicators("连同今年5月份电视整机出货量264.3万台、月减19%来看，出货量已连续两个月下跌。")
    assert any(m.endswith("电视整机出货量") and v == 264.3 and u == "万台" for m, v, u, _, _ in got)
    got = indicators("近一年来资本进入粮食加工领域规模迅速增加，2009年全市粮食加工能力150万吨。")
    assert any(m.endswith("粮食加工能力") and v == 150 and u == "万吨" for m, v, u, _, _ in got)
    # 能力 names a measure only at the end of a metric: 能力建设 is no measure
    assert not any(m.endswith("能力建设") for m, *_ in indicators("全市加强能力建设投入3亿元。"))
