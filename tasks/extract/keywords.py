"""Keywords: TF-IDF over the article's own tokens (no second segmentation pass).

IDF comes from jieba's bundled idf table (tokenize.lexicon), unknown words get its median IDF; the
stop list (`stopwords.txt`, one word a line) drops function words and newsroom boilerplate.
Tokens shorter than 2 characters, numbers and punctuation are not keywords.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from .tokenize import Tokens, lexicon

STOPWORDS_FILE = Path(__file__).with_name("stopwords.txt")
TOP_K = 10
WORDLIKE = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9+]*$")


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
    table = lexicon()
    return table.idf.get(word, table.median_idf)


def top_keywords(tokens: Tokens, k: int = TOP_K) -> list[tuple[str, float]]:
    counts = Counter(tokens.words)  # count in C, then look at each distinct word once
    scored = [(c, i, w) for w, c in counts.items() if (i := _keyword_idf(w)) is not None]
    total = sum(c for c, _, _ in scored) or 1
    ranked = sorted([(-(c / total * i), w) for c, i, w in scored])[:k]  # by weight, then word (C tuple order)
    return [(w, round(-x, 6)) for x, w in ranked]
