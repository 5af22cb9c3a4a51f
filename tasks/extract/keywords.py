"""Keywords: TF-IDF over the article's own tokens (no second segmentation pass).

IDF comes from jieba's bundled idf table (jieba.analyse), unknown words get its median IDF; the
stop list (`stopwords.txt`, one word a line) drops function words and newsroom boilerplate.
Tokens shorter than 2 characters, numbers and punctuation are not keywords.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from .tokenize import Tokens, segmenter

STOPWORDS_FILE = Path(__file__).with_name("stopwords.txt")
TOP_K = 10
WORDLIKE = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9+]*$")


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    segmenter()
    try:
        import jieba_fast.analyse as analyse
    except ImportError:  # pragma: no cover
        import jieba.analyse as analyse
    table = analyse.default_tfidf.idf_loader
    return table.idf_freq, table.median_idf


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(w.strip() for w in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
                     if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=200_000)
def _keyword_idf(word: str) -> float | None:
    """IDF of a word that may be a keyword, None for stop words, numbers, punctuation, 1-char words
    (cached: the vocabulary repeats across articles)."""
    if len(word) < 2 or word in _stopwords() or not WORDLIKE.match(word):
        return None
    idf, median = _idf()
    return idf.get(word, median)


def top_keywords(tokens: Tokens, k: int = TOP_K) -> list[tuple[str, float]]:
    counts = Counter(tokens.words)  # count in C, then look at each distinct word once
    scored = [(w, c, i) for w, c in counts.items() if (i := _keyword_idf(w)) is not None]
    total = sum(c for _, c, _ in scored) or 1
    ranked = sorted(((w, c / total * i) for w, c, i in scored), key=lambda x: (-x[1], x[0]))
    return [(w, round(x, 6)) for w, x in ranked[:k]]
