"""Tokenisation: one jieba pass per article, shared by every extractor.

jieba_fast is used when importable (same dictionary and algorithm as jieba, C core, ~2x faster).
The domain user dictionary (`userdict.txt`) keeps slogans (三早, 十四五), place names that the
default dictionary splits (东辽河 must stay one word so it is not read as 东辽县) and company /
park suffixes together. Only `lcut` is used: part-of-speech tagging is ~7x slower and nothing here
needs it.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

USERDICT = Path(__file__).with_name("userdict.txt")


class Token(NamedTuple):  # a NamedTuple: an article has thousands, built in the hot loop
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def segmenter():
    """The initialised jieba module (jieba_fast when available), user dictionary loaded."""
    try:
        import jieba_fast as jieba
    except ImportError:  # pragma: no cover - jieba_fast is a declared dependency
        import jieba
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    jieba.load_userdict(str(USERDICT))
    return jieba


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with their offsets; `text[t.start:t.end] == t.text`."""
    tokens, pos = [], 0
    append = tokens.append
    for word in segmenter().lcut(text):
        end = pos + len(word)
        append(Token(word, pos, end))
        pos = end
    return tokens


def word_frequency(word: str) -> int:
    """How often the general dictionary has seen `word` (0 when unknown): common words vs names."""
    return segmenter().dt.FREQ.get(word, 0) or 0


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    """word -> part-of-speech tag as listed in jieba's dictionaries (a lookup, not a tagger)."""
    jieba = segmenter()
    tags: dict[str, str] = {}
    for path in (Path(jieba.__file__).with_name("dict.txt"), USERDICT):
        content = path.read_text(encoding="utf-8")
        tags.update(re.findall(r"^(\S+) \d+ (\w+)$", content, re.M))
    return tags


def word_tag(word: str) -> str | None:
    """Dictionary tag of `word` (v, n, ns, p, …) or None when the word is not listed."""
    return _word_tags().get(word)
