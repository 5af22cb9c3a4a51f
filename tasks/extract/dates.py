"""Dates: date mentions in the body and their resolution against the published date.

`find_dates(text, published)` -> DateMention(text, start, end, iso) for 2019年12月20日, 2019年,
7月28日, 3日, 1-6月份, 2014—2018年 (iso = the start, ISO partial, or None when it needs a year the
article does not give). `resolve_date(date_text, published)` resolves 3日 / 7月28日 / 近日.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DATE = re.compile(
    r"(?=\d)"  # every form starts with a digit: fail fast elsewhere
    r"(?:(?P<y1>(?:19|20)\d\d)\s*[—\-–~至到]\s*(?P<y2>(?:19|20)\d\d)年"
    r"|(?P<y>(?:19|20)\d\d)年(?:(?P<m>\d{1,2})月(?:份)?(?:(?P<d>\d{1,2})日)?)?"
    r"|(?<![\d年])(?P<m1>\d{1,2})\s*[-—~至]\s*(?P<m2>\d{1,2})月份?"
    r"|(?<![\d.年])(?P<mo>\d{1,2})月(?:(?P<da>\d{1,2})日|份)?"
    r"|(?<![\d.月])(?P<day>\d{1,2})日)")
ISO_PARTIAL = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
RELATIVE = re.compile(r"(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日|近日|日前|昨日|昨天|今天|今日|当天")


@dataclass
class DateMention:
    text: str
    start: int
    end: int
    iso: str | None


def resolve_date(date_text: str | None, published: str | None) -> str | None:
    """'3日' / '7月28日' / '近日' against the published date (ISO, partial allowed); None if unknown."""
    if not date_text or not published or not ISO_PARTIAL.fullmatch(published):
        return None
    parts = [int(x) for x in published.split("-")]
    if date_text in ("近日", "日前", "今天", "今日", "当天"):
        return published
    if date_text in ("昨日", "昨天"):
        return (date(*parts) - timedelta(days=1)).isoformat() if len(parts) == 3 else published
    m = RELATIVE.fullmatch(date_text)
    if m is None:
        return None
    year, day = parts[0], int(m.group("day"))
    if m.group("month"):
        month = int(m.group("month"))
        if len(parts) >= 2 and (month, day) > (parts[1], parts[2] if len(parts) == 3 else 31):
            year -= 1  # a date after publication is last year's
    elif len(parts) >= 2:
        month = parts[1]
        if len(parts) == 3 and day > parts[2]:
            month -= 1  # '3日' after the published day: previous month
            if month == 0:
                year, month = year - 1, 12
    else:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _iso(y: int, m: int | None = None, d: int | None = None) -> str | None:
    try:
        if d is not None:
            return date(y, m, d).isoformat()
        return f"{y:04d}-{m:02d}" if m is not None and 1 <= m <= 12 else (f"{y:04d}" if m is None else None)
    except ValueError:
        return None


def find_dates(text: str, published: str | None = None) -> list[DateMention]:
    year = int(published[:4]) if published and ISO_PARTIAL.fullmatch(published) else None
    out = []
    for m in DATE.finditer(text):
        g = m.groupdict()
        if g["y1"]:
            iso = g["y1"]
        elif g["y"]:
            iso = _iso(int(g["y"]), int(g["m"]) if g["m"] else None, int(g["d"]) if g["d"] else None)
        elif g["m1"]:
            iso = _iso(year, int(g["m1"])) if year else None
        elif g["mo"]:
            if g["da"]:
                iso = resolve_date(f"{g['mo']}月{g['da']}日", published)
            else:
                iso = _iso(year, int(g["mo"])) if year else None
        else:
            iso = resolve_date(f"{g['day']}日", published)
        out.append(DateMention(m.group(0), m.start(), m.end(), iso))
    return out
