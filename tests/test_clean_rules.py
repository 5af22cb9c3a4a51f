"""The boilerplate rule catalogue: every rule documented, exemplified by a real line, and harmless to content."""
from __future__ import annotations

import re

import pytest
from conftest import FIXTURES, needs_shared

from newsgate.tasks.clean.rules import boilerplate_hits, load_rules, match_line
from newsgate.tasks.clean.text import normalize_line

DEV_LINES = FIXTURES / "clean" / "dev_lines.txt"
REQUIRED_RULES = {
    "breadcrumb", "source_line", "author_line", "editor_line", "byline", "date_widget",
    "comment_widget", "font_widget", "share_widget", "lone_separator", "disclaimer", "copyright",
    "view_original", "related_list", "page_credit", "continuation_marker", "page_slogan",
    "photo_caption", "qr_prompt",
}


def dev_lines() -> list[tuple[str, str]]:
    rows = []
    for line in DEV_LINES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, text = line.split("\t", 1)
            rows.append((name, text))
    return rows


def test_catalogue_covers_the_required_kinds_of_boilerplate():
    rules = load_rules()
    assert REQUIRED_RULES <= {r.id for r in rules}
    for rule in rules:
        assert rule.description and rule.pattern and rule.examples, rule.id


@pytest.mark.parametrize("rule", load_rules(), ids=lambda r: r.id)
def test_each_example_is_matched_by_its_own_rule(rule):
    for example in rule.examples:
        assert match_line(example) == rule.id, example


def test_each_example_is_a_real_line(seed_texts):
    seed_lines = {normalize_line(l) for text in seed_texts.values() for l in text.split("\n")}
    known = seed_lines | {normalize_line(text) for _, text in dev_lines()}
    for rule in load_rules():
        for example in rule.examples:
            assert normalize_line(example) in known, (rule.id, example)


def _squash(text: str) -> str:
    return re.sub(r"[\s|｜]", "", text)


@needs_shared
def test_dev_fixture_lines_occur_in_their_dev_files(shared_dir):
    from lxml import html as lxml_html

    for name, line in dev_lines():
        raw = (shared_dir / "corpus" / "dev" / name).read_text(encoding="utf-8", errors="replace")
        if name.endswith(".html"):
            raw = lxml_html.fromstring(raw).text_content()
        assert _squash(normalize_line(line)) in _squash(raw), (name, line)


@pytest.mark.parametrize("line", [
    # sentences that merely mention 来源 / 版权 / 记者 / 编辑 / 声明 inside a paragraph
    "这也意味着，只要数据来源未经用户授权，都存在法律风险。",
    "“坚持项目等资金”,资金来源:中央预算内投资、专项债券和社会资本三部分,确保应投尽投。",
    "该公司加强知识产权保护,近三年处理侵犯版权案件12起,版权所有人的合法权益得到保障。",
    "记者从会上获悉,全省5000万元以上项目开复工率达到92%。",
    "声明指出,双方将继续推进重大项目合作。",
    "编辑部全体人员参加了学习。",
    "2019年,按照全省“抓环境、抓项目、抓落实”项目建设年动员会议精神,吉林市坚持项目为王。",
])
def test_content_sentences_are_not_boilerplate(line):
    assert match_line(line) is None


@pytest.mark.parametrize("line", [
    "坚定信心 抢抓机遇 经济新观察",  # a headline of short words is not a names byline
    "加快推进大项目 硕果累累见成效",
    "东丰县",
    "抢先抓早,实现项目开工更早、建设进度更快、达产达效更多",
])
def test_headings_are_not_boilerplate(line):
    assert match_line(line) is None


def test_widget_bullets_are_stripped_before_matching(seed_texts):
    text = seed_texts["001_129ccc3f4079c8cb.txt"]
    bullet_lines = [l for l in text.split("\n") if l.strip().startswith("•")]
    assert bullet_lines and all(match_line(l) for l in bullet_lines)


def test_boilerplate_hits_finds_lines_left_in_a_body(seed_texts):
    lines = seed_texts["000_eee8e5d36ad8c68f.txt"].split("\n")
    body = "\n".join([lines[22], lines[23], lines[99]])  # participants line, byline, jump line
    assert [rule for rule, _ in boilerplate_hits(body)] == ["byline", "continuation_marker"]
    assert boilerplate_hits(lines[22]) == []
