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
    failing = CheckResult("articles", "gx", "expect_x(title)", "titles are clean", "error", False,
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
    assert "copyright" in page and "near" in page and "0.930" in page


def test_markdown_summary_escapes_and_lists_failures():
    md = render_markdown(_summary(blocked_by=[PAYLOAD]))
    assert "<script>" not in md
    assert "**fail** `articles.expect_x(title)`" in md


def test_svg_chart_has_one_bar_per_value():
    svg = svg_bar_chart("Investment by region (亿元)", ["吉林省辽源市", "<b>x</b>"], [95.94, 3.0])
    assert svg.count("<rect") == 2 and "&lt;b&gt;" in svg
