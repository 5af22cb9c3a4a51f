"""Corpus-level template lines (CCNet-style): lines that recur across many documents of one site.

Documents are grouped by site: the URL host for web pages, the JSONL file for JSONL records, the
directory otherwise. A line is template boilerplate when it occurs in at least `min_docs`
distinct stories of its group (and, in a big group, in MIN_SHARE of them). Copies of one story (exact or near duplicates share their longest
line) count once, so a re-posted article does not turn its own paragraphs into 'template'.
Only occurrences outside a document's prose span count: template sits in the header or footer,
before the first or after the last prose line (>= 20 characters with a full stop), while a slogan
or quote that several articles repeat sits among their paragraphs. Sentence-like lines (long
enough, ending a sentence) and quotations are never flagged.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlparse

from .text import ends_sentence, han_count, normalize_line

MIN_DOCS = 3
# In a large group a line must also recur in this share of its stories: section headings such as
# '人物简介' recur in a few articles of a big site without being template.
MIN_SHARE = 0.005
SENTENCE_MIN_HAN = 15
PROSE_LINE_MIN = 20


def site_group(source: str, container: str | None, url: str | None) -> str:
    """Grouping key: URL host, else the JSONL file, else the directory of the source file."""
    if url:
        host = urlparse(str(url)).netloc
        if host:
            return "host:" + host.lower()
    source = str(source or "")
    if container == "jsonl" or source.endswith(".jsonl"):
        return "file:" + source.split("#")[0]
    return "dir:" + os.path.dirname(source)


def is_protected(line: str) -> bool:
    """Content that may legitimately repeat: full sentences and quotations."""
    if han_count(line) >= SENTENCE_MIN_HAN and ends_sentence(line):
        return True
    return line.startswith("“") and line.endswith("”")


def edge_lines(lines: list[str]) -> set[str]:
    """Lines before the first or after the last prose line of a document (its header/footer)."""
    prose = [i for i, line in enumerate(lines) if len(line) >= PROSE_LINE_MIN and "。" in line]
    if not prose:
        return set(lines)
    return set(lines[: prose[0]]) | set(lines[prose[-1] + 1:])


def repeated_lines(docs: Iterable[tuple[str, list[str]]], min_docs: int = MIN_DOCS,
                   min_share: float = MIN_SHARE) -> dict[str, set[str]]:
    """{group: template lines} from (group, lines of one document in order) pairs."""
    stories: dict[tuple[str, str], set[str]] = defaultdict(set)
    group_stories: dict[str, set[str]] = defaultdict(set)
    for group, lines in docs:
        normalized = [n for n in (normalize_line(line) for line in lines) if n]
        if not normalized:
            continue
        story = max(normalized, key=lambda s: (len(s), s))
        group_stories[group].add(story)
        for line in edge_lines(normalized):
            stories[(group, line)].add(story)
    needed = {g: max(min_docs, math.ceil(min_share * len(s))) for g, s in group_stories.items()}
    flagged: dict[str, set[str]] = defaultdict(set)
    for (group, line), seen in stories.items():
        if len(seen) >= needed[group] and not is_protected(line):
            flagged[group].add(line)
    return dict(flagged)
