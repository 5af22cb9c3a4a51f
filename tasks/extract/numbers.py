"""Numbers read as a Chinese reader reads them: money, percents, counts, areas and other measures.

`find_quantities(text, token_starts)` returns `Quantity` spans of `text`; `read_amount(text)`
reads one whole quantity expression (the gates re-read a row's quoted text with it).

One grammar, built from units.json:

    [pre] END [unit] [sep END] [inner] unit [半] [post]
    END  = number [inner] [magnitude]     3000万, 1.5千万, 3亿5000万, 三亿二千万, 二三十, 三千多万
    unit = magnitude? + base unit         万元, 亿美元, 万平方米, 个, %

Rules (why):
- `value` is the number in the row's `unit` (3000 in 3000万元, unit 万元); money also gets
  `value_yuan` with Decimal arithmetic (2.3亿元 is exactly 230000000).
- A range applies the unit to both ends (6-8亿元: 6亿 to 8亿; 3000万至5000万元: both 万), an end
  keeps its own magnitude when it has one (3000万元至1亿元: 3000 to 10000 万元), and gives
  `value` = low end, `value_max` = high end, qualifier `range`. Adjacent Chinese digits are a
  range too (二三十个 = 20-30, 三五年 = 3-5, 七八成 = 70-80%).
- A mixed numeral is read whole (三亿二千万元 = 32000 万元, 3亿5000万元 = 35000 万元): the row's unit
  is the trailing magnitude plus the base unit, as written next to each other.
- 百分之十二 = 12%, 四成 = 40%; 个百分点 is not a percent (kind count, measure percentage_point).
- Qualifiers go to `qualifier`: 逾/超/近/约/不足… before, 多/余/几 between number and unit, 以上/以下/
  左右 after. Money `text` is the bare amount (it re-reads as an amount); for the other kinds a
  trailing bound stays in `text` (3%以上).
- Foreign money (亿美元, 万欧元, 日元…) is kind money, measure foreign_money, never `value_yuan`.
- Chinese numerals count only where a token starts (so 一五, 三早, 统一 are not numbers); a lone
  一/两 + counter (一个, 两批) is an article-like word, not a statistic.
- Calendar years (2019年, 二〇一九年), decades (90年代), labels (A04版), figures left out (××万元)
  and numerals inside quoted slogans and names (“三年跨越计划”, “三角债”) are not quantities;
  money with 万/亿 is an amount in quotes too. N年 otherwise is a duration (measure duration).
- Two digits of a range listed with 、 before a magnitude are that range (二、三百万 = 二三百万).
- 亿元以上项目 without a numeral is the threshold 1亿元; an amount followed by (以上)(重点)项目
  is flagged `threshold`: it names a class of projects.
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
CN_RUN = f"[{CN_DIGITS}十百千万亿点几]+"
CN_END = f"(?:[数上](?=[十百千万亿]))?{CN_RUN}"  # 数十亿, 上百个: vague amounts
# thousands groups: 2,645 and, in full-width text, 2，645 (a clause comma is not followed by
# exactly three digits and a unit often enough to read it otherwise)
ARABIC = r"[0-9０-９]+(?:,[0-9]{3})*(?:，[0-9]{3}(?![0-9]))*(?:[.．][0-9０-９]+)?"
PREFIX_QUALIFIERS = ["将近", "接近", "超过", "超出", "突破", "不到", "不足", "至少", "大约", "逾", "超", "近", "约"]
INNER_QUALIFIERS = ["多", "余"]
SUFFIX_QUALIFIERS = ["及以上", "以上", "以下", "以内", "左右", "上下", "有余"]
# the qualifier as a reader means it (docs/ANNOTATION.md §3): one word per meaning
QUALIFIER_MEANING = {"超过": "超", "超出": "超", "突破": "超", "将近": "近", "接近": "近", "大约": "约", "不到": "不足",
                     "及以上": "以上", "以内": "以下", "上下": "左右", "有余": "余"}
RANGE_SEPARATORS = "-—–~～至到"
PLACEHOLDERS = "×xX*＊某"  # a figure left out (××万元)
VAGUE_LOW, VAGUE_HIGH = "二", "九"  # 数十 / 几十: two to nine tens


@dataclass
class Quantity:
    kind: str            # money | percent | count | area (mentions.kind)
    measure: str         # money, money_rate, foreign_money, percent, percentage_point, count, …
    text: str
    start: int
    end: int
    value: float
    unit: str
    value_text: str      # the whole expression as written, qualifiers included
    qualifier: str | None = None
    value_max: float | None = None
    value_yuan: float | None = None      # money in 元 only (low end of a range)
    value_yuan_max: float | None = None  # high end of a range of money, in 元
    value_base: float | None = None      # value in the base unit (元, 平方米, 吨, t/a, …)
    base_unit: str | None = None
    threshold: bool = False              # 5000万元以上项目: describes a class of projects
    pattern: str = "numbers.arabic"      # the rule that read it (numbers.<rule>)
    vague: bool = False                  # 数十亿, 上百个, 十几个: a usual reading, not a count
    magnitude: str = ""                  # the magnitude word inside `unit` (万 of 万元)

    def __post_init__(self):
        self.qualifier = QUALIFIER_MEANING.get(self.qualifier, self.qualifier)

    @property
    def reading(self) -> tuple[float, float | None, str]:
        """(low, high, unit) as a reader says it: the magnitude applied, in the unit as written
        (3000万至5000万元 -> 30000000, 50000000, 元; 2.5万亩 -> 25000, None, 亩)."""
        factor = float(_magnitude_factor(self.magnitude) or 1)
        high = self.value_max * factor if self.value_max is not None else None
        return round(self.value * factor, 6), round(high, 6) if high is not None else None, \
            self.unit[len(self.magnitude):]

    @property
    def normalized(self) -> str | None:
        if self.value_base is None:
            return None
        return f"{_plain(self.value_base)}{self.base_unit}"


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(round(x, 6))


@dataclass(frozen=True)
class _Units:
    units: dict[str, dict]            # base unit as written -> row of units.json
    magnitudes: dict[str, Decimal]    # 万 -> 10000
    counters: frozenset[str]
    durations: frozenset[str]
    range_pairs: frozenset[str]
    implied: dict[str, str]
    money_words: re.Pattern       # 投资 / 拨款 … (+ fillers) right before a bare amount
    not_money_after: tuple[str, ...]
    variants: dict[int, str]      # 萬 -> 万: str.translate table (one character for one)


@lru_cache(maxsize=1)
def _data() -> _Units:
    data = json.loads(UNITS_FILE.read_text(encoding="utf-8"))
    return _Units(units={u["unit"]: u for u in data["units"]},
                  magnitudes={k: Decimal(v) for k, v in data["magnitudes"].items()},
                  counters=frozenset(data["counters"]), durations=frozenset(data["durations"]),
                  range_pairs=frozenset(data["range_pairs"]), implied=data["implied_counters"],
                  money_words=re.compile(f"(?:{_alternation(data['money_words'])})"
                                         f"(?:{_alternation(data['money_fillers'])})*$"),
                  not_money_after=tuple(data["not_money_after"]),
                  variants=str.maketrans(data["variants"]))


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _end(tag: str) -> str:
    """One number of an expression: Arabic (with embedded 万/亿) or a Chinese run, then an inner
    qualifier and a magnitude (3000多万, 1万余)."""
    mags = _alternation(_data().magnitudes)
    # 二、三百万, 十二、三万: the two digits of a range pair listed before a magnitude (二三百万)
    pairs = "|".join(f"{a}、(?={b}[十百千万亿])" for a, b in sorted(_data().range_pairs))
    listed = f"(?=[{CN_DIGITS}十百千]{{1,6}}、)(?:[{CN_DIGITS}]?[十百千])*(?:{pairs})"  # (look for 、 first: fast)
    return (f"(?:(?P<a{tag}>{ARABIC}(?:[万亿]{ARABIC})*)|(?P<c{tag}>(?:{listed})?{CN_END}))"
            f"(?P<i{tag}>多|余)?(?: ?(?P<m{tag}>{mags}))?")   # 31.15 亿元: a space some pages put


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    d = _data()
    unit = _alternation(list(d.units) + list(d.counters) + list(d.durations))
    starts = "".join(sorted({q[0] for q in PREFIX_QUALIFIERS})) + "0-9０-９" + CN_DIGITS + "十百千几数上万"
    return re.compile(
        f"(?=[{starts}])"  # fail fast where no number or qualifier can start
        f"(?P<pre>{_alternation(PREFIX_QUALIFIERS)})?"
        f"{_end('1')}"
        f"(?:(?P<u1>{unit})?(?P<sep>[{RANGE_SEPARATORS}]){_end('2')})?"
        f"(?P<inner>{'|'.join(INNER_QUALIFIERS)})? ?"
        f"(?P<unit>{unit})"
        f"(?P<half>半)?"
        f"(?P<post>{_alternation(SUFFIX_QUALIFIERS)})?")


@lru_cache(maxsize=1)
def _single_pattern() -> re.Pattern:
    """The same grammar without ranges: what is read when a range does not hold (3个至5亿元)."""
    d = _data()
    unit = _alternation(list(d.units) + list(d.counters) + list(d.durations))
    return re.compile(f"(?P<pre>{_alternation(PREFIX_QUALIFIERS)})?{_end('1')}"
                      f"(?P<inner>{'|'.join(INNER_QUALIFIERS)})?(?P<unit>{unit})(?P<half>半)?"
                      f"(?P<post>{_alternation(SUFFIX_QUALIFIERS)})?")


PERCENT_WORDS = re.compile(  # 百分之十二, 百分之三点五, 百分之五十以上, 百分之三到百分之五
    f"(?=[{''.join({q[0] for q in PREFIX_QUALIFIERS})}百])(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?百分之(?P<n1>{ARABIC}|{CN_RUN})"
    f"(?:(?P<sep>[{RANGE_SEPARATORS}])(?:百分之)?(?P<n2>{ARABIC}|{CN_RUN}))?"
    f"(?P<post>{'|'.join(SUFFIX_QUALIFIERS)})?")
CHENG = re.compile(  # 四成 = 40%, 近三成, 七八成, 九成以上; not 一成不变, 三五成群
    f"(?=[^成]{{0,3}}成)(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?(?P<n1>[{CN_DIGITS}十]{{1,2}}|[0-9](?:\\.[0-9])?)成"
    f"(?P<tenth>[一二三四五六七八九半](?![{CN_DIGITS}十百千万亿成]))?(?P<inner>多)?(?P<post>{'|'.join(SUFFIX_QUALIFIERS)})?(?!不变|群|员|功|立|本|果|交|熟)")
MAGNITUDE_TAIL = re.compile(r"[万亿]+$")
QUOTED = re.compile(r"“[^”\n。，,！？；]{1,16}”")  # a slogan; a quoted sentence is speech
IMPLICIT_THRESHOLD = re.compile(r"(?=[亿万]元以上)(?<![\d零〇一二两三四五六七八九十百千点.])(?P<unit>亿元|万元)(?P<post>以上)")
SOME_YI = re.compile(f"(?P<n>[几两{CN_DIGITS[3:]}十]|\\d+)个亿(?P<unit>元|人民币)?")  # 几个亿, 两个亿: money
HALF_PERCENT = re.compile(r"一半(?P<post>以上|以下|左右)?")
HALF_DURATION = re.compile(r"(?<![上下前后大多一])半(?P<unit>年|个月|天|小时)")  # 半年, not 上半年
RANK = re.compile(r"第(?P<num>\d+)(?P<unit>位|名)")
THRESHOLD_AFTER = re.compile(r"^(?:以上|以下)?的?(?:重点|重大|产业|工业|续建|新建)?(?:项目|工程)")
CALENDAR_YEAR = re.compile(r"(?:1[89]|20)\d\d|[〇零一二三四五六七八九]{4}")


# ------------------------------------------------------------------ reading numerals

@lru_cache(maxsize=65536)
def parse_number(s: str) -> Decimal | None:
    """One numeral -> Decimal ('2,500' -> 2500, '二点三' -> 2.3, '百' -> 100, '三亿二千万' ->
    320000000, '3亿5000万' -> 350000000, '一万二' -> 12000). None when it is not one number.
    Cached, as the readings below: the same numerals recur (2010, 一, 十) and cn2an is slow."""
    s = unicodedata.normalize("NFKC", s).replace(",", "")
    if not s or "几" in s:
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        pass
    if s[0] in "十百千":
        s = "一" + s
    try:
        return Decimal(str(cn2an.cn2an(s, "smart")))
    except (ValueError, KeyError, IndexError):
        pass
    tail = MAGNITUDE_TAIL.search(s)  # 二点三亿: cn2an reads no decimals before a magnitude
    if tail and tail.start() > 0:
        head = parse_number(s[:tail.start()])
        factor = _magnitude_factor(tail.group(0))
        if head is not None and factor is not None:
            return head * factor
    return None


@lru_cache(maxsize=1024)
def _magnitude_factor(mag: str) -> Decimal | None:
    factor = Decimal(1)
    for part in re.findall(r"[十百千]?[万亿]|[十百千]", mag):
        f = _data().magnitudes.get(part)
        if f is None:
            return None
        factor *= f
    return factor if mag else Decimal(1)


@dataclass(frozen=True)
class _Reading:
    """One END of an expression read whole: total (in the base unit as written, before the unit
    factor), its magnitude word, the high total when the END alone is a range (二三十), and an
    inner qualifier (多/余/几)."""
    total: Decimal
    magnitude: str
    total_max: Decimal | None = None
    qualifier: str | None = None
    vague: bool = False
    money_only: bool = False   # 亿元 / 几元 alone: read only as money (几个 is no count)


def _range_split(run: str) -> tuple[str, str] | None:
    """二三十 -> (二十, 三十); 十五六 -> (十五, 十六); 三四百万 -> (三百万, 四百万)."""
    for k in range(len(run) - 1):
        pair = run[k:k + 2]
        if pair in _data().range_pairs:
            prefix, suffix = run[:k], run[k + 2:]
            if (not prefix or prefix[-1] in "十百千万亿") and re.fullmatch(r"[十百千万亿]*", suffix):
                return prefix + pair[0] + suffix, prefix + pair[1] + suffix
    return None


def _vague_split(run: str) -> tuple[str, str] | None:
    """数十亿 / 几十万 -> two to nine of the magnitude; 十几亿 / 二十几 -> eleven to nineteen."""
    k = run.find("几") if "几" in run else (0 if run[:1] == "数" else -1)
    if k < 0 or run.count("几") + run.count("数") > 1:
        return None
    head, rest = run[:k], run[k + 1:]
    if head and head[-1] in "十百千万" and re.fullmatch(r"[万亿]*", rest):   # 十几, 二十几万
        return head + "一" + rest, head + "九" + rest
    if not head and re.match(r"[十百千万亿]", rest):                          # 数十亿, 几百
        return f"{VAGUE_LOW}{rest}", f"{VAGUE_HIGH}{rest}"
    return None


@lru_cache(maxsize=65536)
def _read_end(arabic: str | None, chinese: str | None, inner: str | None,
              magnitude: str | None) -> _Reading | None:
    magnitude = magnitude or ""
    factor = _magnitude_factor(magnitude)
    if factor is None:
        return None
    if arabic is not None:
        value = parse_number(arabic + magnitude) if re.search("[万亿]", arabic) else None
        if value is None:
            value = parse_number(arabic)
            if value is None:
                return None
            value *= factor
        return _Reading(value, magnitude, qualifier=inner)
    run = chinese or ""
    listed = "、" in run  # 二、三百万 (see `_end`): a range or nothing
    run = run.replace("、", "")
    tail = MAGNITUDE_TAIL.search(run)
    if tail and tail.start() > 0 and not magnitude:
        magnitude = tail.group(0)  # 三千万: the trailing 万 is the unit's magnitude
    qualifier = inner
    vague = run[:1] == "上"
    if vague:  # 上百亿: about 10^10
        run, qualifier = run[1:], qualifier or "约"
    split = _vague_split(run)
    vague = vague or split is not None
    split = split or _range_split(run)
    if listed and (split is None or vague):
        return None
    money_only = run in ("亿", "万", "万亿", "几")
    if run in ("亿", "万", "万亿"):  # 突破万亿元, 近亿元, 上亿元: one of it
        magnitude = magnitude or run
        run = "一" + run
    if run == "几":  # 几元, 几个亿: two to nine
        split, vague = (VAGUE_LOW, VAGUE_HIGH), True
    if split is None and not re.search(f"[{CN_DIGITS}十百千]", run) or run[:1] == "点" or run[-1:] == "点":
        return None
    if split is not None:
        low, high = parse_number(split[0]), parse_number(split[1])
        if low is None or high is None:
            return None
        return _Reading(low * factor, magnitude, high * factor, qualifier, vague, money_only)
    value = parse_number(run)
    if value is None:
        return None
    return _Reading(value * factor, magnitude, qualifier=qualifier, vague=vague, money_only=money_only)


def _unit_row(unit: str) -> tuple[str, str, str, Decimal, str]:
    """unit as written -> (canonical unit, kind, measure, factor to base, base)."""
    d = _data()
    row = d.units.get(unit)
    if row is not None:
        return row.get("as", unit), row["kind"], row["measure"], Decimal(row["factor"]), row["base"]
    measure = "duration" if unit in d.durations else "count"
    return unit, "count", measure, Decimal(1), unit


def _yuan(amount: Decimal) -> float:
    """An amount in yuan, to the fen (2毛 = 0.2; 2.3亿 = 230000000 exactly)."""
    return float(amount.quantize(Decimal("0.01")))


def _build(kind, measure, unit, base, factor, total, total_max, magnitude, **kw) -> Quantity:
    """A Quantity from totals in the written base unit: value in magnitude+unit, base value, yuan."""
    mag = _magnitude_factor(magnitude) or Decimal(1)
    value = total / mag
    value_max = total_max / mag if total_max is not None else None
    base_value = total * factor
    money = measure == "money"
    return Quantity(kind=kind, measure=measure, unit=magnitude + unit, value=float(value),
                    value_max=float(value_max) if value_max is not None else None,
                    value_base=float(round(base_value, 6)), base_unit=base,
                    value_yuan=_yuan(base_value) if money else None,
                    value_yuan_max=_yuan(total_max * factor) if money and total_max is not None else None,
                    magnitude=magnitude, **kw)


# ------------------------------------------------------------------ the grammar

def _reading_of(m: re.Match, tag: str) -> _Reading | None:
    return _read_end(m.group(f"a{tag}"), m.group(f"c{tag}"), m.group(f"i{tag}"), m.group(f"m{tag}"))


def _expression(m: re.Match, ranged: bool) -> tuple[_Reading, str | None] | None:
    """The expression's reading (low, high) and its qualifier; None when it does not hold."""
    first = _reading_of(m, "1")
    if first is None:
        return None
    qualifier = m.group("pre") or first.qualifier or m.group("inner") or m.group("post")
    if not ranged:
        return first, qualifier
    second = _reading_of(m, "2")
    if second is None or (second.total_max is not None and not second.vague) \
            or (first.total_max is not None and not first.vague):
        return None  # 二三十至四五十: no reading
    if first.vague or second.vague:  # 几十万元至几百万元: the low end of one to the high end of the other
        low = first.total
        if m.group("u1"):  # 几毛钱到几块钱
            low = low * _unit_row(m.group("u1"))[3] / _unit_row(m.group("unit"))[3]
        return _Reading(low, first.magnitude or second.magnitude,
                        second.total_max if second.total_max is not None else second.total,
                        vague=True), m.group("pre")
    if m.group("u1") and _unit_row(m.group("u1"))[0] != _unit_row(m.group("unit"))[0]:
        return None  # 3个至5亿元: two quantities, not a range
    magnitude = first.magnitude or second.magnitude
    # the magnitude of the second end is the first's too (6-8亿元), unless the first end is whole
    # in its own unit (4000元~2.2万元: 4000 yuan)
    low = first.total if first.magnitude or m.group("u1") else \
        first.total * (_magnitude_factor(magnitude) or 1)
    if m.group("u1"):  # 2毛钱到10块钱: the first end in its own unit
        low = low * _unit_row(m.group("u1"))[3] / _unit_row(m.group("unit"))[3]
    if low > second.total:
        return None
    return _Reading(low, magnitude, second.total), m.group("pre") or m.group("post")


def _is_calendar(m: re.Match, ranged: bool) -> bool:
    """2019年, 2014—2018年, 二〇一九年 are dates, not durations."""
    if m.group("unit") != "年":
        return False
    number = m.group("a1") or m.group("c1") or ""
    return bool(CALENDAR_YEAR.fullmatch(unicodedata.normalize("NFKC", number)))


def find_quantities(text: str, token_starts: set[int] | None = None) -> list[Quantity]:
    """All quantities in `text`; `token_starts` (offsets where a token begins) vets Chinese numerals.
    Matching runs on the text with variant characters folded (萬 -> 万); spans quote `text`."""
    original = text
    if _variant_chars().search(text):   # folding is slow; most texts have no variant
        text = text.translate(_data().variants)
    quoted = [(m.start(), m.end()) for m in QUOTED.finditer(text)]
    out: list[Quantity] = []
    covered = bytearray(len(text))  # 1 where a quantity was read: the later forms skip it

    def free(s: int, e: int) -> bool:
        return not any(covered[s:e])

    def take(s: int, e: int) -> None:
        covered[s:e] = b"\x01" * (e - s)

    def chinese_ok(num_start: int, has_pre: bool, large_money: bool = False) -> bool:
        if token_starts is not None and num_start not in token_starts and not has_pre:
            return False
        # “三年跨越计划”, “二元”机制, “三角债”: slogans and names; money with 万/亿 is an amount
        # in quotes too (“提供高达数亿美元补贴”)
        return large_money or not any(a <= num_start < b for a, b in quoted)

    pos = 0
    pattern, single = _pattern(), _single_pattern()
    while True:
        m = pattern.search(text, pos)
        if m is None:
            break
        ranged = m.group("sep") is not None
        read = _expression(m, ranged)
        if read is None and ranged:
            m, ranged = single.match(text, m.start()), False
            read = _expression(m, False) if m else None
        pos = m.end() if m else pos + 1
        if read is None or m is None:
            continue
        q = _quantity_from_match(text, m, ranged, read, chinese_ok)
        if q is not None:
            out.append(q)
            take(m.start(), m.end())

    for q in _special_forms(text, token_starts, chinese_ok, free):
        out.append(q)
        take(q.start, q.end)
    out.sort(key=lambda q: q.start)
    if original != text:
        for q in out:
            at = text.find(q.value_text, max(0, q.start - len(q.value_text)))
            q.text, q.value_text = original[q.start:q.end], original[at:at + len(q.value_text)]
    return out


def _quantity_from_match(text: str, m: re.Match, ranged: bool, read: tuple[_Reading, str | None],
                         chinese_ok) -> Quantity | None:
    reading, qualifier = read
    unit = m.group("unit")
    num_start = m.start("a1") if m.group("a1") else m.start("c1")
    chinese = m.group("c1") is not None
    if not chinese and num_start > 0 and re.match(r"[A-Za-z.．]", text[num_start - 1]):
        return None  # A04, C2, v1.2: labels, not quantities
    canonical, kind, measure, factor, base = _unit_row(unit)
    if chinese and not chinese_ok(num_start, bool(m.group("pre")), kind == "money" and bool(reading.magnitude)):
        return None
    if _is_calendar(m, ranged):
        return None
    if canonical == "年" and text.startswith("代", m.end()):
        return None  # 90年代, 二、三十年代: a decade, not a duration
    if reading.money_only and num_start > 0 and text[num_start - 1] in PLACEHOLDERS:
        return None  # ××万元, X亿元: a figure left out, not one of it
    if reading.money_only and kind != "money":
        return None  # 几个, 万人: no number a reader would count
    if chinese and not ranged and reading.total_max is None and m.group("c1") in ("一", "两", "〇", "零") \
            and not m.group("half") and kind == "count" and measure in ("count", "duration"):
        return None  # 一个, 两批, 一年: article-like words
    total, total_max = reading.total, reading.total_max
    if m.group("half"):
        if kind != "count" or total_max is not None:
            return None
        total += Decimal("0.5") * (_magnitude_factor(reading.magnitude) or 1)
    if kind == "money":
        span_start, span_end = num_start, m.end("unit")
    else:
        span_start, span_end = m.start(), m.end()
    if canonical in ("位", "名") and span_start > 0 and text[span_start - 1] == "第":
        span_start, measure = span_start - 1, "rank"  # 居全国第4位: a rank, 第 included
    pattern = "numbers.range" if total_max is not None else (
        "numbers.chinese" if chinese else "numbers.arabic")
    q = _build(kind, measure, canonical, base, factor, total, total_max, reading.magnitude,
               text=text[span_start:span_end], start=span_start, end=span_end,
               value_text=text[min(m.start(), span_start):m.end()], qualifier=qualifier, pattern=pattern,
               vague=reading.vague)
    q.threshold = kind == "money" and bool(THRESHOLD_AFTER.match(text[m.end("unit"):m.end("unit") + 8]))
    return q


def _special_forms(text: str, token_starts, chinese_ok, free):
    """百分之…, …成, N大+noun, 亿元以上, 一半, 第N位: forms outside the main grammar (each regex runs
    only when its fixed part is in the text: scanning is most of the cost)."""
    d = _data()
    for m in PERCENT_WORDS.finditer(text) if "百分之" in text else ():
        if not free(m.start(), m.end()) or not chinese_ok(m.start() + len(m.group("pre") or ""), True):
            continue
        low, high = parse_number(m.group("n1")), (parse_number(m.group("n2")) if m.group("n2") else None)
        if low is None or (m.group("n2") and (high is None or high < low)):
            continue
        qualifier = m.group("pre") or m.group("post")
        yield _build("percent", "percent", "%", "%", Decimal(1), low, high, "", text=m.group(0),
                     start=m.start(), end=m.end(), value_text=m.group(0), qualifier=qualifier,
                     pattern="numbers.percent_words")
    for m in CHENG.finditer(text) if "成" in text else ():
        start = m.start("n1")
        if not free(m.start(), m.end()) or not chinese_ok(start, bool(m.group("pre"))):
            continue
        n = m.group("n1")
        split = _range_split(n)
        low = parse_number(split[0] if split else n)
        high = parse_number(split[1]) if split else None
        if low is None or low > 10 or (high is not None and high > 10):
            continue
        if m.group("tenth"):  # 三成五 = 35%, 一成半 = 15%
            if high is not None:
                continue
            low += Decimal("0.5") if m.group("tenth") == "半" else parse_number(m.group("tenth")) / 10
        qualifier = m.group("pre") or m.group("inner") or m.group("post")
        yield _build("percent", "percent", "%", "%", Decimal(1), low * 10,
                     high * 10 if high is not None else None, "", text=text[m.start():m.end()],
                     start=m.start(), end=m.end(), value_text=m.group(0), qualifier=qualifier,
                     pattern="numbers.cheng")
    for m in _implied_count_pattern().finditer(text):
        value = parse_number(m.group("num"))
        if value is None or not free(m.start(), m.end()) or m.group("num") in ("一", "两") \
                or (token_starts is not None and m.start() not in token_starts):
            continue
        unit = d.implied[m.group("noun")]
        yield Quantity(kind="count", measure="count", text=text[m.start():m.start("noun")],
                       start=m.start(), end=m.start("noun"), value=float(value), unit=unit,
                       value_text=m.group(0), value_base=float(value), base_unit=unit,
                       pattern="numbers.implied_counter")
    for m in IMPLICIT_THRESHOLD.finditer(text) if "元以上" in text else ():
        if not free(m.start(), m.end()):
            continue
        unit = m.group("unit")
        q = _build("money", "money", "元", "元", Decimal(1), _magnitude_factor(unit[:-1]), None,
                   unit[:-1], text=unit, start=m.start("unit"), end=m.end("unit"),
                   value_text=m.group(0), qualifier="以上", pattern="numbers.threshold_word")
        q.threshold = True
        yield q
    for m in _bare_amount_pattern().finditer(text):
        q = _implied_yuan(text, m, d)
        if q is not None and free(q.start, q.end) and (m.group("c1") is None or chinese_ok(m.start("c1"), False)):
            yield q
    for m in SOME_YI.finditer(text) if "个亿" in text else ():
        if not free(m.start(), m.end()):
            continue
        n = m.group("n")
        low, high = (Decimal(2), Decimal(9)) if n == "几" else (parse_number(n), None)
        if low is None:
            continue
        yield _build("money", "money", "元", "元", Decimal(1), low * 10 ** 8,
                     high * 10 ** 8 if high is not None else None, "亿", text=m.group(0), start=m.start(),
                     end=m.end(), value_text=m.group(0), pattern="numbers.implied_yuan", vague=n == "几")
    for m in HALF_PERCENT.finditer(text) if "一半" in text else ():
        if free(m.start(), m.end()):
            yield Quantity(kind="percent", measure="percent", text=m.group(0), start=m.start(),
                           end=m.end(), value=50.0, unit="%", value_text=m.group(0),
                           qualifier=m.group("post"), value_base=50.0, base_unit="%",
                           pattern="numbers.half")
    for m in HALF_DURATION.finditer(text) if "半" in text else ():
        if free(m.start(), m.end()):
            unit = _unit_row(m.group("unit"))[0]
            yield Quantity(kind="count", measure="duration", text=m.group(0), start=m.start(),
                           end=m.end(), value=0.5, unit=unit, value_text=m.group(0),
                           value_base=0.5, base_unit=unit, pattern="numbers.half")
    for m in RANK.finditer(text) if "第" in text else ():
        if free(m.start(), m.end()):
            yield Quantity(kind="count", measure="rank", text=m.group(0), start=m.start(),
                           end=m.end(), value=float(m.group("num")), unit=m.group("unit"),
                           value_text=m.group(0), value_base=float(m.group("num")),
                           base_unit=m.group("unit"), pattern="numbers.rank")


@lru_cache(maxsize=1)
def _variant_chars() -> re.Pattern:
    """Any character the variants table folds (萬, 億, full-width digits …)."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in _data().variants) + "]")


@lru_cache(maxsize=1)
def _implied_count_pattern() -> re.Pattern:
    """N大 + a noun that implies its counter (6大产业链)."""
    nouns = _alternation(_data().implied)
    return re.compile(f"(?=[0-9{CN_DIGITS}十]+大)(?P<num>\\d+|[{CN_DIGITS}十]+)大(?P<noun>{nouns})")


@lru_cache(maxsize=1)
def _bare_amount_pattern() -> re.Pattern:
    """A number ending in 万/亿 (the only bare amounts read as yuan)."""
    return re.compile(f"(?=[0-9０-９{CN_DIGITS}十百千几数上{''.join({q[0] for q in PREFIX_QUALIFIERS})}])"
                      f"(?P<pre>{_alternation(PREFIX_QUALIFIERS)})?{_end('1')}(?<=[万亿])")


def _implied_yuan(text: str, m: re.Match, d: _Units) -> Quantity | None:
    """投资120亿, 拨款171万, 百亿投资: an amount with a magnitude, no unit, in money words."""
    if text[m.end() - 1] not in "万亿":
        return None
    num_start = m.start("a1") if m.group("a1") else m.start("c1")
    after = text[m.end():m.end() + 2]
    if after.startswith(d.not_money_after) or not (
            text[m.end() - 1] == "亿" or d.money_words.search(text, max(0, num_start - 8), m.start())
            or after.startswith(("投资", "资金"))):
        return None  # 300万股, or a bare 万 with no money words around
    if after[:1] and _pattern().match(text, m.start()):
        return None  # a unit follows: the grammar read it
    reading = _reading_of(m, "1")
    if reading is None or not reading.magnitude:
        return None
    currency = _neighbour_currency(text, m.start(), d)
    if currency is not None:  # 收购价1.38亿 next to 2.3亿欧元: euros
        unit, _, measure, factor, base = _unit_row(currency)
        return _build("money", measure, unit, base, factor, reading.total, reading.total_max,
                      reading.magnitude, text=text[num_start:m.end()], start=num_start, end=m.end(),
                      value_text=m.group(0), qualifier=m.group("pre") or reading.qualifier,
                      pattern="numbers.implied_yuan", vague=reading.vague)
    return _build("money", "money", "元", "元", Decimal(1), reading.total, reading.total_max,
                  reading.magnitude, text=text[num_start:m.end()], start=num_start, end=m.end(),
                  value_text=m.group(0), qualifier=m.group("pre") or reading.qualifier,
                  pattern="numbers.implied_yuan", vague=reading.vague)


def _neighbour_currency(text: str, at: int, d: _Units) -> str | None:
    """The foreign currency of an amount in the same sentence, if one is written there."""
    start = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1
    end = min([i for i in (text.find("。", at), text.find("\n", at)) if i >= 0] or [len(text)])
    foreign = [u for u, row in d.units.items() if row["measure"] == "foreign_money" and "/" not in u]
    found = re.search("|".join(sorted(foreign, key=len, reverse=True)), text[start:end]) if foreign else None
    return found.group(0) if found else None


@lru_cache(maxsize=4096)
def read_amount(text: str) -> Quantity | None:
    """The one quantity that `text` is, read on its own (None unless it, qualifiers included, is
    all of `text`). The gates re-read a row's quoted amount with it: a value that disagrees is a
    slip. Cached: the same amounts recur across rows (do not modify the result)."""
    found = find_quantities(text)
    whole = [q for q in found if (q.start == 0 and q.end == len(text)) or q.value_text == text]
    return whole[0] if len(whole) == 1 else None
