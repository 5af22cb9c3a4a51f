"""Aggregates: each project once across duplicate stories, unknown year, reconciliation."""
from __future__ import annotations

import pandas as pd

from newsgate.tasks.aggregate import keyword_trends, reconcile, region_stats, visits_timeline

ARTICLES = pd.DataFrame([
    {"article_id": "a", "published_date": "2018", "body": ""},
    {"article_id": "a-dup", "published_date": "2018-05-01", "body": ""},   # near-duplicate story of a
    {"article_id": "b", "published_date": None, "body": ""},
])
CLUSTERS = pd.DataFrame([
    {"article_id": "a", "cluster_id": "c1", "canonical_id": "a", "is_canonical": True, "kind": "near", "similarity": 1.0},
    {"article_id": "a-dup", "cluster_id": "c1", "canonical_id": "a", "is_canonical": False, "kind": "near", "similarity": 0.9},
    {"article_id": "b", "cluster_id": "c2", "canonical_id": "b", "is_canonical": True, "kind": "unique", "similarity": 1.0},
])
MENTIONS = pd.DataFrame([
    {"article_id": "a", "kind": "place", "normalized": "吉林省辽源市西安区"},
    {"article_id": "a", "kind": "place", "normalized": "吉林省辽源市"},
    {"article_id": "a-dup", "kind": "place", "normalized": "吉林省辽源市"},
    {"article_id": "b", "kind": "place", "normalized": "吉林省长春市"},
    {"article_id": "b", "kind": "money", "normalized": "100元"},
])
PROJECTS = pd.DataFrame([
    {"article_id": "a", "name": "辽源市污水管网改扩建工程", "investment_yuan": 250_000_000.0, "place_full": "吉林省辽源市"},
    {"article_id": "a", "name": "辽源市污水管网改扩建工程", "investment_yuan": 250_000_000.0, "place_full": "吉林省辽源市"},
    {"article_id": "a", "name": "西安东、西孟工业园区孵化器项目", "investment_yuan": 86_000_000.0, "place_full": "吉林省辽源市西安区"},
    {"article_id": "a-dup", "name": "辽源市污水管网改扩建工程", "investment_yuan": 250_000_000.0, "place_full": "吉林省辽源市"},
    {"article_id": "b", "name": "长春经开光电信息产业园(一期)项目", "investment_yuan": None, "place_full": "吉林省长春市"},
])


def stats():
    return region_stats(ARTICLES, CLUSTERS, MENTIONS, PROJECTS)


def row(df, full, year):
    sel = df[(df["region_full"] == full) & (df["year"].isna() if year is None else df["year"] == year)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_each_project_once_and_rolled_up():
    df = stats()
    liaoyuan = row(df, "吉林省辽源市", "2018")
    assert (liaoyuan.n_articles, liaoyuan.n_projects, liaoyuan.investment_yuan_total) == (1, 2, 336_000_000)
    assert (liaoyuan.admin_code, liaoyuan.level) == ("220400", "city")
    county = row(df, "吉林省辽源市西安区", "2018")
    assert (county.n_projects, county.investment_yuan_total, county.level) == (1, 86_000_000, "county")
    province = row(df, "吉林省", "2018")
    assert (province.n_projects, province.level) == (2, "province")


def test_unknown_year_is_kept_as_null():
    changchun = row(stats(), "吉林省长春市", None)
    assert (changchun.n_articles, changchun.n_projects, changchun.investment_yuan_total) == (1, 1, 0.0)


def test_reconcile_passes_and_catches_tampering():
    df = stats()
    canonical = PROJECTS[PROJECTS["article_id"] != "a-dup"].assign(
        year=lambda d: d["article_id"].map({"a": "2018", "b": None}))
    assert reconcile(df, canonical) == []
    bad = df.copy()
    bad.loc[(bad["region_full"] == "吉林省辽源市") & (bad["year"] == "2018"), "investment_yuan_total"] += 1e6
    problems = reconcile(bad, canonical)
    assert any("吉林省辽源市 2018: investment_yuan_total" in p for p in problems)


def test_empty_inputs():
    empty_p = PROJECTS.iloc[0:0]
    df = region_stats(ARTICLES, CLUSTERS, MENTIONS.iloc[0:0], empty_p)
    assert df.empty and "investment_yuan_total" in df.columns
    assert reconcile(df, empty_p) == []


def test_keyword_trends_and_visits_timeline():
    kw = pd.DataFrame([{"article_id": "a", "keyword": "三早", "weight": 0.3},
                       {"article_id": "a-dup", "keyword": "三早", "weight": 0.3},
                       {"article_id": "b", "keyword": "三早", "weight": 0.1}])
    trends = keyword_trends(kw, ARTICLES, CLUSTERS)
    assert trends[["period", "keyword", "n_articles"]].values.tolist()[0] == ["2018", "三早", 1]
    visits = pd.DataFrame([{"article_id": "b", "person": "江泽林", "date": None},
                           {"article_id": "a", "person": "巴音朝鲁", "date": "2018-08-03"}])
    assert visits_timeline(visits, ARTICLES)["person"].tolist() == ["巴音朝鲁", "江泽林"]


def test_a_story_counts_once_in_the_year_of_its_earliest_report():
    """Two canonical articles that are one story (a rewrite published a year later) mention
    the same city: one story, counted in the representative's year; without the stories table
    each copy cluster counts."""
    articles = pd.DataFrame([{"article_id": "a", "published_date": "2018-12-30", "body": ""},
                             {"article_id": "r", "published_date": "2019-01-02", "body": ""}])
    clusters = pd.DataFrame([
        {"article_id": a, "cluster_id": f"c-{a}", "canonical_id": a, "is_canonical": True,
         "kind": "unique", "similarity": 1.0} for a in ("a", "r")])
    mentions = pd.DataFrame([{"article_id": a, "kind": "place", "normalized": "吉林省辽源市"} for a in ("a", "r")])
    stories = pd.DataFrame([
        {"story_id": "s-a", "article_id": "a", "is_representative": True},
        {"story_id": "s-a", "article_id": "r", "is_representative": False}])
    by_story = region_stats(articles, clusters, mentions, PROJECTS.iloc[0:0], stories)
    city = by_story[by_story["region_full"] == "吉林省辽源市"]
    assert city[["year", "n_articles"]].values.tolist() == [["2018", 1]]
    by_cluster = region_stats(articles, clusters, mentions, PROJECTS.iloc[0:0])
    city = by_cluster[by_cluster["region_full"] == "吉林省辽源市"]
    assert sorted(city[["year", "n_articles"]].values.tolist()) == [["2018", 1], ["2019", 1]]
    kw = pd.DataFrame([{"article_id": a, "keyword": "三早", "weight": 0.5} for a in ("a", "r")])
    assert keyword_trends(kw, articles, clusters, stories=stories)["n_articles"].tolist() == [1]
    assert keyword_trends(kw, articles, clusters)["n_articles"].tolist() == [1, 1]


def test_counting_units_from_frames_and_from_arrow_agree_on_the_edge_cases():
    """Canonical articles and articles in no copy cluster count, copies do not; a story's
    period is its representative's even when that one is a copy; a short or missing date
    is an unknown period. The release's Arrow columns give the same units as frames."""
    import pyarrow as pa

    from newsgate.tasks.aggregate import counting_units
    articles = pd.DataFrame({"article_id": ["a", "b", "c", "d", "e"],
                             "published_date": ["2018-05-01", "2019-01-02", None, "2020", "201"]})
    clusters = pd.DataFrame({"article_id": ["a", "b", "c"], "is_canonical": [True, False, True]})
    stories = pd.DataFrame({"article_id": ["b", "c", "e"], "story_id": ["s1", "s1", "s2"],
                            "is_representative": [True, False, True]})
    units = counting_units(articles, clusters, stories)
    assert units == {"a": ("a", "2018"), "c": ("s1", "2019"), "d": ("d", "2020"), "e": ("s2", None)}
    arrow = [pa.Table.from_pandas(f, preserve_index=False) for f in (articles, clusters, stories)]
    assert counting_units(*arrow) == units
    assert counting_units(articles, None, None, width=7) == {
        "a": ("a", "2018-05"), "b": ("b", "2019-01"), "c": ("c", None), "d": ("d", None), "e": ("e", None)}
