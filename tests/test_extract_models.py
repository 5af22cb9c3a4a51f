"""The learned parts of the extract stage (issue 12 part 7): the shipped indicator scorer on real
sentences, and the training script's reproducibility on a small slice of the train part.

Sentences come from the tuning part of the facts gold (article named in a comment); which rows
are statistics was decided by reading them (docs/ANNOTATION.md §2), not from the model.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from stages import extract_articles
from newsgate.tasks.extract.confidence import REVIEW_THRESHOLD
from newsgate.tasks.extract import name_tagger
from newsgate.tasks.extract.sentences import clauses
from newsgate.tasks.extract.tokenize import tokenize
from newsgate.tasks.extract.indicator_filter import MODEL_FILE, _tagger

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import train_extract_models as training  # noqa: E402
from facts_gold import load  # noqa: E402


def indicator_rows(body: str) -> dict[str, pd.Series]:
    arts = pd.DataFrame([{"article_id": "a", "title": None, "body": body, "published_date": None,
                          "dateline_place": None}])
    rows = extract_articles(arts)["indicators"]
    return {r.value_text: r for r in rows.itertuples()}


def test_the_indicator_model_ships_and_opens():
    assert MODEL_FILE.exists() and MODEL_FILE.stat().st_size < 2_000_000   # small package data
    assert _tagger() is not None and set(_tagger().labels()) == {"yes", "no"}


def projects_of(body: str) -> list[tuple]:
    arts = pd.DataFrame([{"article_id": "a", "title": None, "body": body, "published_date": None,
                          "dateline_place": None}])
    rows = extract_articles(arts)["projects"]
    return list(zip(rows["name"], rows["pattern"], rows["investment_yuan"]))


def test_the_name_tagger_ships_and_finds_what_no_rule_does():
    assert name_tagger.MODEL_FILE.exists() and name_tagger.MODEL_FILE.stat().st_size < 2_000_000
    # eb:ff8080812fba4e32012fbeb3166e059b: a motorway that is the topic of its sentence
    found = projects_of("唐津高速公路是国家高速公路网长春-深圳高速公路的重要组成部分，即是连接我国东北地区"
                        "与华东、华南地区的快速通道。")
    assert ("唐津高速公路", "projects.learned") in [(n, p) for n, p, _ in found]
    assert all(n != "长春-深圳高速公路" for n, _, _ in found)   # a network's part, not this project


def test_the_name_tagger_skips_windows_where_no_new_name_can_end():
    def windows(text, rule_spans=None):
        found = name_tagger.tagged_windows(text, tokenize(text), clauses(text), rule_spans)
        return [text[w.start:w.end] for w, _ in found]
    # eb:ff8080812fba4e32012fbeb3166e059b: a bare head opening its clause names nothing; training
    # reads these windows too (rule_spans None)
    text = "工程总投资30.5亿元人民币。"
    assert windows(text, []) == [] and windows(text) != []
    # dev:gne_10.html: 市场 alone is no head (a market is a project only as a facility: 批发市场 …)
    assert windows("9月19日，市场消息称，头部贷款超市平台信用管家被警方突击调查。") == []
    # dev:ebuy_9.txt: 高速公路 after 全市 can end a name (the window it shares with 工程 is read),
    # unless the rules already named it
    text = "目前，全市高速公路建设已进入高潮，工程进展比较顺利。"
    assert windows(text, []) == windows(text) == ["目前，全市高速公路建设已进入高潮，工程"]
    assert windows(text, [(text.index("全市"), text.index("建设"))]) == []
    # eb:ff80808132811a910132adf78fde3f11: after 的, and a token holding a name of its own, are read
    text = "起点为上海东北角的新江湾城，终点为上海西南角的虹桥机场。"
    assert windows(text, []) == windows(text) and windows(text)[-1].endswith("的虹桥机场")


def test_a_tagged_name_takes_the_investment_after_it():
    # eb:ff80808130db80a7013116d0f4f310e3: a fund-raising project named by what it makes
    found = projects_of("该公司此次募集资金投入的四个项目包括：半导体照明光源产业化项目，总投资额1.39亿元。")
    assert ("半导体照明光源产业化项目", "projects.learned", 139_000_000) in found


def test_a_regional_statistic_is_certain():
    # eb:ff8080812fbfbecc012fdc85a16e0d92: a province's technical-upgrade funds and their growth
    rows = indicator_rows("1至3月份，全省到位技改资金1515.5亿元，同比增长14.1%，远远低于去年同期的34.2%。")
    growth = rows["14.1%"]
    assert growth.metric == "到位技改资金同比增长" and growth.confidence >= REVIEW_THRESHOLD and not growth.needs_review


@pytest.mark.parametrize("body, value_text", [
    # dev:mh_12.html: jobs offered at one school's job fair (attendance, not a statistic)
    ("5月9日，学校举办了就业双选会，35家企业参与招聘，共提供就业岗位400多个", "400多个"),
    # eb:ff80808132e20dea0132eb732e860f83: one project's own planned investment
    ("此项目为服务类采购，工程总里程为8公里，预计总投资约9000万元。", "约9000万元"),
])
def test_a_figure_that_is_no_statistic_needs_review(body, value_text):
    rows = indicator_rows(body)
    assert value_text in rows, rows.keys()   # the rules keep it; the model doubts it
    assert rows[value_text].needs_review and rows[value_text].confidence < REVIEW_THRESHOLD


def test_training_rows_have_one_item_and_a_yes_no_label():
    sequences = list(training.row_sequences([r for r in load("train") if r["indicators"]][:10]))
    assert sequences and all(len(x) == len(y) == 1 for x, y in sequences)
    assert {y[0] for _, y in sequences} <= {"yes", "no"} and any(y == ["yes"] for _, y in sequences)
    assert all(x[0][0] == "bias" and any(f.startswith("head=") for f in x[0]) for x, _ in sequences)


def test_name_sequences_label_every_character_of_a_clause():
    sequences = list(training.name_sequences([r for r in load("train") if r["projects"]][:4]))
    assert sequences and all(len(x) == len(y) for x, y in sequences)
    labels = {label for _, y in sequences for label in y}
    assert labels <= {"B", "I", "O"} and "B" in labels


@pytest.mark.parametrize("model", ["indicators", "names", "tags"])
def test_training_is_reproducible(model, tmp_path):
    records = [r for r in load("train") if r["projects"] and r["indicators"]][:4]
    first, second = tmp_path / "a.crfsuite", tmp_path / "b.crfsuite"
    assert training.train(model, records, first) == training.train(model, records, second) > 0
    assert first.read_bytes() == second.read_bytes()


def test_each_thread_opens_its_own_model():
    # the dask runner extracts in threads, and a Tagger keeps the sequence it last tagged (tag, then
    # marginal): two threads sharing one read each other's sequences
    import threading
    from newsgate.tasks.extract.crf import open_model
    seen = []
    threads = [threading.Thread(target=lambda: seen.append((open_model(name_tagger.MODEL_FILE),
                                                            open_model(name_tagger.MODEL_FILE))))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a, a_again), (b, _) = seen
    assert a is a_again and a is not b and a is not None
