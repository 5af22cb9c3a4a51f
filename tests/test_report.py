"""The report escapes everything that comes from the data and shows every gate's result."""
from __future__ import annotations

import pandas as pd

from newsgate.tasks.gates import CheckResult, GateResult
from newsgate.tasks.report import RunSummary, render_html, render_markdown, svg_bar_chart

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def _summary(**over) -> RunSummary:
    articles = pd.DataFrame([{"article_id": "a-0", "title": "新年“第一会”" + PAYLOAD}])
    clusters = pd.DataFrame([
        {"article_id": "a-0", "cluster_id": "c", "canonical_id": "a-0", "is_canonical": True,
         "kind": "unique", "similarity": 1.0},
        {"article_id": "b-0", "cluster_id": "c", "canonical_id": "a-0", "is_canonical": False,
         "kind": "near", "similarity": 0.93}])
    removals = pd.DataFrame([{"doc_id": "a", "rule": "copyright", "line_no": 12,
                              "text": "版权声明:凡注明“来源:中国西藏网”" + PAYLOAD}])
    failing = CheckResult("articles", "gx", "expect_x(title)", "titles are clean", "critical", False,
                          observed="1 of 1 unexpected", n_failed=1, sample=[{"title": PAYLOAD}])
    gate = GateResult("articles", 1, 1, [failing], pd.DataFrame())
    base = dict(run_id="run-1", status="blocked", release_id=None, sources=["seeds"],
                funnel=[("inputs", 2)], gates=[gate], started_at="t0", finished_at="t1",
                blocked_by=["articles: expect_x(title)"],
                tables={"articles": articles, "clusters": clusters, "removals": removals})
    base.update(over)
    return RunSummary(**base)


def test_html_escapes_article_text_everywhere():
    page = render_html(_summary())
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "titles are clean" in page and "1 of 1 unexpected" in page
    assert "copyright" in page and "near" in page and "0.93" in page


def test_markdown_summary_escapes_and_lists_failures():
    md = render_markdown(_summary(blocked_by=[PAYLOAD]))
    assert "<script>" not in md
    assert "**fail** `articles.expect_x(title)`" in md


def test_svg_chart_has_one_bar_per_value():
    svg = svg_bar_chart("Investment by region (亿元)", ["吉林省辽源市", "<b>x</b>"], [95.94, 3.0])
    assert svg.count("<rect") == 2 and "&lt;b&gt;" in svg


def test_story_clusters_side_by_side_escaped_with_shared_figures_marked():
    articles = pd.DataFrame([
        {"article_id": "a-0", "title": "青岛海尔18.8亿收购" + PAYLOAD, "published_date": "2011-06-17",
         "body": "青岛海尔17日公告称，收购价格18.8亿元。" + PAYLOAD},
        {"article_id": "b-0", "title": "海尔进入整体上市通道", "published_date": "2011-06-21",
         "body": "公司拟以现金受让10家公司股权，交易金额为18.8亿元。"},
        {"article_id": "c-0", "title": "copy", "published_date": None, "body": "青岛海尔17日公告称"}])
    stories = pd.DataFrame([
        {"story_id": "s-a-0", "article_id": "a-0", "relation": "unique", "score": 1.0,
         "evidence": "the story's representative", "matched_id": None, "is_representative": True,
         "cluster_id": "c-a", "shared_figures": []},
        {"story_id": "s-a-0", "article_id": "b-0", "relation": "same", "score": 0.7,
         "evidence": "figures 18.8亿元" + PAYLOAD, "matched_id": "a-0", "is_representative": False,
         "cluster_id": "c-b", "shared_figures": ["18.8亿元"]},
        {"story_id": "s-a-0", "article_id": "c-0", "relation": "copy", "score": 0.95,
         "evidence": "copy of a-0", "matched_id": "a-0", "is_representative": False,
         "cluster_id": "c-a", "shared_figures": []}])
    page = render_html(_summary(tables={"articles": articles, "stories": stories}))
    assert "<script>" not in page and "<img" not in page
    assert "Story clusters" in page and "2 copy clusters" in page and "3 articles" in page
    assert page.count("<mark>18.8亿元</mark>") == 2
    assert "海尔进入整体上市通道" in page and "copy of a-0" not in page  # a copy stays in its cluster
