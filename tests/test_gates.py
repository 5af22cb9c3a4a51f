"""Gates on real seed text: pandera row rules quarantine, GX critical checks block."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from newsgate.tasks.gates import GateContext, run_gate

SENTENCE_MARK = "总投资0.55亿元的中共辽源市纪委廉政建设基础设施项目已投入使用"


@pytest.fixture(scope="module")
def article(seed_texts):
    text = seed_texts["003_1ff4c3e9b6ed5b66.txt"]
    para = next(p for p in text.split("\n") if SENTENCE_MARK in p)
    return pd.DataFrame([{"article_id": "d003-0", "doc_id": "d003", "body": para}])


def _project(body: str, quote: str, **over) -> dict:
    start = body.index(quote)
    row = {"project_id": "p1", "article_id": "d003-0", "name": "中共辽源市纪委廉政建设基础设施项目",
           "investment_yuan": 55_000_000.0, "investment_text": "0.55亿元", "status": "in_operation",
           "status_text": "已投入使用", "place": "辽源市", "admin_code": "220400",
           "industry": "public_service", "evidence": quote, "start": start, "end": start + len(quote),
           "pattern": "projects.money_led", "confidence": 0.9, "needs_review": False,
           "investment_yuan_max": None}
    row.update(over)
    return row


def test_valid_project_passes(article):
    body = article.body[0]
    kept, result = run_gate("projects", pd.DataFrame([_project(body, SENTENCE_MARK)]),
                            stage="extract", context=GateContext(tables={"articles": article}))
    assert result.passed, [c for c in result.checks if not c.success]
    assert len(kept) == 1 and result.quarantine.empty


def test_span_that_misquotes_its_body_is_quarantined(article):
    body = article.body[0]
    good = _project(body, SENTENCE_MARK)
    shifted = _project(body, SENTENCE_MARK, project_id="p2")
    shifted["start"] += 1
    shifted["end"] += 1
    kept, result = run_gate("projects", pd.DataFrame([good, shifted]), stage="extract",
                            context=GateContext(tables={"articles": article}))
    assert list(kept["project_id"]) == ["p1"]
    assert result.passed  # a row rule quarantines, it does not block
    assert list(result.quarantine["reason"]) == ["projects: span_matches"]
    assert result.quarantine["doc_id"].tolist() == ["d003"]


def test_investment_out_of_range_is_quarantined(article):
    body = article.body[0]
    rows = [_project(body, SENTENCE_MARK), _project(body, SENTENCE_MARK, project_id="p3",
                                                    investment_yuan=2e13)]
    kept, result = run_gate("projects", pd.DataFrame(rows), stage="extract",
                            context=GateContext(tables={"articles": article}))
    assert list(kept["project_id"]) == ["p1"]
    assert "investment_yuan" in result.quarantine["detail"].iloc[0]


def test_duplicate_keys_block(article):
    body = article.body[0]
    rows = [_project(body, SENTENCE_MARK), _project(body, SENTENCE_MARK)]
    _, result = run_gate("projects", pd.DataFrame(rows), stage="extract",
                         context=GateContext(tables={"articles": article}))
    assert not result.passed
    assert any("project_id" in c.check for c in result.failed_errors)


def test_missing_required_column_blocks():
    df = pd.DataFrame([{"doc_id": "abcdef0123456789", "source": "x.txt", "format": "text",
                        "n_bytes": 3, "text": "项目"}])  # no encoding column
    _, result = run_gate("documents", df, stage="ingest")
    assert not result.passed
    assert result.failed_errors[0].engine == "pandera"


def test_warning_is_reported_but_does_not_block(seed_texts):
    text = seed_texts["004_565aa33160096c90.txt"]
    df = pd.DataFrame([{"doc_id": "abcdef0123456789", "source": "x.txt", "format": "text",
                        "encoding": "utf-8", "n_bytes": 10, "text": text[:50] + "\ufffd"}])
    kept, result = run_gate("documents", df, stage="ingest")
    assert result.passed and len(kept) == 1
    assert [c.check for c in result.warnings] == ["expect_column_values_to_not_match_regex(text)"]


def test_custom_suite_dir_can_tighten_a_gate(tmp_path, seed_texts):
    from newsgate.tasks.gates import EXPECTATIONS_DIR
    suite = json.loads((EXPECTATIONS_DIR / "documents.json").read_text(encoding="utf-8"))
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between",
                                  "kwargs": {"min_value": 5}, "meta": {}, "severity": "critical"})
    (tmp_path / "documents.json").write_text(json.dumps(suite), encoding="utf-8")
    df = pd.DataFrame([{"doc_id": "abcdef0123456789", "source": "x.txt", "format": "text",
                        "encoding": "utf-8", "n_bytes": 10, "text": seed_texts["004_565aa33160096c90.txt"]}])
    assert run_gate("documents", df, stage="ingest")[1].passed
    assert not run_gate("documents", df, stage="ingest", suites_dir=tmp_path)[1].passed


def test_every_suite_is_valid_gx_json():
    import great_expectations as gx
    from newsgate.tasks.gates import EXPECTATIONS_DIR
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"])
        assert all(e["severity"] in ("critical", "warning") for e in suite["expectations"]), path
        assert all(e["meta"].get("description") for e in suite["expectations"]), path


def test_row_checks_skip_only_rows_a_release_verified_unchanged(article, seed_texts):
    from newsgate.tasks.gates import _derive_articles
    body = article.body[0]
    # spans: rows of a verified article are trusted, rows of other articles still checked
    shifted = _project(body, SENTENCE_MARK)
    shifted["start"] += 1
    shifted["end"] += 1
    def carried(ids, same_gates=True):
        return GateContext(tables={"articles": article}, carried=frozenset(ids),
                           same_gates=same_gates)

    kept, result = run_gate("projects", pd.DataFrame([shifted]), stage="extract",
                            context=carried({"d003-0"}))
    assert len(kept) == 1 and result.quarantine.empty
    for context in (carried({"other-0"}), carried({"d003-0"}, same_gates=False)):
        _, result = run_gate("projects", pd.DataFrame([shifted]), stage="extract", context=context)
        assert list(result.quarantine["reason"]) == ["projects: span_matches"]
    # boilerplate: a body is rescanned unless it is exactly the body the release verified
    dirty = body + "\n责任编辑：刘响"
    rows = pd.DataFrame([{"article_id": "a-0", "body": dirty}, {"article_id": "b-0", "body": dirty}])
    before = pd.DataFrame([{"article_id": "a-0", "body": dirty}, {"article_id": "b-0", "body": body}])
    hits = _derive_articles(rows, GateContext(previous={"articles": before}, same_gates=True))
    assert hits["boilerplate_hits"].tolist() == [0, 1]
    other_gates = GateContext(previous={"articles": before}, same_gates=False)
    assert _derive_articles(rows, other_gates)["boilerplate_hits"].tolist() == [1, 1]


@pytest.fixture(scope="module")
def seed_articles(seed_paths):
    from test_clean_documents import document_row

    from stages import clean_documents
    rows = [document_row(p.read_text(encoding="utf-8"), str(p)) for p in seed_paths]
    return clean_documents(pd.DataFrame(rows)).articles


def test_articles_gate_quarantines_a_person_outlet_and_an_implausible_date(seed_articles):
    articles = seed_articles.copy()
    assert run_gate("articles", articles, stage="clean")[1].quarantine.empty
    reporter = articles.loc[0, "reporters"][0]  # a byline name of seed 000
    articles.loc[0, "outlet"] = reporter
    articles.loc[1, "published_date"] = "2091-05-01"
    articles.loc[2, "published_date"] = "1985"
    kept, result = run_gate("articles", articles, stage="clean")
    assert result.passed  # row rules quarantine, they do not block
    reasons = dict(zip(result.quarantine["detail"].str.extract(r"article_id=(\S+)")[0], result.quarantine["reason"]))
    person, implausible = ("articles: the outlet is a person's name, not an organisation",
                           "articles: published_date is in the future or before 1990")
    assert reasons == {articles.loc[0, "article_id"]: person, articles.loc[1, "article_id"]: implausible,
                       articles.loc[2, "article_id"]: implausible}
    assert len(kept) == len(articles) - 3


def test_a_drop_in_full_dates_against_the_previous_release_warns(seed_articles):
    previous = seed_articles.assign(published_date="2020-01-02")
    same = run_gate("articles", previous, stage="clean", context=GateContext(previous={"articles": previous}))[1]
    assert not same.warnings
    years_only = seed_articles.assign(published_date="2020")
    result = run_gate("articles", years_only, stage="clean", context=GateContext(previous={"articles": previous}))[1]
    assert result.passed
    (warning,) = [c for c in result.warnings if "full_date_share" in c.check]
    assert float(warning.observed) == -1.0
