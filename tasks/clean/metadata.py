"""Article metadata from the lines cleaning moved out of the body: bylines, datelines, dates, outlet.

Dates follow the text only: a full date when the page states one (date widget, 发布时间, a
dateline '2月18日电' plus a year the article itself names), else the year alone when the article
names years, else None. No year is ever taken from world knowledge.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .text import ascii_digits

# Source values that name no outlet.
GENERIC_OUTLETS = {"本报", "本网", "本站", "本刊", "互联网", "网络", "网友", "综合", "网络综合", "网友上传", "本台"}
# Words that follow names in credits but are not names.
CREDIT_VERBS = {"报道", "撰写", "整理", "拍摄", "摄", "提供", "采写", "综合报道", "翻摄", "摄影", "制图",
                "整合", "综合", "编译", "编辑", "报道组"}
# Prefixes of a source value that are not part of the outlet's name.
SOURCE_PREFIXES = ("综合自", "综合", "转自", "转载自", "摘自")
# Page-metadata author values ('作者：陈海峰') carry these labels; other labels (选稿, 编辑) are not authors.
AUTHOR_LABEL = re.compile(r"^(?:作者|记者|文)\s*[:：/]?\s*")
_NOT_AN_OUTLET = re.compile(r"版权|Copyright|©|All Rights|\(c\)", re.I)

_NAME_TOKEN = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_YEAR_MONTH = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})(?:\s*月)?$")
_YEAR_ONLY = re.compile(r"((?:19|20)\d{2})\s*年?$")
_DATELINE = re.compile(
    r"^(?P<outlet>新华社|中新社|中新网|人民网|新华网|央视网|光明网|国际在线|本报|本网|"
    r"[\u4e00-\u9fff]{2,6}?(?:社|网|报|台))"
    r"(?P<place>[\u4e00-\u9fff]{2,8}?)?"
    r"(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日(?:电|讯)"
    r"(?:\s*[（(](?:[\u4e00-\u9fff]{0,6}?)?(?:记者|通讯员)\s*(?P<names>[^)）]{2,30})[)）])?"
)
_BAOXUN = re.compile(r"^(?P<outlet>本报|本网)讯\s*(?:[（(](?:记者|通讯员)\s*(?P<names>[^)）]{2,30})[)）])?")
_YEAR_MENTION = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*[-—–~～至到]\s*((?:19|20)\d{2}))?\s*年(前|之前|以前|将)?")
# A year right after these words is a plan, forecast or target, not the time of writing.
_FUTURE_CUE = re.compile(r"(?:(?<!截)[到至]|力争|计划|预计|预测|预期|展望|规划|有望|争取|目标|将于|将在|、)\W?$")


def split_names(text: str) -> list[str]:
    """Personal names from a credit fragment: 2-4 Han characters each, credit verbs dropped."""
    names = []
    for token in re.split(r"[\s、,，/|｜]+", text.strip()):
        for verb in CREDIT_VERBS:
            if token.endswith(verb) and len(token) > len(verb):
                token = token[: -len(verb)]
        if token in CREDIT_VERBS or not _NAME_TOKEN.match(token):
            continue
        names.append(token)
    return names


def named_outlet(value: str | None) -> str | None:
    """The first outlet named in a source/byline value; None for generic or copyright text."""
    if not value or _NOT_AN_OUTLET.search(value):
        return None
    value = value.strip(" /|｜:：")
    for prefix in SOURCE_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix):]
    first = re.split(r"[、,，\s]", value)[0]
    if not first or first in GENERIC_OUTLETS or first.startswith("本"):
        return None
    return first


def page_author_names(author: str | None, surname_class: str) -> list[str]:
    """Names from a page's author metadata, which often holds widget text ('字号', '我已授权')."""
    if not author:
        return []
    text = AUTHOR_LABEL.sub("", author.strip())
    names = split_names(text)
    surname = re.compile(surname_class)
    if not names or len(" ".join(names)) < len(text.replace(";", " ").strip()) - 2:
        return []  # something else than names is in there
    return [n for n in names if len(n) <= 3 and surname.match(n)]


def iso_date(text: str | None) -> str | None:
    """ISO form of a stated date: YYYY-MM-DD, or YYYY-MM / YYYY when only that is stated."""
    if not text:
        return None
    text = ascii_digits(str(text)).strip()
    m = _DATE.search(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    m = _YEAR_MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    m = _YEAR_ONLY.match(text)
    if m:
        return m.group(1)
    return None


def infer_year(text: str) -> int | None:
    """Latest year the text reports about; plan/forecast years ('力争2030年', '2020年前') are skipped.

    Single years win over periods; a period ('2014—2018年' review) counts by its end year only
    when the text names no single year, since a period may also be a plan ('2019-2021年')."""
    text = ascii_digits(text)
    single, period_ends = [], []
    for m in _YEAR_MENTION.finditer(text):
        if m.group(3) or _FUTURE_CUE.search(text[max(0, m.start() - 4): m.start()]):
            continue
        if m.group(2):
            period_ends.append(int(m.group(2)))
        else:
            single.append(int(m.group(1)))
    years = single or period_ends
    return max(years) if years else None


@dataclass
class Dateline:
    outlet: str | None
    place: str | None
    month: int | None
    day: int | None
    reporters: list[str]


def parse_dateline(paragraph: str) -> Dateline | None:
    """'人民网长春2月18日电 (记者王海跃)…' at the start of a paragraph."""
    head = ascii_digits(paragraph[:60])
    m = _DATELINE.match(head)
    if m:
        return Dateline(named_outlet(m.group("outlet")), m.group("place"),
                        int(m.group("month")) if m.group("month") else None, int(m.group("day")),
                        split_names(m.group("names") or ""))
    m = _BAOXUN.match(head)
    if m:
        return Dateline(None, None, None, None, split_names(m.group("names") or ""))
    return None


@dataclass
class Credits:
    """Metadata carried by removed lines (bylines, widgets, page credits)."""
    outlet: str | None = None
    reporters: list[str] = field(default_factory=list)
    photographers: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    date: str | None = None

    def merge(self, other: "Credits") -> None:
        """Add what `other` says (names appended, first outlet/date kept)."""
        self.outlet = self.outlet or other.outlet
        self.date = self.date or other.date
        for name in ("reporters", "photographers", "editors"):
            mine = getattr(self, name)
            mine.extend(n for n in getattr(other, name) if n not in mine)

    def fill_from(self, other: "Credits") -> None:
        """Take `other`'s values only where this says nothing (page credits under an article's own)."""
        self.outlet = self.outlet or other.outlet
        self.date = self.date or other.date
        for name in ("reporters", "photographers", "editors"):
            if not getattr(self, name):
                setattr(self, name, list(getattr(other, name)))


def _page_credit(line: str) -> Credits:
    """'本版稿件由本报记者 王超 撰写' / '本版图片由…拍摄' / '本版策划 戚凯慧' (possibly several in one line)."""
    credits = Credits()
    for part in re.split(r"(?=本版)", line):
        if not part:
            continue
        after = part.split("记者", 1)[1] if "记者" in part else re.sub(r"^本版\S{2}(?:由)?", "", part)
        names = split_names(after)
        if re.search(r"图片|摄影|照片|拍摄|供图", part):
            credits.photographers += names
        elif re.search(r"稿件|文字|撰稿|撰写|整理", part):
            credits.reporters += names
        else:
            credits.editors += names
    return credits


def credits_from_rule(rule_id: str, match: re.Match, line: str) -> Credits:
    """What a matched boilerplate line says about the article."""
    groups = match.groupdict()
    if rule_id == "page_credit":
        return _page_credit(line)
    credits = Credits()
    if rule_id.startswith("byline") or rule_id == "author_line":
        credits.reporters = split_names(groups.get("names") or "")
        credits.outlet = named_outlet(groups.get("outlet"))
    elif rule_id.startswith("source_line") and not re.match(r"[（(]?(?:图片|资料)", line):
        credits.outlet = named_outlet(groups.get("outlet"))  # a picture's source is not the outlet
    elif rule_id == "editor_line":
        credits.editors = split_names(re.sub(r".*?(?:编辑|审核|校对|责编|排版)\s*[:：|｜/]?", "", line, count=1))
    elif rule_id == "photo_caption":
        credits.photographers = split_names(groups.get("photographers") or "")
    if groups.get("date"):
        credits.date = iso_date(groups["date"])
    return credits


def most_common(values: list[str | None]) -> str | None:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None


def published_date(stated: str | None, dateline: Dateline | None, body: str) -> str | None:
    """A stated date wins; a dateline month/day needs a year named in the text; else the year alone."""
    if stated:
        return stated
    year = infer_year(body)
    if dateline and dateline.month and year:
        return f"{year:04d}-{dateline.month:02d}-{dateline.day:02d}"
    return f"{year:04d}" if year else None
