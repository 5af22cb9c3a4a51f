"""Sentence and clause spans: the evidence units quoted by projects, indicators and visits.

A clause ends at 。！？!? (kept) or ；; (dropped) or a paragraph break; a sentence ends only at
。！？!? or a paragraph break. Offsets index the text, so `text[s.start:s.end]` is the evidence.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

CLAUSE_END = re.compile(r"[。！？!?]+[”’」』]?|[；;]|\n")
SENTENCE_END = re.compile(r"[。！？!?]+[”’」』]?|\n")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _split(text: str, ends: re.Pattern) -> list[Span]:
    spans, pos = [], 0
    for m in ends.finditer(text):
        keep = m.group(0) not in ("\n", ";", "；")
        end = m.end() if keep else m.start()
        if end > pos and (span := _trim(text, pos, end)) is not None:
            spans.append(span)
        pos = m.end()
    if pos < len(text) and (span := _trim(text, pos, len(text))) is not None:
        spans.append(span)
    return spans


def _trim(text: str, start: int, end: int) -> Span | None:
    """text[start:end] without the white space around it; None when nothing else is left."""
    if start >= end:
        return None
    if not text[start].isspace() and not text[end - 1].isspace():
        return Span(start, end)   # the usual case, without copying the text
    part = text[start:end]
    core = part.strip()
    if not core:
        return None
    start += len(part) - len(part.lstrip())
    return Span(start, start + len(core))


def clauses(text: str) -> list[Span]:
    return _split(text, CLAUSE_END)


def sentences(text: str) -> list[Span]:
    return _split(text, SENTENCE_END)


def paragraphs(text: str) -> list[Span]:
    spans, pos = [], 0
    for line in text.split("\n"):
        if (span := _trim(text, pos, pos + len(line))) is not None:
            spans.append(span)
        pos += len(line) + 1
    return spans


class SpanIndex:
    """Which span (clause, sentence, paragraph) an offset falls in."""

    def __init__(self, spans: list[Span]):
        self.spans = spans
        self.starts = [s.start for s in spans]

    def at(self, offset: int) -> Span | None:
        i = bisect_right(self.starts, offset) - 1
        if i >= 0 and self.spans[i].start <= offset < self.spans[i].end:
            return self.spans[i]
        return None
