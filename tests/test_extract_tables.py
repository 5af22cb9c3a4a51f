"""extract_articles on the seed articles (tests/fixtures/extract/articles.json): the table contract."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stages import extract_articles

from newsgate.schemas.contract import MENTION_KINDS, PROJECT_STATUSES
from newsgate.tasks.extract import TABLE_COLUMNS

ARTICLES = Path(__file__).parent / "fixtures" / "extract" / "articles.json"


@pytest.fixture(scope="module")
def articles() -> pd.DataFrame:
    return pd.DataFrame(json.loads(ARTICLES.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def tables(articles) -> dict[str, pd.DataFrame]:
    return extract_articles(articles)


def test_all_tables_with_their_columns(tables):
    assert set(tables) == set(TABLE_COLUMNS)
    for name, cols in TABLE_COLUMNS.items():
        assert list(tables[name].columns) == cols


def test_offsets_quote_the_body(articles, tables):
    body = dict(zip(articles["article_id"], articles["body"]))
    for r in tables["mentions"].itertuples():
        assert body[r.article_id][r.start:r.end] == r.text
    for name in ("projects", "indicators", "visits"):
        for r in tables[name].itertuples():
            assert body[r.article_id][r.start:r.end] == r.evidence
    for r in tables["projects"].itertuples():
        assert body[r.article_id][r.name_start:r.name_end] == r.name


def test_enums_and_investment_range(tables):
    assert set(tables["mentions"]["kind"]) <= set(MENTION_KINDS)
    assert set(tables["projects"]["status"]) <= set(PROJECT_STATUSES)
    inv = tables["projects"]["investment_yuan"].dropna()
    assert ((inv > 0) & (inv < 1e13)).all()
    assert tables["projects"]["project_id"].is_unique


def test_seed_003_headline_numbers(tables):
    p = tables["projects"]
    row = p[p["name"] == "吉林省腾祥农业科技40万头优质生猪生态养殖项目"].iloc[0]
    assert (row.investment_yuan, row.investment_text, row.place_full) == (230_000_000, "2.3亿元", "吉林省辽源市")
    assert row.year == "2018"
    ind = tables["indicators"]
    hit = ind[(ind["value"] == 2397.4) & (ind["unit"] == "亿元")].iloc[0]
    assert (hit.region, hit.region_full, hit.period, hit.value_yuan) == ("我市", "吉林省辽源市", "2014—2018年", 239_740_000_000)


def test_keywords_top10_per_article(tables, articles):
    kw = tables["keywords"]
    assert kw.groupby("article_id").size().max() <= 10
    assert set(kw["article_id"]) == set(articles["article_id"])
    assert "项目" not in set(kw["keyword"])  # domain stop word


def test_empty_batch_and_missing_fields():
    empty = extract_articles(pd.DataFrame(columns=["article_id", "doc_id", "title", "body",
                                                   "published_date", "dateline_place", "outlet"]))
    assert all(len(df) == 0 for df in empty.values())
    one = extract_articles(pd.DataFrame([{"article_id": "x", "body": "总投资1亿元的某某科技有限公司新材料项目已投产。",
                                          "title": None, "published_date": None}]))
    assert one["projects"]["name"].tolist() == ["某某科技有限公司新材料项目"]


def test_orgs_and_dates(tables):
    m = tables["mentions"]
    orgs = set(m.loc[m["kind"] == "org", "text"])
    assert {"博大东方新型化工(吉林)公司", "辽源鸿图锂电隔膜科技股份有限公司", "红星美凯龙集团", "辽矿集团"} <= orgs
    assert not {o for o in orgs if o.startswith(("密切", "充分", "企业和"))}
    dates = m[(m["kind"] == "date") & (m["article_id"] == "002-0")]
    assert ("3月11日", "2020-03-11") in set(zip(dates["text"], dates["normalized"]))


def test_indicator_metric_region_and_period(tables):
    ind = tables["indicators"]

    def one(article, value, unit):
        rows = ind[(ind["article_id"] == article) & (ind["value"] == value) & (ind["unit"] == unit)]
        assert len(rows) == 1, rows
        return rows.iloc[0]

    growth = one("000-3", 7.8, "%")
    assert (growth.metric, growth.region_full, growth.period) == ("固定资产投资同比增长", "吉林省", "1-6月份")
    count = one("000-3", 1677, "个")
    assert count.metric == "实施5000万元以上项目数"
    section = one("002-0", 55, "个")   # 其中,新建项目55个 — under the 东丰县 section heading
    assert (section.metric, section.region_full) == ("新建项目数", "吉林省辽源市东丰县")
    target = one("004-0", 3, "%")      # provincial release datelined 长春: the province speaks
    assert (target.region_full, target.qualifier) == ("吉林省", "以上")


def test_numbers_of_projects_are_not_indicators(tables):
    ind = tables["indicators"]
    seed3 = ind[ind["article_id"] == "003-0"]
    assert not ((seed3["value"] == 2.3) & (seed3["unit"] == "亿元")).any()     # a project's investment
    assert not ((seed3["value"] == 85) & (seed3["unit"] == "%")).any()         # its progress report
    assert not ((ind["value"] == 5000) & (ind["unit"] == "万元")).any()         # thresholds


def test_project_places(tables):
    p = tables["projects"].set_index("name")
    assert p.loc["北湖科技园C2项目", "place_full"] == "吉林省长春市长春新区"        # title's place
    assert p.loc["四平至白山天然气管道建设辽源段工程", "place_full"] == "吉林省辽源市"  # home city in name
    assert p.loc["吉林健芝宁医药健康产业园", "place_full"] == "吉林省延边朝鲜族自治州敦化市"
    assert p.loc["宁波均胜汽车零部件项目", "place_full"] == "吉林省辽源市"          # origin is not site


def test_extracted_facts_pass_their_gates(tables, articles):
    """Every row the extractors emit keeps the contract the gates check (enums, the investment
    cap, spans that quote their body): nothing is quarantined, nothing blocks."""
    from newsgate.tasks.gates import GateContext, run_gate
    context = GateContext(tables={"articles": articles})
    for table, df in tables.items():
        kept, result = run_gate(table, df, stage="extract", context=context)
        assert result.passed and result.quarantine.empty, (table, result.quarantine)
        assert len(kept) == len(df), table
