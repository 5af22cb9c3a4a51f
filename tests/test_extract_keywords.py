"""Keywords (TF-IDF over shared tokens), tokens and the evidence spans."""
from __future__ import annotations

import re
from pathlib import Path

from newsgate.tasks.extract.keywords import top_keywords
from newsgate.tasks.extract.sentences import clauses, paragraphs, sentences
from newsgate.tasks.extract.tokenize import USERDICT, lexicon, segmenter, tokenize, word_tag

TEXT = ("今年,东丰县拟实施500万元以上项目80个,总投资95.94亿元。东丰县按全省“三抓”“三早”要求,"
        "在项目超前谋划、精心安排的基础上,一手抓防疫、一手抓发展。鑫达300万吨钢配套120万t/a炼焦项目正在施工。")


def test_keywords_are_ranked_words_without_stop_words():
    kws = top_keywords(tokenize(TEXT), k=5)
    words = [w for w, _ in kws]
    assert len(kws) == 5 and words[0] == "东丰县"
    assert all(w1 >= w2 for (_, w1), (_, w2) in zip(kws, kws[1:]))
    assert not {"项目", "全省", "500", "。"} & set(words)
    assert "三早" in [w for w, _ in top_keywords(tokenize(TEXT), k=20)]   # user dictionary word


def test_clause_sentence_and_paragraph_spans():
    text = "目前,总投资2.3亿元的A项目已建设完成3栋猪舍;总投资2.5亿元的B项目已完成。\n第二段,没有句号"
    assert [text[s.start:s.end] for s in clauses(text)] == [
        "目前,总投资2.3亿元的A项目已建设完成3栋猪舍", "总投资2.5亿元的B项目已完成。", "第二段,没有句号"]
    assert [text[s.start:s.end] for s in sentences(text)] == [
        "目前,总投资2.3亿元的A项目已建设完成3栋猪舍;总投资2.5亿元的B项目已完成。", "第二段,没有句号"]
    assert len(paragraphs(text)) == 2


def test_tokens_carry_offsets_and_keep_domain_words():
    text = "东辽河干流辽源市段治理工程,落实“六稳”“六保”"
    toks = tokenize(text)
    assert all(t.text == text[t.start:t.end] for t in toks) and toks[-1].end == len(text)
    assert {"东辽河", "六稳", "六保"} <= {t.text for t in toks}



def test_lexicon_holds_jiebas_own_tags_and_idf_on_jiebas_own_strings():
    """The tag and IDF lookups equal jieba's tables (its dictionary lines, its IDFLoader), but
    their keys are the very string objects of jieba's FREQ (one copy of 350k words, not three)."""
    jieba = segmenter()
    from jieba_fast.analyse.tfidf import IDFLoader
    table = lexicon()
    tags: dict[str, str] = {}
    for path in (Path(jieba.__file__).with_name("dict.txt"), USERDICT):
        tags.update(re.findall(r"^(\S+) \d+ (\w+)$", path.read_text(encoding="utf-8"), re.M))
    loader = IDFLoader(str(Path(jieba.__file__).parent / "analyse" / "idf.txt"))
    assert table.tags == tags and len(tags) > 300_000
    assert table.idf == loader.idf_freq and table.median_idf == loader.median_idf
    assert word_tag("东丰县") == tags["东丰县"] and word_tag("没有这个词啊") is None
    freq_keys = {id(w) for w in jieba.dt.FREQ}
    shared = sum(id(w) in freq_keys for w in table.tags) / len(table.tags)
    assert shared > 0.99
    assert sum(id(w) in freq_keys for w in table.idf) / len(table.idf) > 0.9
