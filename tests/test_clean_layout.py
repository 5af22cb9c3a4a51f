"""Print-layout repair, headings, captions and page segmentation on real seed lines."""
from __future__ import annotations

import pytest

from newsgate.tasks.clean.captions import caption_indexes
from newsgate.tasks.clean.layout import Paragraph, continuation_score, looks_like_heading, repair_joins, seam_forms_word
from newsgate.tasks.clean.segment import Byline, split_page
from newsgate.tasks.clean.metadata import Credits
from newsgate.tasks.clean.text import ends_sentence

SEED0, SEED2, SEED4 = "000_eee8e5d36ad8c68f.txt", "002_b6da46b685f43c6f.txt", "004_565aa33160096c90.txt"


def lines_of(seed_texts, name):
    return seed_texts[name].split("\n")


def paragraphs(lines, numbers):
    """Paragraph objects for 0-based raw line numbers, headings detected as the cleaner does."""
    texts = [lines[n].strip() for n in numbers]
    return [Paragraph(t, [n + 1], looks_like_heading(t, texts[i + 1] if i + 1 < len(texts) else None))
            for i, (t, n) in enumerate(zip(texts, numbers))]


@pytest.mark.parametrize("text,expected", [
    ("造良好条件。", True),
    ("加快推动项目落地建设。”", True),
    ("…长春经开", False),
    ("发展目标和“4+2”", False),  # a closing quote that closes no sentence
    ("同时,按照梯次储备、滚动实施的原则,", False),
])
def test_ends_sentence(text, expected):
    assert ends_sentence(text) is expected


def test_headings_and_broken_lines_are_told_apart(seed_texts):
    s0, s2, s4 = (lines_of(seed_texts, n) for n in (SEED0, SEED2, SEED4))
    assert looks_like_heading(s0[2].strip(), s0[4])        # 78-char page headline
    assert looks_like_heading(s0[67].strip(), s0[69])      # 坚定信心 抢抓机遇 经济新观察
    assert looks_like_heading(s4[3].strip(), s4[4])        # sub-heading with one comma
    assert looks_like_heading(s2[40].strip(), s2[42])      # 东丰县
    assert not looks_like_heading(s0[85].strip(), s0[87])  # “受疫情影响,2月份时身在珠
    assert not looks_like_heading(s2[50].strip(), s2[52])  # ends with a comma
    assert not looks_like_heading(s2[82].strip(), s2[84])  # has a full stop inside
    assert looks_like_heading("多地项目连环爆雷 狂奔的龙湖集团“暗伤”曝露？", s2[6])  # headlines may ask


def test_seam_word_detects_a_word_cut_by_the_layout():
    assert seam_forms_word("2月份时身在珠", "海的公司负责人")
    assert not seam_forms_word("达产达效更多", "对照全年投资目标任务")


def test_adjacent_broken_paragraphs_are_joined_and_sentences_are_not(seed_texts):
    s0 = lines_of(seed_texts, SEED0)
    joined = repair_joins(paragraphs(s0, [39, 41, 43, 45, 47]))
    texts = [p.text for p in joined]
    # 39+41 joined ('既定|目标'); 41 ends a sentence so 43 starts anew; 43+45 joined ('供|给')
    assert len(texts) == 3
    assert "坚定不移向着全年既定目标迈进。" in texts[0]
    assert texts[1].startswith("用好专项债券资金") and "促进消费供给回补。" in texts[1]
    assert texts[2] == "王志厚等参加活动。"


def test_headings_are_never_joined(seed_texts):
    s4 = lines_of(seed_texts, SEED4)
    joined = repair_joins(paragraphs(s4, [2, 3, 4]))
    assert [p.heading for p in joined] == [False, True, False]
    assert joined[1].text == s4[3].strip()


def test_continuation_is_found_past_an_unrelated_paragraph(seed_texts):
    """'…并' + foreign paragraph + '听取长春新区…': the seam/continuity score picks the right one."""
    s0 = lines_of(seed_texts, SEED0)
    unfinished, foreign, continuation = s0[31].strip(), s0[35].strip(), s0[52].strip()
    right = continuation_score(unfinished, continuation, 1, False)
    wrong_far = continuation_score(unfinished, foreign, 1, False)
    assert right > wrong_far


def test_page_with_four_articles_is_split_in_reading_order(seed_texts):
    s0 = lines_of(seed_texts, SEED0)
    numbers = [n for n, l in enumerate(s0) if l.strip()]
    items = []
    for p in paragraphs(s0, [n for n in numbers if n not in (23, 48, 65, 99)]):
        n = p.line_nos[0] - 1
        items.append(p)
        if n + 1 in (23, 48, 65):
            items.append(Byline(Credits(), n + 2))
    drafts = split_page(items)
    assert [d.headings[0].line_nos[0] - 1 for d in drafts] == [2, 33, 50, 67]
    order = [[p.line_nos[0] - 1 for p in d.reading_order()] for d in drafts]
    assert order[1][:3] == [25, 27, 35]  # the lead set before the headline opens article 2
    assert order[2][:3] == [29, 31, 52]  # '…并' is followed by its continuation '听取…'
    assert all(25 not in o and 29 not in o for o in (order[0], order[3]))


def test_caption_runs_and_numbered_captions(seed_texts):
    s2 = lines_of(seed_texts, SEED2)
    numbers = [n for n, l in enumerate(s2) if l.strip() and n not in (32, 33, 34, 38, 68, 90, 108)]
    found = {numbers[i] for i in caption_indexes([s2[n].strip() for n in numbers])}
    assert found == {10, 14, 18, 22, 26, 30, 130, 132, 134, 136}


def test_an_enumerated_item_never_continues_the_paragraph_before_it():
    paras = [Paragraph(t, [n]) for n, t in enumerate(
        ["施工条件如下：", "1、将地面清扫干净。", "（2）原地面要求坚硬", "，平整。", "总投资", "1.5亿元。"], start=1)]
    assert [p.text for p in repair_joins(paras)] == [
        "施工条件如下：", "1、将地面清扫干净。", "（2）原地面要求坚硬，平整。", "总投资1.5亿元。"]
