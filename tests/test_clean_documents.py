"""clean_documents: the contract in docs/INTERFACES.md, provenance, quarantine, HTML, repeated lines."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from conftest import FIXTURES

from stages import clean_documents

from newsgate.tasks.clean import ARTICLE_COLUMNS
from newsgate.tasks.clean.repeated import repeated_lines, site_group
from newsgate.tasks.clean.rules import boilerplate_hits
from newsgate.tasks.clean.text import normalize_line

SEED1 = "001_129ccc3f4079c8cb.txt"


def document_row(text, source="seeds/x.txt", fmt="text", **extra) -> dict:
    """A documents row as ingest makes it (doc_id = sha256(text)[:16])."""
    row = {"doc_id": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], "source": source,
           "format": fmt, "text": text, "title_hint": None, "published_hint": None, "url": None,
           "warnings": []}
    row.update(extra)
    return row


def seed_frame(seed_texts) -> pd.DataFrame:
    return pd.DataFrame([document_row(t, f"seeds/{n}") for n, t in sorted(seed_texts.items())])


@pytest.fixture(scope="module")
def seed_batch(seed_texts):
    return clean_documents(seed_frame(seed_texts))


def test_articles_follow_the_interface(seed_batch, seed_texts):
    arts = seed_batch.articles
    assert list(arts.columns[: len(ARTICLE_COLUMNS)]) == ARTICLE_COLUMNS
    assert set(arts.doc_id) == {document_row(t)["doc_id"] for t in seed_texts.values()}
    assert (arts.article_id == arts.doc_id + "-" + arts.seq.astype(str)).all()
    assert (arts.n_chars == arts.body.str.len()).all() and (arts.n_chars > 0).all()
    assert arts.article_id.is_unique
    for row in arts.itertuples():
        assert isinstance(row.reporters, list) and isinstance(row.photographers, list)
        assert isinstance(row.captions, list)
        assert row.published_date is None or isinstance(row.published_date, str)
    assert seed_batch.quarantine.empty


def test_published_bodies_hold_no_boilerplate(seed_batch):
    for body in seed_batch.articles.body:
        assert boilerplate_hits(body) == []
        assert "" not in body.split("\n")


def test_every_removed_line_is_recorded_at_its_line(seed_batch, seed_texts):
    """Each non-blank line ends up in a body/title/caption or in removals with its own line_no."""
    for name, text in seed_texts.items():
        doc_id = document_row(text)["doc_id"]
        lines = text.split("\n")
        removed = seed_batch.removals[seed_batch.removals.doc_id == doc_id]
        for row in removed.itertuples():
            assert normalize_line(lines[row.line_no - 1]) == row.text
        arts = seed_batch.articles[seed_batch.articles.doc_id == doc_id]
        kept = "".join(arts.body) + "".join(c for cs in arts.captions for c in cs)
        removed_lines = set(removed.line_no)
        for n, line in enumerate(lines, start=1):
            if line.strip() and n not in removed_lines:
                assert normalize_line(line) in kept, (name, n)


def test_document_with_only_boilerplate_is_quarantined_with_its_removals(seed_texts):
    lines = seed_texts[SEED1].split("\n")
    text = "\n".join(lines[:12] + lines[63:])  # breadcrumb, widgets, disclaimer, recommendations
    batch = clean_documents(pd.DataFrame([document_row(text)]))
    assert batch.articles.empty
    assert list(batch.quarantine.reason) == ["no article after cleaning"]
    assert batch.quarantine.stage.tolist() == ["clean"]
    assert len(batch.removals) == sum(1 for l in text.split("\n") if l.strip())


def test_a_broken_document_is_quarantined_and_the_batch_goes_on(seed_texts):
    rows = [document_row(seed_texts[SEED1]), {**document_row("x"), "text": 42}]
    batch = clean_documents(pd.DataFrame(rows))
    assert len(batch.articles) == 1
    assert batch.quarantine.reason.tolist() == ["clean error"]
    assert "TypeError" in batch.quarantine.detail.iloc[0]


def test_truncated_html_yields_its_complete_paragraphs():
    page = (FIXTURES / "clean" / "truncated.html").read_text(encoding="utf-8")
    batch = clean_documents(pd.DataFrame([document_row(page, "bad/truncated.html", "html")]))
    (article,) = batch.articles.itertuples()
    paragraphs = article.body.split("\n")
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("2019年2月27日下午") and paragraphs[1].endswith("表示肯定。")
    assert article.title == "顺德区大良街道党工委委员潘卓辉一行到众创金融街开展调研工作"
    assert "truncated html" in article.warnings
    assert "breadcrumb" in set(batch.removals.rule)


def test_escaped_markup_in_html_text_is_ordinary_text(seed_texts):
    body = seed_texts["004_565aa33160096c90.txt"].split("\n")
    page = ("<html><head><title>新年&lt;script&gt;alert(1)&lt;/script&gt;第一会</title></head><body>"
            f"<article><h1>新年&lt;script&gt;alert(1)&lt;/script&gt;第一会</h1>"
            f"<p>{body[1]}&lt;script&gt;alert(2)&lt;/script&gt;</p><p>{body[2]}</p></article></body></html>")
    batch = clean_documents(pd.DataFrame([document_row(page, "x.html", "html")]))
    (article,) = batch.articles.itertuples()
    assert article.title == "新年<script>alert(1)</script>第一会"
    assert "<script>alert(2)</script>" in article.body


def test_template_lines_repeated_across_a_site_are_removed(seed_texts):
    """A footer line shared by 3 different stories of one directory goes; a sentence and a
    slogan set among the paragraphs stay."""
    promo = "1、2011（第五届）全国招投标领域年度聚焦暨中国最具竞争力招标机构评选"
    quote = "抓项目就是抓发展,谋项目就是谋未来。"
    slogan = "不忘初心 牢记使命"
    stories = [t.split("\n") for _, t in sorted(seed_texts.items())][1:4]
    rows = [document_row("\n".join(lines[:20] + [slogan] + lines[20:] + [promo, quote]), f"site/{i}.txt")
            for i, lines in enumerate(stories)]
    batch = clean_documents(pd.DataFrame(rows))
    repeated = batch.removals[batch.removals.rule == "repeated_line"]
    assert set(repeated.text) == {promo}
    assert all(quote in body and slogan in body for body in batch.articles.body)


def test_copies_of_one_story_do_not_make_its_lines_template(seed_texts):
    text = seed_texts[SEED1]
    docs = [("dir:a", text.split("\n")), ("dir:a", text.split("\n")), ("dir:a", text.split("\n"))]
    assert repeated_lines(docs) == {}


def test_site_groups():
    assert site_group("data/x/a.txt", "file", None) == "dir:data/x"
    assert site_group("data/b.jsonl", "jsonl", None) == "file:data/b.jsonl"
    assert site_group("data/x/a.html", "file", "https://news.Sina.com.cn/a.html") == "host:news.sina.com.cn"


def test_only_a_dashed_heading_under_the_headline_is_a_subtitle(seed_texts):
    s2 = seed_texts["002_b6da46b685f43c6f.txt"].split("\n")
    s3 = seed_texts["003_1ff4c3e9b6ed5b66.txt"].split("\n")
    plain = "\n\n".join([s2[2], s2[40], s2[44]])   # headline, 东丰县, body
    dashed = "\n\n".join([s3[4], s3[6], s3[8]])    # headline, ——…, body
    batch = clean_documents(pd.DataFrame([document_row(plain), document_row(dashed)]))
    first, second = batch.articles.itertuples()
    assert first.subtitle is None and first.body.split("\n")[0] == s2[40]
    assert second.subtitle == s3[6] and second.body == s3[8]


def test_a_byline_after_the_lead_paragraph_does_not_split_the_article(seed_texts):
    s4 = seed_texts["004_565aa33160096c90.txt"].split("\n")
    byline = seed_texts["000_eee8e5d36ad8c68f.txt"].split("\n")[23]
    text = "\n".join([s4[0], s4[1], byline, s4[3], s4[4], s4[5], s4[6]])
    batch = clean_documents(pd.DataFrame([document_row(text)]))
    (article,) = batch.articles.itertuples()
    assert article.title == s4[0] and set(article.reporters) == {"缪友银", "王海跃"}  # byline + dateline
    assert article.body.split("\n") == [s4[1], s4[3], s4[4], s4[5], s4[6]]


def test_in_a_big_site_a_line_must_recur_in_a_share_of_its_stories():
    stories = [(f"第{i}篇报道的正文内容。", ) for i in range(1000)]
    docs = [("file:a.jsonl", [s[0]] + (["人物简介"] if i < 4 else []) + (["中国LED采购商圈"] if i < 8 else []))
            for i, s in enumerate(stories)]
    assert repeated_lines(docs) == {"file:a.jsonl": {"中国LED采购商圈"}}


def test_headline_with_a_byline_under_it_opens_a_new_article(seed_texts):
    s0 = seed_texts["000_eee8e5d36ad8c68f.txt"].split("\n")
    # each headline directly followed by its byline, then the body
    text = "\n\n".join([s0[2], s0[23], s0[4], s0[20], s0[33], s0[48], s0[25], s0[27]])
    batch = clean_documents(pd.DataFrame([document_row(text)]))
    first, second = batch.articles.itertuples()
    assert (first.title, first.reporters) == (s0[2], ["缪友银"])
    assert (second.title, second.reporters) == (s0[33], ["黄鹭"])
    assert second.body.split("\n") == [s0[25], s0[27]]
