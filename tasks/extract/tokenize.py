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
import sys
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
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


class Tokens(Sequence):
    """An article's tokens as three parallel lists (words, starts, ends).

    Hot loops read `words`/`starts`/`ends` directly; indexing builds a `Token` on demand, so the
    ~700 tokens of an average article do not each cost an object (that alone was ~10% of the
    stage's time)."""

    __slots__ = ("words", "starts", "ends")

    def __init__(self, words: list[str], starts: list[int], ends: list[int]):
        self.words, self.starts, self.ends = words, starts, ends

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Tokens(self.words[i], self.starts[i], self.ends[i])
        return Token(self.words[i], self.starts[i], self.ends[i])

    def __iter__(self):
        return map(Token, self.words, self.starts, self.ends)


def as_tokens(tokens) -> Tokens:
    """`Tokens` from any sequence of Token (an empty list included)."""
    if isinstance(tokens, Tokens):
        return tokens
    tokens = list(tokens)
    return Tokens([t.text for t in tokens], [t.start for t in tokens], [t.end for t in tokens])


def tokenize(text: str) -> Tokens:
    """Tokens of `text` with their offsets; `text[t.start:t.end] == t.text`."""
    words = segmenter().lcut(text)
    ends = list(accumulate(map(len, words)))
    return Tokens(words, [0, *ends[:-1]], ends)


def word_frequency(word: str) -> int:
    """How often the general dictionary has seen `word` (0 when unknown): common words vs names."""
    return segmenter().dt.FREQ.get(word, 0) or 0


class Lexicon(NamedTuple):
    tags: dict[str, str]  # word -> part-of-speech tag as listed in jieba's dictionaries
    idf: dict[str, float]  # word -> IDF from jieba's keyword table
    median_idf: float


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """jieba's word tags and IDF table as lookups (not a tagger), read once per process.

    Built for memory (each worker process holds one): the keys are jieba's own FREQ strings
    rather than a second and third copy of 350k words, and the tags and IDF values are shared
    objects (~40 MB instead of ~150 MB). The IDF file is parsed as jieba.analyse's
    IDFLoader parses it, without importing jieba.analyse (which loads the POS tagger too)."""
    jieba = segmenter()
    freq = jieba.dt.FREQ
    canonical = dict(zip(freq, freq))  # (map/zip keep the ~600k-entry loops in C)
    tags: dict[str, str] = {}
    for path in (Path(jieba.__file__).with_name("dict.txt"), USERDICT):
        pairs = re.findall(r"^(\S+) \d+ (\w+)$", path.read_text(encoding="utf-8"), re.M)
        words = [w for w, _ in pairs]
        tags.update(zip(map(canonical.get, words, words), map(sys.intern, (t for _, t in pairs))))
    content = (Path(jieba.__file__).parent / "analyse" / "idf.txt").read_text(encoding="utf-8")
    pairs = re.findall(r"^(\S+) (\S+)$", content, re.M)  # IDFLoader: line.strip().split(" ")
    number = {text: float(text) for text in {f for _, f in pairs}}  # one float per value
    words = [w for w, _ in pairs]
    idf = dict(zip(map(canonical.get, words, words), (number[f] for _, f in pairs)))
    return Lexicon(tags, idf, sorted(idf.values())[len(idf) // 2])


def word_tag(word: str) -> str | None:
    """Dictionary tag of `word` (v, n, ns, p, …) or None when the word is not listed."""
    return lexicon().tags.get(word)
