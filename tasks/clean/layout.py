"""Print-layout repair: tell headings from body text and rejoin paragraphs broken by the layout.

A body paragraph that does not end a sentence continues in a later paragraph. The continuation
is chosen among the next few body paragraphs of the article (reading order) by a score:
  + adjacency (3)  the very next paragraph with no heading in between (the usual case)
  + seam word (2)  jieba_fast, without HMM, cuts a dictionary word across the seam ('珠|海')
  + continuity     (<= 2, log of count) Han bigrams shared by the two ends (names, places)
  - distance       0.5 per body paragraph skipped, 1 for a heading in between
Headings (short lines without a full stop, followed by body text) are never joined, and
a paragraph opening with an enumeration marker ('1、', '（二）', '①') never continues another.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from .text import CONTINUES, ends_sentence, has_sentence_stop, han_count, quotes_balanced

MAX_HEADING_CHARS = 100
SHORT_HEADING_CHARS = 40
JOIN_WINDOW = 3
JOIN_THRESHOLD = 1.0

_COMMA = re.compile(r"[，,]")
_FULL_STOP = re.compile(r"[。；;]")
# A paragraph opening with an enumeration marker starts an item, it does not continue a sentence.
_ENUMERATION = re.compile(r"^(?:[（(][0-9一二三四五六七八九十]{1,3}[)）]|[0-9]{1,3}(?:、|[.．](?![0-9]))"
                          r"|[一二三四五六七八九十]{1,3}、|[①-⑳]|第[一二三四五六七八九十]+[，,、])")
_HAN_BIGRAM = re.compile(r"(?=([\u4e00-\u9fff]{2}))")


@dataclass
class Paragraph:
    text: str
    line_nos: list[int]
    heading: bool = False


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba_fast

    jieba_fast.setLogLevel(logging.WARNING)
    jieba_fast.initialize()
    return jieba_fast


def seam_forms_word(left: str, right: str) -> bool:
    """True when the dictionary segmentation puts one word across the seam of left|right."""
    left, right = left[-4:], right[:4]
    if not left or not right:
        return False
    pos = 0
    for token in _jieba().lcut(left + right, HMM=False):
        end = pos + len(token)
        if pos < len(left) < end and han_count(token) >= 2:
            return True
        pos = end
    return False


def bigrams(text: str) -> set[str]:
    return set(_HAN_BIGRAM.findall(text))


def looks_like_heading(text: str, next_text: str | None = None) -> bool:
    """Headline / sub-heading: short, no sentence punctuation, not an obviously broken line."""
    n = len(text)
    if n == 0 or n > MAX_HEADING_CHARS or han_count(text) < 2:
        return False
    if text[-1] in CONTINUES or not quotes_balanced(text):
        return False
    # Headlines may exclaim or ask ('突发！新疆地震', '…“暗伤”曝露？'), never state a full sentence.
    if _FULL_STOP.search(text) or (has_sentence_stop(text) and n > SHORT_HEADING_CHARS):
        return False
    commas = len(_COMMA.findall(text))
    if commas > 1 or (commas and n > SHORT_HEADING_CHARS):
        return False
    if next_text and n <= SHORT_HEADING_CHARS and seam_forms_word(text, next_text):
        return False
    return True


def continuation_score(left: str, right: str, skipped: int, heading_between: bool,
                       distinctive: set[str] | None = None) -> float:
    """How likely `right` continues the unfinished sentence at the end of `left` (see module doc)."""
    if _ENUMERATION.match(right):
        return float("-inf")
    score = 0.0
    if skipped == 0 and not heading_between:
        score += 3.0
    if seam_forms_word(left, right):
        score += 2.0
    shared = bigrams(left[-80:]) & bigrams(right[:80])
    if distinctive is not None:
        shared &= distinctive
    score += min(2.0, math.log1p(len(shared)))
    return score - 0.5 * skipped - (1.0 if heading_between else 0.0)


def _merge(left: Paragraph, right: Paragraph) -> Paragraph:
    return Paragraph(left.text + right.text, left.line_nos + right.line_nos, False)


def repair_joins(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Join every unfinished body paragraph to its best-scoring continuation (reading order kept)."""
    paras = list(paragraphs)
    i = 0
    while i < len(paras):
        p = paras[i]
        if p.heading or ends_sentence(p.text):
            i += 1
            continue
        best, best_score = None, JOIN_THRESHOLD
        heading_between, skipped = False, 0
        for j in range(i + 1, len(paras)):
            cand = paras[j]
            if cand.heading:
                heading_between = True
                continue
            score = continuation_score(p.text, cand.text, skipped, heading_between)
            if score > best_score:
                best, best_score = j, score
            skipped += 1
            if skipped >= JOIN_WINDOW:
                break
        if best is None:
            i += 1
            continue
        paras[i] = _merge(p, paras.pop(best))
        # stay on i: the merged paragraph may still be unfinished
    return paras
