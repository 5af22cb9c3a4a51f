"""Photo captions on printed pages that carry no photo marker of their own.

Captions with a marker ('…记者 X 摄', '图为…') are caught by the `photo_caption` rule. On a
newspaper page whose credits say it has photos ('本版图片由…拍摄'), captions are the runs of short
one-sentence lines set between the articles' paragraphs, and lines numbered ①②③ that key
captions to pictures. They go to the `captions` column and to removals (rule `photo_caption`).
"""
from __future__ import annotations

import re

from .text import ends_sentence

MIN_RUN = 3
MAX_CAPTION_CHARS = 80
_NUMBERED = re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳].{4,}")
_PHOTO_CREDIT = re.compile(r"图片|摄影|照片|拍摄|供图")
_STOPS = re.compile(r"[。！？!?；;]")


def page_has_photos(credit_lines: list[str]) -> bool:
    return any(_PHOTO_CREDIT.search(line) for line in credit_lines)


def _one_short_sentence(text: str) -> bool:
    return (len(text) <= MAX_CAPTION_CHARS and ends_sentence(text)
            and len(_STOPS.findall(text)) == 1 and "“" not in text)


def caption_indexes(texts: list[str]) -> set[int]:
    """Indexes of caption lines among a page's content lines (call only for pages with photos)."""
    found = {i for i, t in enumerate(texts) if _NUMBERED.match(t)}
    run: list[int] = []
    for i, text in enumerate(texts + [""]):
        if text and _one_short_sentence(text) and i not in found:
            run.append(i)
            continue
        if len(run) >= MIN_RUN:
            found.update(run)
        run = []
    return found
