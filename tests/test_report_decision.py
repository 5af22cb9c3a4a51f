"""The report's first screen is a decision: verdict, what needs attention (with sample rows and
a file of all of them), what changed since the previous release; evidence shown in place;
no raw missing values in any cell. Real seed text, no server."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from conftest import SEEDS
from newsgate.tasks.gates import CheckResult, GateResult
from newsgate.tasks.report import RunSummary, render_html, render_markdown, write_csv, write_report
from newsgate.tasks.report_changes import changes
from newsgate.tasks.report_html import cell, marked_span, side_by_side_diff

SEED = (SEEDS / "004_565aa33160096c90.txt").read_text(encoding="utf-8")
BODY = SEED.split("\n", 3)[-1]  # the text under the title lines


class Cells(HTMLParser):
    """The text of every table cell, the section ids in page order, and every href."""

    def __init__(self):
        super().__init__()
        self.cells, self.sections, self.links, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("td", "th"):
            self._cell = []
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parsed(page: str) -> Cells:
    p = Cells()
    p.feed(page)
    return p


def _fact(start_word: str, end_word: str, confidence: float, needs_review: bool, **extra) -> dict:
    start = BODY.index(start_word)
    end = BODY.index(end_word, start) + len(end_word)
    return {"article_id": "a-0", "start": start, "end": end, "evidence": BODY[start:end],
            "confidence": confidence, "needs_review": needs_review, "pattern": "projects.test",
            **extra}


def _tables(with_nan: bool = True) -> dict[str, pd.DataFrame]:
    articles = pd.DataFrame([
        {"article_id": "a-0", "doc_id": "a", "title": "辽源市“三早”项目", "body": BODY,
         "published_date": "2023-02-01"},
        {"article_id": "b-0", "doc_id": "b", "title": np.nan if with_nan else "转载",
         "body": BODY.replace("项目", "工程", 3), "published_date": pd.NaT if with_nan else "2023-02-02"}])
    clusters = pd.DataFrame([
        {"article_id": "a-0", "cluster_id": "c-a", "canonical_id": "a-0", "is_canonical": True,
         "kind": "unique", "similarity": 1.0},
        {"article_id": "b-0", "cluster_id": "c-a", "canonical_id": "a-0", "is_canonical": False,
         "kind": "near", "similarity": 0.91}])
    words = [w for w in re.findall(r"[\u4e00-\u9fff]{4,}", BODY)][:8]
    projects = pd.DataFrame([
        _fact(words[0], words[1], 0.35, True, project_id="p1", name=words[0], investment_yuan=np.nan,
              status="planned", industry=None),
        _fact(words[2], words[3], 0.95, False, project_id="p2", name=words[2], investment_yuan=1e9,
              status="started", industry="制造业")])
    quarantine = pd.DataFrame(
        [{"stage": "ingest", "source": f"feed/{i}.bin", "doc_id": None, "reason": "unsupported extension",
          "detail": "binary"} for i in range(7)]
        + [{"stage": "extract", "source": None, "doc_id": "a", "reason": "projects: span_matches",
            "detail": "body[start:end] differs; project_id=p9"}])
    region_stats = pd.DataFrame([
        {"region_full": "吉林省辽源市", "investment_yuan_total": 95.94e8},
        {"region_full": "吉林省", "investment_yuan_total": 3e8}])
    documents = pd.DataFrame([{"doc_id": "a", "source": "seeds/004.txt", "text": SEED},
                              {"doc_id": "b", "source": "feeds/new.txt", "text": SEED}])
    return {"documents": documents, "articles": articles, "clusters": clusters,
            "projects": projects, "quarantine": quarantine, "region_stats": region_stats}


def _previous() -> dict[str, pd.DataFrame]:
    """The release before: one document and its article, no duplicate, a smaller total."""
    now = _tables(with_nan=False)
    return {"documents": now["documents"].head(1), "articles": now["articles"].head(1),
            "clusters": now["clusters"].head(1),
            "projects": now["projects"].head(1).assign(investment_yuan=5e8),
            "quarantine": now["quarantine"].head(0),
            "region_stats": now["region_stats"].assign(investment_yuan_total=[90e8, 3e8])}


WARNED = CheckResult("projects", "gx", "expect_column_values_to_be_in_set(needs_review)",
                     "most rows are sure", "warning", False, observed="1 of 2 unexpected",
                     n_failed=1, sample=[{"needs_review": True, "project_id": "p1", "body": BODY,
                                          "evidence": BODY[:400], "name": "x", "a": 1, "b": 2,
                                          "c": 3, "d": 4, "e": np.nan}])
PASSED = CheckResult("projects", "gx", "expect_column_values_to_be_unique(project_id)",
                     "project_id is a key", "critical", True, observed="0 of 2 unexpected")


def _summary(**over) -> RunSummary:
    base = dict(run_id="run-2", status="published", release_id="rel-2", sources=["seeds"],
                funnel=[("inputs", 2), ("documents", 2), ("articles (release)", 2)],
                gates=[GateResult("projects", 2, 2, [PASSED, WARNED], pd.DataFrame())],
                started_at="t0", finished_at="t1", tables=_tables(),
                previous_release="rel-1", previous_tables=_previous())
    base.update(over)
    return RunSummary(**base)


def test_one_cell_formatter_shows_no_raw_missing_value():
    for missing in (None, np.nan, pd.NaT, pd.NA, float("nan")):
        assert cell(missing) == ""
    assert cell(["吉林省", None, "辽源市"]) == "吉林省, 辽源市"
    assert cell(np.array(["a", "b"])) == "a, b"
    assert cell(0.9312) == "0.931" and cell(2000000) == "2,000,000" and cell(True) == "yes"
    assert cell("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    long = cell(BODY)
    assert len(long) <= 120 and long.endswith("…")


def test_no_cell_of_the_report_shows_nan_none_or_nat():
    page = parsed(render_html(_summary()))
    tokens = {"nan", "None", "NaT", "<NA>", "NaN"}
    assert not [c for c in page.cells if c in tokens or re.search(r"\b(nan|None|NaT)\b", c)]
    assert len(page.cells) > 30


def test_the_first_screen_is_verdict_then_attention_then_changes_then_funnel():
    page = render_html(_summary())
    assert parsed(page).sections[:4] == ["verdict", "attention", "changes", "funnel"]
    assert "Published as release <b>rel-2</b>" in page


def test_attention_lists_the_warned_check_with_chosen_columns_and_quarantine_by_reason():
    page = render_html(_summary())
    attention = page[page.index('id="attention"'):page.index('id="changes"')]
    assert "1 warned checks · 8 quarantined rows (2 reasons) · 1 low-confidence facts" in attention
    # the warned check, its sample with the column it names first, never the whole body
    assert "projects.expect_column_values_to_be_in_set(needs_review)" in attention
    assert "<th>needs_review</th><th>project_id</th><th>name</th><th>evidence</th>" in attention
    assert BODY[:400] not in attention and "<th>body</th>" not in attention
    # quarantine grouped by reason, largest first, at most 5 sample rows, and a link to all 7
    first, second = attention.index("unsupported extension"), attention.index("projects: span_matches")
    assert first < second
    group = attention[first:second]
    assert group.count("feed/") == 5 and "all 7 rows (CSV)" in group
    # the low-confidence fact in its sentence, the span marked
    words = re.findall(r"[\u4e00-\u9fff]{4,}", BODY)
    assert f"<mark>{BODY[BODY.index(words[0]):BODY.index(words[1]) + len(words[1])]}</mark>" in attention
    assert "1</b> low-confidence projects rows" in attention


def test_changes_name_the_previous_release_and_count_rows_per_table():
    found = changes("rel-1", _previous(), _tables())
    assert found.rows["articles"] == {"added": 1, "removed": 0, "changed": 0, "unchanged": 1}
    assert found.rows["projects"]["changed"] == 1 and found.rows["projects"]["added"] == 1
    assert found.new_sources == ["feeds/new.txt"]
    assert found.clusters.to_dict("records") == [
        {"cluster_id": "c-a", "canonical_id": "a-0", "before": 1, "now": 2, "growth": 1}]
    assert found.regions["region"].tolist() == ["吉林省辽源市"]  # 吉林省 did not move
    assert found.regions["change"].iloc[0] == pytest.approx(5.94e8)
    page = render_html(_summary())
    assert "Changes since release <code>rel-1</code>" in page and "1 new sources" in page
    assert changes(None, {}, _tables()) is None
    assert "No previous release" in render_html(_summary(previous_release=None, previous_tables={}))


def test_a_waiver_makes_the_check_accepted_and_keeps_it_visible():
    review = {"decision": "approved", "by": "李审核", "comment": "ok",
              "waivers": [{"check": WARNED.id, "comment": "drafts of this site are marked",
                           "reviewer": "李审核", "at": "2026-12-07T02:00:00+00:00"}]}
    summary = _summary(review=review)
    assert summary.state(WARNED) == "accepted" and summary.state(PASSED) == "pass"
    page = render_html(summary)
    assert page.count(WARNED.check) >= 2  # in the attention list and in its table's checks
    assert "drafts of this site are marked" in page and '<tr class="accepted">' in page
    assert "1 warned checks accepted" in page
    assert "**accepted**" in render_markdown(summary)


def test_near_duplicates_side_by_side_with_the_differences_marked():
    left, right = side_by_side_diff("辽源市重点项目开工", "辽源市重点工程开工")
    assert left == "辽源市重点<del>项目</del>开工" and right == "辽源市重点<ins>工程</ins>开工"
    page = render_html(_summary())
    assert "<del>项目</del>" in page and "<ins>工程</ins>" in page


def test_a_fact_sentence_is_cut_at_sentence_ends_and_escaped():
    text = "第一句。项目<总投资>5亿元，年内开工。第三句"
    shown = marked_span(text, text.index("5亿元"), text.index("5亿元") + len("5亿元"))
    assert shown == "…项目&lt;总投资&gt;<mark>5亿元</mark>，年内开工。…"


def test_passing_checks_fold_into_one_line_per_table():
    page = render_html(_summary(status="published"))
    gates = page[page.index('id="gates"'):]
    assert '<div id="gate-projects"><details class="">' in gates  # folded (not open)
    assert "1 warn · 1 pass" in gates


def test_every_link_of_the_written_report_resolves(tmp_path):
    path = write_report(_summary(), tmp_path)
    links = parsed(path.read_text(encoding="utf-8")).links
    files = [link for link in links if not link.startswith("#")]
    assert len(files) == 4  # 2 quarantine reasons, low-confidence projects, duplicates
    for link in files:
        assert (tmp_path / link).is_file(), link
    assert len(pd.read_csv(tmp_path / [f for f in files if "unsupported" in f][0])) == 7
    anchors = {link[1:] for link in links if link.startswith("#")}
    page = path.read_text(encoding="utf-8")
    assert all(f'id="{a}"' in page for a in anchors)


def test_a_table_as_built_and_as_read_back_compares_unchanged():
    """The run's frames (lists, NaN, whole floats) against the release read from Delta (numpy
    arrays, None, ints): the same rows, so nothing counts as changed."""
    from newsgate.tasks.release_diff import diff_table

    built = pd.DataFrame({"article_id": ["a-0", "b-0"], "authors": [["王超", "李敏"], []],
                          "published_date": [np.nan, "2023-02-01"], "seq": [0.0, 1.0],
                          "title": ["辽源", None]})
    read = pd.DataFrame({"article_id": ["a-0", "b-0"],
                         "authors": [np.array(["王超", "李敏"]), np.array([], dtype=object)],
                         "published_date": [None, "2023-02-01"], "seq": [0, 1],
                         "title": ["辽源", np.nan]})
    assert diff_table("articles", read, built) == {"added": 0, "removed": 0, "changed": 0,
                                                   "unchanged": 2}
    edited = built.assign(authors=[["王超"], []])
    assert diff_table("articles", read, edited)["changed"] == 1


def test_a_rows_file_reads_back_as_the_rows_it_was_written_from(tmp_path):
    """The rows/ files are written by Arrow's CSV writer: quotes, commas, line breaks and
    missing values in a fact's evidence survive a round trip; a column of mixed Python
    objects (which Arrow cannot type) is written too."""
    rows = pd.DataFrame({
        "article_id": ["a-0", "b,1"],
        "evidence": ['他说："总投资5亿元，年内开工"\n第二行', None],
        "value": [2.0, 3.5], "needs_review": [True, True], "start": pd.array([3, None], "Int64")})
    write_csv(rows, tmp_path / "facts.csv")
    back = pd.read_csv(tmp_path / "facts.csv")
    assert back["article_id"].tolist() == ["a-0", "b,1"]
    assert back["evidence"][0] == rows["evidence"][0] and pd.isna(back["evidence"][1])
    assert back["value"].tolist() == [2.0, 3.5] and back["needs_review"].astype(str).str.lower().eq("true").all()
    assert back["start"][0] == 3 and pd.isna(back["start"][1])
    mixed = pd.DataFrame({"detail": [1, "两处"]})
    write_csv(mixed, tmp_path / "mixed.csv")
    assert pd.read_csv(tmp_path / "mixed.csv")["detail"].astype(str).tolist() == ["1", "两处"]
