"""The indicator sequence tagger (tasks/extract/indicator_tagger.py) on real sentences.

Sentences come from the facts gold (article named in a comment); which numbers are statistics
was decided by reading them (docs/ANNOTATION.md §2), not from the model.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from stages import extract_articles
from newsgate.tasks.extract import indicator_tagger, parse_article

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import train_extract_models as training  # noqa: E402
from facts_gold import load  # noqa: E402


def indicator_rows(body: str) -> pd.DataFrame:
    arts = pd.DataFrame([{"article_id": "a", "title": None, "body": body, "published_date": None,
                          "dateline_place": None}])
    return extract_articles(arts)["indicators"]


def test_the_tagger_model_ships_and_opens():
    assert indicator_tagger.MODEL_FILE.exists() and indicator_tagger.MODEL_FILE.stat().st_size < 2_000_000
    assert set(indicator_tagger._tagger().labels()) == {"M", "V", "Q", "O"}


def test_a_quantity_is_one_item_of_its_sentence():
    text = "今年1~4月的铁路固定资产投资为1732.73亿元，同比增长22%。"
    parsed = parse_article({"article_id": "a", "body": text})
    items = indicator_tagger.sentence_items(text, parsed.tokens, parsed.sentences[0], parsed.quantities)
    assert [it.word for it in items if it.quantity is not None] == ["<Q>", "<Q>"]
    assert [text[it.start:it.end] for it in items if it.quantity is not None] == ["1732.73亿元", "22%"]
    assert "".join(text[it.start:it.end] for it in items) == text   # nothing dropped, nothing twice


def test_the_tagger_reads_a_quantitys_part_and_the_two_before_it():
    from newsgate.tasks.extract.sentences import Span
    text = "甲，乙，丙，丁增长5%，戊，己10个。"
    spans = indicator_tagger.tagged_spans(text, Span(0, len(text)), [text.index("5%")])
    assert [text[s.start:s.end] for s in spans] == ["乙，丙，丁增长5%，"]
    spans = indicator_tagger.tagged_spans(text, Span(0, len(text)), [text.index("5%"), text.index("10个")])
    assert [text[s.start:s.end] for s in spans] == ["乙，丙，丁增长5%，戊，己10个。"]   # merged


def test_training_labels_mark_the_metric_and_the_statistic():
    text = "2009年全市粮食加工能力150万吨，价格上涨了。"
    parsed = parse_article({"article_id": "a", "body": text})
    items = indicator_tagger.sentence_items(text, parsed.tokens, parsed.sentences[0], parsed.quantities)
    labels = indicator_tagger.training_labels(text, items, [(text.index("150"), "粮食加工能力")])
    tagged = {text[it.start:it.end]: y for it, y in zip(items, labels)}
    assert tagged["150万吨"] == "V"
    assert "".join(text[it.start:it.end] for it, y in zip(items, labels) if y == "M") == "粮食加工能力"
    assert all(y == "O" for it, y in zip(items, labels) if it.start >= text.index("，"))


def test_the_tagger_names_a_statistic_the_rules_give_no_metric():
    # eb:ff80808130ab37e40130afb7166c05db: the railway's fixed investment, January to May, said
    # after a comparison; the rules read 1~5月份为 before it and name no measure
    body = ("来自铁道部的数据显示，今年1~4月的铁路固定资产投资为1732.73亿元，同比增长22%，1~5月份为2199.93亿元，"
            "同比仅增长10.4%，增幅大幅下降。")
    rows = indicator_rows(body).set_index("value_text")
    row = rows.loc["2199.93亿元"]
    assert row.pattern == "indicators.tagged" and row.metric.endswith("固定资产投资")
    assert rows.loc["1732.73亿元"].pattern == "indicators.before"   # the rules' own rows stay theirs


def test_the_tagger_adds_no_attendance():
    # dev:mh_6.html: people at a trial are attendance, not a statistic
    assert indicator_rows("人大代表、政协委员和各界群众三十余人旁听了庭审。").empty


def test_tag_sequences_label_every_item():
    sequences = list(training.tag_sequences([r for r in load("train") if r["indicators"]][:6]))
    assert sequences and all(len(x) == len(y) for x, y in sequences)
    labels = {label for _, y in sequences for label in y}
    assert labels == {"M", "V", "Q", "O"}
