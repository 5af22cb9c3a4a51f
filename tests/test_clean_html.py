"""Web pages: main text, title choice, trailer cut, page metadata, parallel extraction."""
from __future__ import annotations

import pandas as pd
from stages import clean_documents
from test_clean_documents import document_row

from newsgate.tasks.clean.html import choose_title, clean_title

SEED4 = "004_565aa33160096c90.txt"


def page(seed_text: str, extra_paragraphs: list[str] = (), title: str = "", h1: str = "") -> str:
    lines = [l for l in seed_text.split("\n") if l.strip()]
    paras = "".join(f"<p>{l}</p>" for l in lines[1:11] + list(extra_paragraphs))
    return (f"<html><head><title>{title or lines[0]}</title></head><body>{h1}"
            f"<article><h1>{lines[0]}</h1>{paras}</article></body></html>")


def test_page_furniture_after_a_late_trailer_is_cut(seed_texts):
    text = seed_texts[SEED4]
    furniture = ["特别声明：以上内容为自媒体平台用户上传并发布，本平台仅提供信息存储服务。",
                 "网易跟贴", "目前没有跟贴，欢迎你发表观点"]
    batch = clean_documents(pd.DataFrame([document_row(page(text, furniture), "a.html", "html")]))
    (article,) = batch.articles.itertuples()
    assert len(article.body.split("\n")) == 10 and "跟贴" not in article.body
    rules = dict(zip(batch.removals.text, batch.removals.rule))
    assert rules[furniture[0]] == "disclaimer" and rules["网易跟贴"] == "after_trailer"


def test_title_is_the_headline_not_the_site_banner(seed_texts):
    text = seed_texts[SEED4]
    headline = text.split("\n")[0]
    html = page(text, title=headline + "_新闻频道_中国西藏网", h1="<h1>全新首页 焕新登场</h1>")
    assert choose_title(html, "全新首页 焕新登场", text.split("\n")[1:4]) == headline
    batch = clean_documents(pd.DataFrame([document_row(html, "a.html", "html")]))
    assert batch.articles.title.tolist() == [headline]
    assert "title" in set(batch.removals.rule)


def test_site_suffixes_are_trimmed_from_titles():
    assert clean_title("法国全国大罢工再次严重影响交通-新华网") == "法国全国大罢工再次严重影响交通"
    assert clean_title("我国首届养老专业本科生迎来毕业季_新闻频道_中国青年网") == "我国首届养老专业本科生迎来毕业季"
    assert clean_title("发改、商务和统计部门形成“签约-落地-入统”闭环") == "发改、商务和统计部门形成“签约-落地-入统”闭环"


def test_an_article_lost_to_pruning_is_rescued_by_the_unpruned_attempt(seed_texts):
    html = page(seed_texts[SEED4]).replace("<article>", '<article class="main related-content">')
    batch = clean_documents(pd.DataFrame([document_row(html, "a.html", "html")]))
    (article,) = batch.articles.itertuples()
    assert len(article.body.split("\n")) == 10


def test_a_list_of_headlines_after_an_editor_line_is_cut(seed_texts):
    """The list is longer than 40 % of the page: only the early, not-prose rule can cut it."""
    headlines = ["OPPO将首发高通骁龙5G SoC", "质疑三星反遭网友科普：华为高管再回应",
                 "嫦娥四号完成第九月昼科学探测工作 进入第九月夜", "美欧卫星险相撞，欧航局紧急变轨"] * 20
    text = seed_texts[SEED4]
    batch = clean_documents(pd.DataFrame([document_row(
        page(text, ["责任编辑：刘响"] + headlines), "a.html", "html")]))
    (article,) = batch.articles.itertuples()
    assert "OPPO" not in article.body and len(article.body.split("\n")) == 10
    assert (batch.removals.rule == "after_trailer").sum() == len(headlines)
