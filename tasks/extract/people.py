"""People and visits.

`find_people` reads "title + name" (省委书记巴音朝鲁, 省委副书记、省长景俊海) with titles from
`titles.txt`; the name is the run of Han characters after the titles, cut where a verb or function
word starts (率领, 来到, 在, 与 …) and kept only when it is 2-4 characters and not a common word.
Every later bare occurrence of a found name in the article is a mention too.

`find_visits`: a sentence where a known *official* moves to a place (来到/到/赴/深入 + a resolved
place mention) and the sentence is about an inspection (踏查, 调研, 考察, 视察, 察看, 督导 …).
One visit per (person, place) per article, the first sentence being its evidence. The date is
read from the sentence (3日, 7月28日, 近日) and resolved against the article's published date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .dates import RELATIVE as DATE_TEXT
from .places import PlaceMention
from .sentences import Span
from .tokenize import word_frequency

TITLES_FILE = Path(__file__).with_name("titles.txt")
NAME_STOPS = ["率领", "带领", "来到", "主持", "参加", "一行", "先后", "围绕", "表示", "介绍", "强调",
              "指出", "实地", "深入", "视察", "亲临", "察看", "出席", "调研", "踏查", "考察", "同志",
              "听取", "会见", "前往", "走进", "代表", "对照", "在", "到", "赴", "与", "和", "对", "就",
              "等", "的", "说", "来", "为", "任", "是", "也", "又", "都", "一", "讲", "要", "作", "率",
              "及", "从", "向", "则", "将"]
MAX_NAME = 4
COMMON_WORD_FREQ = 100
MOVE_VERBS = re.compile(r"(?:深入到|来到|走进|前往|深入|赴|到)$")
VISIT_WORDS = re.compile(r"踏查|调研|考察|视察|察看|检查|督导|督战|走访|慰问")


@dataclass
class Person:
    name: str
    title: str
    kind: str     # official | corporate
    start: int
    end: int


@lru_cache(maxsize=1)
def _titles() -> dict[str, str]:
    rows = [line.split("\t") for line in TITLES_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return {t.strip(): k.strip() for t, k in rows}


@lru_cache(maxsize=1)
def _title_pattern() -> re.Pattern:
    alts = "|".join(re.escape(t) for t in sorted(_titles(), key=len, reverse=True))
    return re.compile(f"(?P<titles>(?:{alts})(?:、(?:{alts}))*)(?P<run>[\u4e00-\u9fff]{{1,10}})")


def _cut_name(run: str) -> str:
    cut = len(run)
    for stop in NAME_STOPS:
        i = run.find(stop, 1 if len(stop) > 1 else 2)
        if 0 < i < cut:
            cut = i
        if run.startswith(stop) and len(stop) > 0:
            return ""
    return run[:min(cut, MAX_NAME)] if cut <= MAX_NAME else ""


def find_people(text: str) -> list[Person]:
    """Titled people, then every other occurrence of their names."""
    titles = _titles()
    found: list[Person] = []
    known: dict[str, tuple[str, str]] = {}
    for m in _title_pattern().finditer(text):
        name = _cut_name(m.group("run"))
        if len(name) < 2 or word_frequency(name) > COMMON_WORD_FREQ:
            continue
        title = m.group("titles")
        last_title = title.split("、")[-1]
        kind = titles[last_title]
        start = m.start("run")
        found.append(Person(name, title, kind, start, start + len(name)))
        known.setdefault(name, (title, kind))
    seen = {(p.start, p.end) for p in found}
    for name, (title, kind) in known.items():
        for m in re.finditer(re.escape(name), text):
            if (m.start(), m.end()) not in seen:
                found.append(Person(name, title, kind, m.start(), m.end()))
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
        for mv in re.finditer(r"深入到|来到|走进|前往|深入|赴|到", sentence):
            place = place_at.get(s.start + mv.end())
            if place is None:
                continue
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
