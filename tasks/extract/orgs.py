"""Organisations: companies and groups named before a company suffix (有限公司, 集团 …).

The name start is found like a project name's (projects.scan_name_start: back to punctuation, a
lead word or a determiner, leading verbs dropped); it must contain a proper-name part (a word rare
in jieba's dictionary, or a place) so 该公司 / 企业集团 are not organisations.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from .projects import scan_name_start
from .projects import LEADING_NON_NAME_TAGS
from .tokenize import Tokens, word_frequency, word_tag

CONJUNCTIONS = {"和", "与", "及", "、"}
LEADING_TAGS = LEADING_NON_NAME_TAGS | {"ad", "i", "l"}  # 密切对接…, 充分发挥…
ORG_SUFFIXES = {"有限公司", "有限责任公司", "股份有限公司", "集团公司", "公司", "集团", "总公司"}
RARE_FREQ = 200


@dataclass
class Org:
    name: str
    start: int
    end: int


def find_orgs(text: str, tokens: Tokens, places: frozenset[str]) -> list[Org]:
    out: list[Org] = []
    for i in [k for k, w in enumerate(tokens.words) if w in ORG_SUFFIXES]:
        tok = tokens[i]
        if i + 1 < len(tokens) and tokens.words[i + 1] in ORG_SUFFIXES:
            continue  # 集团+有限公司: take the longest
        start = scan_name_start(text, tokens, i, 0)
        if start is None:
            continue
        first = bisect_left(tokens.starts, start)
        body = list(tokens[first:i])
        for k in range(len(body) - 1, -1, -1):
            if body[k].text in CONJUNCTIONS:  # 企业和辽矿集团 -> 辽矿集团
                body = body[k + 1:]
                break
        while body and word_tag(body[0].text) in LEADING_TAGS:
            body = body[1:]
        if not body:
            continue
        start = body[0].start
        if not any(t.text in places or (len(t.text) >= 2 and word_frequency(t.text) < RARE_FREQ) for t in body):
            continue
        out.append(Org(text[start:tok.end], start, tok.end))
    return out
