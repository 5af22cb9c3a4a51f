"""Numbers with units: money, percents, counts, areas and other measures, with their qualifiers.

`find_quantities(text, token_starts)` returns `Quantity` spans of `text`. Rules (why):
- value is the number as written (2.3 in 2.3亿元), unit the canonical unit (亿元); money gets
  `value_yuan` computed with Decimal so 2.3亿元 is exactly 230000000.
- Chinese numerals (二点三亿, 一百二十三, 十余个, 近百个) go through cn2an; they only count when they
  start a token (so 一五, 三早 or 统一 are not numbers) and are followed by a unit or counter.
  A lone 一/两 + counter (一个, 两个) is an article-like word, not a statistic.
- 亿元以上项目 without a numeral is the threshold 1亿元 (value 1, qualifier 以上).
- 个百分点 is not a percent (kind count, measure percentage_point); 万t/a is capacity, not money;
  元每平方米 is a rate (value_yuan stays null).
- Qualifiers 逾/超/近/约… (before), 多/余 (between number and unit) and 以上/以下/左右 (after) go
  to `qualifier`. Money `text` is the bare amount (numeral + unit) so it re-parses as an amount;
  for the other kinds a trailing bound is part of `text` (3%以上).
- Ranges (3-5亿元, 3亿至5亿元) give value = low end, value_max = high end.
- Calendar years (2019年) and dates are not quantities.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import cn2an

UNITS_FILE = Path(__file__).with_name("units.json")

CN_DIGITS = "零〇一二两三四五六七八九"
CN_NUMERAL = f"[{CN_DIGITS}十百千点]+"
ARABIC = r"[0-9０-９]+(?:,[0-9]{3})*(?:[.．][0-9０-９]+)?"   # full-width digits occur in reposts (4．95)
PREFIX_QUALIFIERS = ["将近", "接近", "超过", "不到", "不足", "至少", "逾", "超", "近", "约"]
INNER_QUALIFIERS = ["多", "余"]
SUFFIX_QUALIFIERS = ["以上", "以下", "左右", "上下", "有余"]
RANGE_SEPARATORS = "-—–~～至到"


@dataclass
class Quantity:
    kind: str            # money | percent | count | area (mentions.kind)
    measure: str         # money, money_rate, percent, percentage_point, count, area, weight, …
    text: str
    start: int
    end: int
    value: float
    unit: str
    value_text: str      # the whole expression as written, qualifiers included
    qualifier: str | None = None
    value_max: float | None = None
    value_yuan: float | None = None      # money in 元 only
    value_base: float | None = None      # value in the base unit (元, 平方米, 吨, t/a, …)
    base_unit: str | None = None
    threshold: bool = False              # 5000万元以上项目: describes a class of projects

    @property
    def normalized(self) -> str | None:
        if self.value_base is None:
            return None
        return f"{_plain(self.value_base)}{self.base_unit}"


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(round(x, 6))


@lru_cache(maxsize=1)
def _unit_table() -> tuple[dict[str, dict], list[str]]:
    data = json.loads(UNITS_FILE.read_text(encoding="utf-8"))
    units = {u["unit"]: u for u in data["units"]}
    return units, data["counters"]


@lru_cache(maxsize=1)
def _implied() -> tuple[dict[str, str], re.Pattern]:
    implied = json.loads(UNITS_FILE.read_text(encoding="utf-8"))["implied_counters"]
    nouns = "|".join(sorted(implied, key=len, reverse=True))
    return implied, re.compile(f"(?P<num>\\d+|[{CN_DIGITS}十]+)大(?P<noun>{nouns})")


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    units, counters = _unit_table()
    unit_alts = sorted(list(units) + counters, key=len, reverse=True)
    unit_re = "|".join(re.escape(u) for u in unit_alts)
    number = f"(?:{ARABIC}|{CN_NUMERAL})"
    starts = "".join(sorted({q[0] for q in PREFIX_QUALIFIERS})) + "0-9０-９" + CN_DIGITS + "十百千点"
    return re.compile(
        f"(?=[{starts}])"  # fail fast where no number or qualifier can start
        f"(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?"
        f"(?P<num>{number})"
        f"(?:(?P<mid1>[万亿]?(?:{'|'.join(INNER_QUALIFIERS)})?)(?:{unit_re})?(?P<sep>[{RANGE_SEPARATORS}])(?P<num2>{number}))?"
        f"(?P<inner>{'|'.join(INNER_QUALIFIERS)})?"
        f"(?P<unit>{unit_re})"
        f"(?P<half>半)?"
        f"(?P<post>{'|'.join(SUFFIX_QUALIFIERS)})?"
    )


MAGNITUDE_INNER = re.compile(  # 1万余元, 3亿多元, 2万余吨: the qualifier sits inside the unit
    f"(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?(?P<num>{ARABIC}|{CN_NUMERAL})(?P<mag>[万亿])(?P<inner>余|多)"
    r"(?P<base>元|吨|人|户|个|平方米|千瓦)")
QUOTED = re.compile(r"“[^”\n]{1,16}”")
IMPLICIT_THRESHOLD = re.compile(r"(?<![\d零〇一二两三四五六七八九十百千点.])(?P<unit>亿元|万元)(?P<post>以上)")
HALF_PERCENT = re.compile(r"一半(?P<post>以上|以下|左右)?")
RANK = re.compile(r"第(?P<num>\d+)(?P<unit>位|名)")
THRESHOLD_AFTER = re.compile(r"^(?:以上|以下)?的?(?:重点|重大|产业|工业|续建|新建)?(?:项目|工程)")


def parse_number(s: str) -> Decimal | None:
    """Arabic or Chinese numeral -> Decimal ('2,500' -> 2500, '二点三' -> 2.3, '百' -> 100)."""
    s = unicodedata.normalize("NFKC", s).replace(",", "")
    try:
        return Decimal(s)
    except InvalidOperation:
        pass
    if s[0] in "十百千":
        s = "一" + s
    try:
        return Decimal(str(cn2an.cn2an(s, "smart")))
    except (ValueError, KeyError, IndexError):
        return None


def _is_year(num: str, unit: str, text: str, end: int) -> bool:
    """2019年 / 2014—2018年 / 3月 are dates, not counts."""
    if unit != "年":
        return False
    return bool(re.fullmatch(r"(1[89]|20)\d\d", unicodedata.normalize("NFKC", num)))


def _quantity(kind_row: dict | None, unit: str, counter: bool) -> tuple[str, str, Decimal | None, str | None]:
    if counter:
        return "count", "count", Decimal(1), unit
    return kind_row["kind"], kind_row["measure"], Decimal(kind_row["factor"]), kind_row["base"]


def find_quantities(text: str, token_starts: set[int] | None = None) -> list[Quantity]:
    """All quantities in `text`; `token_starts` (offsets where a token begins) vets Chinese numerals."""
    units, counters = _unit_table()
    counter_set = set(counters)
    quoted = [(m.start(), m.end()) for m in QUOTED.finditer(text)]
    out: list[Quantity] = []
    taken: list[tuple[int, int]] = []
    for m in _pattern().finditer(text):
        num, unit = m.group("num"), m.group("unit")
        num_start = m.start("num")
        chinese = num[0] not in "0123456789０１２３４５６７８９"
        if not chinese and num_start > 0 and re.match(r"[A-Za-z.．]", text[num_start - 1]):
            continue  # A04, C2, v1.2: labels, not quantities
        if chinese:
            if num in ("点",) or num.startswith("点") or num.endswith("点"):
                continue
            if token_starts is not None and num_start not in token_starts and not m.group("pre"):
                continue
            if unit in counter_set and num in ("一", "两", "〇", "零"):
                continue
            if any(a <= num_start < b for a, b in quoted):
                continue  # “三年跨越计划”, “十四五”: a slogan's numeral is not a statistic
        if _is_year(num, unit, text, m.end()):
            continue
        value = parse_number(num)
        if value is None:
            continue
        if m.group("half"):
            if unit not in counter_set:
                continue
            value += Decimal("0.5")
        value_max = None
        if m.group("num2"):
            value_max = parse_number(m.group("num2"))
            if m.group("mid1") and m.group("mid1")[:1] in "万亿" and not unit.startswith(m.group("mid1")[:1]):
                value_max = None  # 3亿至5万元: not a clean range, keep the second number only
        row = units.get(unit)
        counter = row is None
        canonical = unit if counter else row.get("as", unit)
        kind, measure, factor, base = _quantity(row, unit, counter)
        start = m.start()
        pre, inner, post = m.group("pre"), m.group("inner"), m.group("post")
        qualifier = pre or inner or post or (m.group("mid1") if m.group("mid1") in INNER_QUALIFIERS else None)
        if m.group("num2") and value_max is not None:
            qualifier = qualifier or "range"
        if kind == "money":
            span_start = m.start("num")
            span_end = m.end("unit")
        else:
            span_start, span_end = start, m.end()
        if canonical in ("位", "名") and start > 0 and text[start - 1] == "第":
            span_start, measure = start - 1, "rank"  # 居全国第4位: a rank, 第 included
        q = Quantity(
            kind=kind, measure=measure, text=text[span_start:span_end], start=span_start,
            end=span_end, value=float(value), unit=canonical, value_text=m.group(0),
            qualifier=qualifier, value_max=float(value_max) if value_max is not None else None,
            base_unit=base,
        )
        base_value = value * factor
        q.value_base = float(round(base_value, 6))
        if measure == "money":
            q.value_yuan = float(round(base_value))
        q.threshold = kind == "money" and bool(THRESHOLD_AFTER.match(text[m.end("unit"):m.end("unit") + 8]))
        out.append(q)
        taken.append((m.start(), m.end()))

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in MAGNITUDE_INNER.finditer(text):
        unit = m.group("mag") + m.group("base")
        value = parse_number(m.group("num"))
        if not free(m.start(), m.end()) or value is None:
            continue
        row = units.get(unit)
        if row is None and unit not in counter_set:
            continue
        kind, measure, factor, base = _quantity(row, unit, row is None)
        start = m.start("num") if kind == "money" else m.start()
        q = Quantity(kind=kind, measure=measure, text=text[start:m.end()], start=start, end=m.end(),
                     value=float(value), unit=unit, value_text=m.group(0),
                     qualifier=m.group("pre") or m.group("inner"), value_base=float(value * factor),
                     base_unit=base)
        if measure == "money":
            q.value_yuan = float(round(value * factor))
        out.append(q)
        taken.append((m.start(), m.end()))
    implied, implied_re = _implied()
    for m in implied_re.finditer(text):
        value = parse_number(m.group("num"))
        if value is None or not free(m.start(), m.end()) or m.group("num") in ("一", "两") \
                or (token_starts is not None and m.start() not in token_starts):
            continue
        unit = implied[m.group("noun")]
        out.append(Quantity(kind="count", measure="count", text=text[m.start():m.start("noun")],
                            start=m.start(), end=m.start("noun"), value=float(value), unit=unit,
                            value_text=m.group(0), value_base=float(value), base_unit=unit))
    for m in IMPLICIT_THRESHOLD.finditer(text):
        if not free(m.start(), m.end()):
            continue
        unit = m.group("unit")
        factor = Decimal(units[unit]["factor"])
        out.append(Quantity(kind="money", measure="money", text=unit, start=m.start("unit"),
                            end=m.end("unit"), value=1.0, unit=unit, value_text=m.group(0),
                            qualifier="以上", value_yuan=float(factor), value_base=float(factor),
                            base_unit="元", threshold=True))
    for m in HALF_PERCENT.finditer(text):
        if free(m.start(), m.end()):
            out.append(Quantity(kind="percent", measure="percent", text=m.group(0), start=m.start(),
                                end=m.end(), value=50.0, unit="%", value_text=m.group(0),
                                qualifier=m.group("post"), value_base=50.0, base_unit="%"))
    for m in RANK.finditer(text):
        if free(m.start(), m.end()):
            out.append(Quantity(kind="count", measure="rank", text=m.group(0), start=m.start(),
                                end=m.end(), value=float(m.group("num")), unit=m.group("unit"),
                                value_text=m.group(0), value_base=float(m.group("num")),
                                base_unit=m.group("unit")))
    out.sort(key=lambda q: q.start)
    return out
