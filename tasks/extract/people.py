"""People and visits.

`find_people` reads "title + name" (省委书记巴音朝鲁, 省委副书记、省长景俊海) with titles from
`titles.txt`; where the name ends is read from the article's jieba tokens (景俊海|率领): the token
after the titles, joined with the next one for a one-character surname (王|儒林) or a split
given name (江泽|林), stopping at verbs, prepositions and particles (dictionary tags); 2-4
characters and not a common word.
Every later bare occurrence of a found name in the article is a mention too.

`find_visits`: a sentence where a known *official* moves to or inspects a place (来到/到/赴/深入/
考察了 + a resolved place mention, or 在 + place + 调研/考察 …) and the sentence is about an inspection (踏查, 调研, 考察, 视察, 察看, 督导 …).
One visit per (person, place) per article, the first sentence being its evidence. The date is
read from the sentence (3日, 7月28日, 近日) and resolved against the article's published date.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .dates import RELATIVE as DATE_TEXT
from .places import PlaceMention
from .sentences import Span
from .tokenize import Tokens, tokenize, word_frequency, word_tag

TITLES_FILE = Path(__file__).with_name("titles.txt")
# dictionary tags that end a name: verbs, prepositions, particles, conjunctions, punctuation-like
NAME_END_TAGS = {"v", "vd", "vi", "vn", "p", "u", "uj", "ul", "uz", "ug", "c", "d", "q", "f", "r", "m", "x"}
NAME_END_WORDS = {"一行", "同志", "等", "在", "到", "赴", "与", "和", "对", "就", "的", "为", "任", "率", "来",
                  "说", "讲", "要", "是", "将", "及"}
MAX_NAME = 4
HAN = re.compile(r"[\u4e00-\u9fff]+")
# moving to, or inspecting, a place: the place mention must start right after
MOVES = re.compile(r"深入到|来到|走进|前往|深入|赴|到|在|(?:考察|视察|调研|察看|检查)了?")
AT_PLACE_ACTIVITY = re.compile(r"[,，]?(?:开展|进行)?[^,，。]{0,8}?(?:调研|考察|视察|检查|督导|踏查|走访|慰问)")
VISIT_WORDS = re.compile(r"踏查|调研|考察|视察|察看|检查|督导|督战|走访|慰问")


@dataclass
class Person:
    name: str
    title: str
    kind: str     # official | corporate
    start: int
    end: int
    how: str = "title"   # title: right after its title | repeat: a later bare occurrence


@lru_cache(maxsize=1)
def _titles() -> dict[str, str]:
    rows = [line.split("\t") for line in TITLES_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return {t.strip(): k.strip() for t, k in rows}


@lru_cache(maxsize=1)
def _title_pattern() -> re.Pattern:
    alts = "|".join(re.escape(t) for t in sorted(_titles(), key=len, reverse=True))
    return re.compile(f"(?P<titles>(?:{alts})(?:、(?:{alts}))*)(?=[\u4e00-\u9fff])")


NAME_TAIL_STOPS = set("等在到与和对就的为任率来")


def _looks_like_name(word: str) -> bool:
    """Unknown to the dictionary, tagged as a person name, or nearly never seen (巴音朝鲁)."""
    tag = word_tag(word)
    return tag is None or tag.startswith("nr") or word_frequency(word) <= 5


def _name_after(tokens: Tokens, i: int) -> tuple[int, int] | None:
    """(start, end) of the person name beginning at token i: jieba's tokens decide where it ends
    (景俊海|率领, 袁为|来|辽); a one-character surname takes the next token (王|儒林, 乔|保平) and a
    two-character start may take a one-character tail (江泽|林, 赵双|连)."""
    n = len(tokens.words)
    if i >= n:
        return None
    words = tokens.words

    def ends_name(w: str) -> bool:
        return (not HAN.fullmatch(w) or w in NAME_END_WORDS or word_tag(w) in NAME_END_TAGS)

    first = words[i]
    if ends_name(first) or len(first) > MAX_NAME:
        return None
    end = tokens.ends[i]
    length = len(first)
    nxt = words[i + 1] if i + 1 < n else ""
    if nxt and not ends_name(nxt) and (length == 1 and len(nxt) <= 2 or length == 2 and len(nxt) == 1):
        end, length = tokens.ends[i + 1], length + len(nxt)      # 王|儒林, 江泽|林
    elif length == 2 and len(nxt) > 1 and word_tag(nxt) is None and nxt[1] in NAME_TAIL_STOPS:
        end, length = end + 1, 3                                  # 江泽|林等省 -> 江泽林
    if length < 2:
        return None
    if end == tokens.ends[i] and not _looks_like_name(first):
        return None  # a dictionary word (任组长, 工作), not a name
    return tokens.starts[i], end


def find_people(text: str, tokens: Tokens | None = None) -> list[Person]:
    """Titled people, then every other occurrence of their names."""
    titles = _titles()
    tokens = tokens if tokens is not None else tokenize(text)
    found: list[Person] = []
    known: dict[str, tuple[str, str]] = {}
    for m in _title_pattern().finditer(text):
        i = bisect_left(tokens.starts, m.end("titles"))
        if i >= len(tokens.starts) or tokens.starts[i] != m.end("titles"):
            continue  # the title ends inside a word
        span = _name_after(tokens, i)
        if span is None:
            continue
        name = text[span[0]:span[1]]
        title = m.group("titles")
        kind = titles[title.split("、")[-1]]
        found.append(Person(name, title, kind, span[0], span[1]))
        known.setdefault(name, (title, kind))
    seen = {(p.start, p.end) for p in found}
    for name, (title, kind) in known.items():
        for m in re.finditer(re.escape(name), text):
            if (m.start(), m.end()) not in seen:
                found.append(Person(name, title, kind, m.start(), m.end(), "repeat"))
    found.sort(key=lambda p: p.start)
    return found


@dataclass
class Visit:
    person: str
    title: str
    place: PlaceMention
    date_text: str | None
    sentence: Span


def find_visits(text: str, sentences: list[Span], people: list[Person],
                places: list[PlaceMention]) -> list[Visit]:
    officials = [p for p in people if p.kind == "official"]
    place_at = {p.start: p for p in places}
    visits, seen = [], set()
    for s in sentences:
        sentence = text[s.start:s.end]
        if not VISIT_WORDS.search(sentence):
            continue
        for mv in MOVES.finditer(sentence):
            place = place_at.get(s.start + mv.end())
            if place is None:
                continue
            if mv.group(0) == "在" and not AT_PLACE_ACTIVITY.match(text, place.end):
                continue  # 在长春市调研 is a visit; 在全省会议上 is not
            before = [p for p in officials if s.start <= p.start < s.start + mv.start()]
            if not before:
                continue
            person = before[-1]
            key = (person.name, place.region.full)
            if key in seen:
                continue
            seen.add(key)
            dm = DATE_TEXT.search(sentence)
            visits.append(Visit(person.name, person.title, place, dm.group(0) if dm else None, s))
    return visits
