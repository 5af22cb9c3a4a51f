"""Indicators: statistics of a region over a period with a named measure (docs/ANNOTATION.md §2).

A quantity is an indicator when
- its metric names a measure: a noun phrase whose head is in the measure vocabulary
  (measures.json, sense.py) and takes the quantity's measure (a percent is not money);
- it is not a project's own figure (inside a project's name or its report clause, or its
  investment), not a threshold naming a class of projects (5000万元以上项目), not a duration;
- no rule of `not_statistics` (measures.json) says otherwise: a figure of one project referred
  back to (项目占地2500亩), money a project is built with (投资6000万元实施…), a price, a
  company's figure, attendance (35家企业参与招聘), an opinion, page furniture.
The metric is the phrase that names the number: the words right before it in its clause back to
the previous comma or number (实施5000万元以上项目 1677个), else the noun phrase after it
(127个 + 5000万元以上重点项目), else the sentence's previous metric joined with a short comparison
(同比增长7.8%,高于全国 10.9个百分点). Region: the nearest place before it (see context.py);
period: the first time expression in the sentence before the number.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .context import NATION, RegionLocator
from .indicator_filter import statistic_probability
from .numbers import Quantity
from .places import Region
from .sense import MEASURES_FILE, head_span, names_a_measure, unit_fits
from .sentences import CLAUSE_END, Span, SpanIndex

SKIP_MEASURES = {"duration"}
SKIP_PATTERNS = {"numbers.implied_counter"}   # 6大工程, 四大传统产业: a programme's shape, not a statistic
PERIOD = re.compile(
    r"\d{4}\s*[—\-–~至到]\s*\d{4}年|\d{4}年(?:上半年|下半年|[一二三四]季度|\d{1,2}[-—~至]\d{1,2}月份?|\d{1,2}月份?)?"
    r"|\d{1,2}\s*[-—~至]\s*\d{1,2}月份?"
    r"|截至(?:目前|年底|今年|去年|\d{4}年)?(?:\d{1,2}月(?:底|末|份|\d{1,2}日)?)?|近[一二三四五六七八九十\d]+年来?"
    r"|“十[一二三四五六]五”|十[一二三四五六]五|今年|去年|明年|上半年|下半年|年初|年内|全年|当年|同期|每年|冬季|春季")
METRIC_STOP = re.compile(r"[,，、:：;；。“”()（）]")
LEADING_FILLER = re.compile(r"^(?:其中|共|共有|已|已经|又|累计|合计|实现|达到|达|为|是|有|占|了|的|\s)+")
TRAILING_FILLER = re.compile(r"(?:达到|达|为|是|共|共有|有|占|了|约|近|超|超过|逾|实现|完成)+$")
PERSON_NOUNS = {"人", "人员", "代表", "同学", "学生", "嘉宾", "干部", "领导", "专家", "游客", "观众", "市民", "群众",
                "记者", "员工", "职工", "企业家", "客商", "来宾", "选手", "队员", "志愿者"}
NOUN_AFTER = re.compile(r"^[\u4e00-\u9fffA-Za-z“”\d万亿元以上]+")


@lru_cache(maxsize=1)
def _not_statistics() -> dict[str, re.Pattern]:
    data = json.loads(MEASURES_FILE.read_text(encoding="utf-8"))
    rules = {rule: re.compile(pattern) for rule, pattern in data["not_statistics"].items()}
    rules["rate_statistics"] = re.compile(data["rate_statistics"])
    return rules


def not_a_statistic(text: str, q: Quantity, metric: str, clause: Span, paragraph_start: int,
                    project_in_paragraph: bool) -> str | None:
    """The `not_statistics` rule that rejects this quantity, or None. `project_in_paragraph`: a
    project is named earlier in the paragraph (so 项目总投资 refers back to it, not to a set)."""
    rules = _not_statistics()
    before = text[clause.start:q.start]
    checks = {
        # 项目占地2500亩 / 工程总里程8公里; a count of projects (86个项目中心) is a statistic
        "project_figure": lambda: q.measure != "count" and rules["project_figure"].search(metric)
        and (q.kind != "money" or project_in_paragraph),
        "project_money": lambda: q.kind == "money" and rules["project_money"].search(text[q.end:q.end + 8]),
        "price": lambda: (q.measure == "money_rate" and not rules["rate_statistics"].search(metric))
        or rules["price"].search(metric),
        "company": lambda: rules["company"].search(before),
        "attendance": lambda: q.measure == "count" and rules["attendance"].search(text[q.end:q.end + 12]),
        "opinion": lambda: rules["opinion"].search(text, clause.start, clause.end),
        "furniture": lambda: rules["furniture"].search(text[paragraph_start:paragraph_start + 1]),
        "company_name": lambda: _named_subject(metric),   # last: it segments the metric
    }
    return next((rule for rule, hit in checks.items() if hit()), None)


COMPANY_NOUNS = {"科技", "集团", "公司", "品牌", "股份", "国际", "控股", "电子", "实业", "矿业", "租车", "的"}


@lru_cache(maxsize=65536)
def _words_of(phrase: str) -> tuple[str, ...]:
    """jieba's words of a short phrase (a metric, a noun phrase), cached: phrases recur."""
    from .tokenize import tokenize
    return tuple(tokenize(phrase).words)


def _first_word(phrase: str) -> str:
    """The longest dictionary word that opens `phrase` (two characters when none does: an
    unknown name). A dictionary lookup, not a segmentation: this runs on every kept row."""
    from .tokenize import word_frequency
    for n in range(min(6, len(phrase)), 1, -1):
        if word_frequency(phrase[:n]) > 0:
            return phrase[:n]
    return phrase[:2]


def _named_subject(metric: str) -> bool:
    """The metric opens with the name of a company or brand (华电国际当年…, 同盾科技累计客户数量,
    西门子品牌的…): a person's or organisation's name by the dictionary, or an unknown word
    followed by a company noun. A place opening the metric is a region."""
    from .projects import _words
    from .tokenize import word_frequency, word_tag
    first = _first_word(metric)
    rest = metric[len(first):]
    if not rest or first in _words()["generic_words"]:
        return False  # 续建 is tagged as a name in jieba's dictionary: domain words are not names
    tag = word_tag(first) or ""
    unknown = not tag and word_frequency(first) == 0
    second = _first_word(rest)
    return tag.startswith(("nr", "nt")) or ((unknown or tag == "nz") and second in COMPANY_NOUNS)


@dataclass
class Indicator:
    quantity: Quantity
    metric: str
    region: str | None
    region_full: Region | None
    period: str | None
    clause: Span
    pattern: str = "indicators.before"   # where the metric came from (see _metric)
    probability: float | None = None     # the learned filter's P(statistic), when it decided


def _metric(text: str, q: Quantity, clause: Span, previous_end: int,
            carried: str | None, topic: str | None = None) -> tuple[str | None, str | None]:
    """(metric, where it came from) for `q`, or (None, None): the words before it in its clause
    (back to the previous comma or number: "before"), else the noun phrase right after it (127个 +
    重点项目: "after") cut at its measure head, else the sentence's previous metric joined with a
    short comparison ("carried": 同比增长7.8%,高于全国 10.9个百分点), else a measure the text
    implies ("derived": see _derived_metric)."""
    left = max(clause.start, previous_end)
    before = re.sub(r"[(（][^()（）\d]{1,10}[)）]", "", text[left:q.start])  # 采购经理指数(PMI)
    cut = 0
    for m in METRIC_STOP.finditer(before):
        cut = m.end()
    before = TRAILING_FILLER.sub("", LEADING_FILLER.sub("", before[cut:])).strip()
    if _fits(before, q):
        return before, "before"
    after = NOUN_AFTER.match(text[q.end:clause.end])
    if after:  # the shortest noun phrase after the number that names its measure, whole head
        phrase = after.group(0).lstrip("的")
        for end in range(2, len(phrase) + 1):
            if _fits(phrase[:end], q):
                while end < len(phrase) and (span := head_span(phrase[:end + 1])) and span[1] == end + 1 \
                        and span[0] < end:
                    end += 1  # 增 -> 增长 -> 增长率
                return phrase[:end], "after"
    if carried and len(before) <= 4 and _fits(carried + before, q):
        return carried + before, "carried"  # 高于全国: the sentence's measure, compared
    if topic and q.measure == "count" and _fits(topic + before, q):
        return topic + before, "carried"   # 今年新开工的工业项目,计划年内投产14项: the sentence's topic
    derived = _derived_metric(before, after.group(0) if after else "", q)
    return (derived, "derived") if derived else (None, None)


def _derived_metric(before: str, after: str, q: Quantity) -> str | None:
    """A measure the text implies: the number of what is counted (建垃圾焚烧炉81个 -> 垃圾焚烧炉数,
    9个通航机场 -> 通航机场数), or the share of what a percent is a part of (占全省工业固定资产投资的
    66% -> …比重, 计划项目的80% -> 计划项目的比重)."""
    if q.measure == "count":
        for phrase in (before, _works_prefix(after.lstrip("的"))):
            noun = _counted_noun(phrase) if phrase.endswith(_works()) else None
            if noun:
                return noun + "数"
    if q.kind == "percent" and before and ("占" in before or before.endswith("的")):
        return before.rstrip("的") + "比重"
    return None


@lru_cache(maxsize=1)
def _works() -> tuple[str, ...]:
    return tuple(json.loads(MEASURES_FILE.read_text(encoding="utf-8"))["countable_works"])


def _countable_works(noun: str) -> bool:
    """What a region counts as a statistic (measures.json `countable_works`): 垃圾填埋场, 通航机场."""
    return noun.endswith(_works())


def _works_prefix(phrase: str) -> str:
    """The shortest start of `phrase` (up to 12 characters) that names countable works
    (9个通航机场建设 -> 通航机场), or ''."""
    works = _works()
    return next((phrase[:n] for n in range(1, min(12, len(phrase)) + 1) if phrase[:n].endswith(works)), "")


def _counted_noun(phrase: str) -> str | None:
    """`phrase` when it ends in a common noun that is not a person (人员, 代表, 同学: attendance)."""
    from .tokenize import word_tag
    words = _words_of(phrase) if phrase else ()
    if not words:
        return None
    tag = word_tag(words[-1]) or ""
    person_or_place = tag.startswith(("nr", "ns")) and len(words[-1]) < 4   # 垃圾焚烧炉 is tagged nr
    if not tag.startswith("n") or person_or_place or words[-1] in PERSON_NOUNS or len(phrase) < 2:
        return None
    return phrase


def _topic(text: str, sentence: Span) -> str | None:
    """The noun phrase that opens a sentence before its first comma, when it holds no number
    (今年新开工的工业项目,计划年内投产14项,明年投产42项)."""
    head = re.split(r"[,，:：]", text[sentence.start:sentence.end], maxsplit=1)
    if len(head) < 2 or re.search(r"\d|[一二三四五六七八九十]+[个项家]", head[0]) or len(head[0]) > 20:
        return None
    return head[0]


def _fits(metric: str, q: Quantity) -> bool:
    return names_a_measure(metric) and unit_fits(metric, q.measure)


@dataclass
class Candidate:
    """A quantity with a metric, and the rule that rejects it as a statistic (None: kept)."""
    indicator: Indicator
    rejected_by: str | None
    in_project_clause: bool


def indicator_candidates(text: str, quantities: list[Quantity], clauses: list[Span], sentences: list[Span],
                         claimed: list[tuple[int, int]], locator: RegionLocator,
                         project_starts: list[int] = (), tokens=None) -> list[Candidate]:
    """Every quantity of one article whose metric names a measure, with the rule that rejects it
    (`claimed`: inside a project's name or report clause; a `not_statistics` rule; `weak_derived`:
    an implied measure of no said region or period) or None. With the article's `tokens`, the
    sequence tagger (indicator_tagger.py) adds candidates for the quantities the rules gave no
    metric (pattern `indicators.tagged`)."""
    clause_at, sentence_at = SpanIndex(clauses), SpanIndex(sentences)
    out: list[Candidate] = []
    unnamed: dict[Span, list[Quantity]] = {}   # sentence -> its quantities the rules gave no metric
    previous_end, previous_clause = 0, None
    carried, carried_sentence = None, None   # the sentence's last metric (joined to a bare comparison)
    for q in quantities:
        if q.threshold or q.measure in SKIP_MEASURES or q.pattern in SKIP_PATTERNS:
            continue
        clause = clause_at.at(q.start)
        if clause is None:
            continue
        if clause is not previous_clause:
            previous_end, previous_clause = clause.start, clause
        sentence = sentence_at.at(q.start) or clause
        if sentence is not carried_sentence:
            carried, carried_sentence = None, sentence
        metric, source = _metric(text, q, clause, previous_end, carried, _topic(text, sentence))
        previous_end = q.end
        if metric is None:
            unnamed.setdefault(sentence, []).append(q)
            continue
        carried = metric
        out.append(_candidate(text, q, metric, source, clause, sentence, claimed, locator, project_starts))
    if tokens is not None and unnamed:
        out = sorted(out + _tagged_candidates(text, tokens, quantities, unnamed, out, clause_at, claimed,
                                              locator, project_starts),
                     key=lambda c: c.indicator.quantity.start)
    return out


def _candidate(text: str, q: Quantity, metric: str, source: str, clause: Span, sentence: Span,
               claimed: list[tuple[int, int]], locator: RegionLocator, project_starts) -> Candidate:
    """The candidate row of `q` named by `metric`, with its region, period and the rule rejecting it."""
    paragraph = text.rfind("\n", 0, q.start) + 1
    in_claimed = any(a <= q.start < b for a, b in claimed)
    rejected = "claimed" if in_claimed else not_a_statistic(
        text, q, metric, clause, paragraph, any(paragraph <= a < q.start for a in project_starts))
    surface, region = locator.locate(q.start, q.start)
    period = None
    for m in PERIOD.finditer(text, sentence.start, q.start):
        period = m.group(0)
        break
    if rejected is None and source == "derived" and surface is None and period is None:
        rejected = "weak_derived"  # an implied measure of no said region or period
    return Candidate(Indicator(q, metric, surface, region, period, clause, f"indicators.{source}"),
                     rejected, in_claimed)


def _tagged_candidates(text: str, tokens, quantities: list[Quantity], unnamed: dict[Span, list[Quantity]],
                       rules: list[Candidate], clause_at: SpanIndex, claimed, locator: RegionLocator,
                       project_starts) -> list[Candidate]:
    """Candidates the sequence tagger finds for the quantities the rules gave no metric: the
    tagged metric must name a measure that fits the quantity (or, for a count, a countable noun)."""
    from .indicator_tagger import tag_quantities, tagged_spans
    by_start = {c.indicator.quantity.start: c for c in rules}
    out = []
    for sentence, qs in unnamed.items():
        wanted = {q.start for q in qs}
        for span in tagged_spans(text, sentence, wanted):
            for q, phrase, _ in tag_quantities(text, tokens, span, quantities, by_start, wanted):
                metric = _tagged_metric(phrase, q)
                clause = clause_at.at(q.start)
                if metric is not None and clause is not None:
                    out.append(_candidate(text, q, metric, "tagged", clause, sentence, claimed, locator,
                                          project_starts))
    return out


def _tagged_metric(phrase: str, q: Quantity) -> str | None:
    """The tagger's metric phrase, fillers trimmed, when it names a measure that fits `q`; a count
    of a countable noun is the number of it (核电机组 -> 核电机组数)."""
    phrase = TRAILING_FILLER.sub("", LEADING_FILLER.sub("", phrase)).strip()
    if _fits(phrase, q):
        return phrase
    if q.measure == "count" and _names_things(phrase) and _fits(phrase + "数", q):
        return phrase + "数"
    return None


FUNCTION_TAGS = ("p", "u", "c", "d", "r", "m", "q", "f", "y", "e", "o", "t")


def _names_things(phrase: str) -> bool:
    """`phrase` ends in a word that can name what is counted (机组, 合作组织, 认证, an unknown name):
    not a function word, a number, a time or a place, nor people (attendance)."""
    from .tokenize import word_tag
    words = _words_of(phrase) if len(phrase) >= 2 else ()
    if not words or words[-1] in PERSON_NOUNS:
        return False
    tag = word_tag(words[-1]) or ""
    return not tag.startswith(FUNCTION_TAGS + ("nr", "ns")) and not (len(words[-1]) == 1 and tag.startswith("z"))


def find_indicators(text: str, tokens, candidates: list[Candidate]) -> list[Indicator]:
    """The candidates no rule rejects, each with the learned scorer's probability that it is a
    statistic (indicator_filter.py; None when no model ships): the row's confidence. Their
    metrics are then put as a reader names the measure (`readable_metric`, after the scorer,
    which learned on the metrics as found)."""
    out = []
    for c in candidates:
        if c.rejected_by is None:
            c.indicator.probability = statistic_probability(text, tokens, c)
            out.append(c.indicator)
    said_of_each = [RESPECTIVE.search(ind.metric) is not None for ind in out]
    # the measure a bare change is of: the metric of the number before it in the sentence, a row
    # or not (生猪出岛85万头，同比增长12%: the count is no row, its measure still names the change's)
    last: tuple[int, str] | None = None   # (where that number ends, its metric)
    for c in candidates:
        ind, q = c.indicator, c.indicator.quantity
        previous = last[1] if last is not None and _unbroken(text, last[0], q.start) else None
        if c.rejected_by is None:
            # the clause's words before the number, after any number before it (销售收入将实现17%的增长)
            before = re.split(r"[\d０-９%％]", METRIC_STOP.split(text[ind.clause.start:q.start])[-1])[-1]
            ind.metric = readable_metric(ind.metric, q, ind.region, previous, before)
            last = (q.end, ind.metric)
        elif ind.metric:
            last = (q.end, _tidy(ind.metric, ind.region))
    _pair_respective(text, out, said_of_each)
    return out


def _unbroken(text: str, start: int, end: int) -> bool:
    """No clause ends between `start` and `end` (one sentence, or its parts before a ；)."""
    return not CLAUSE_END.search(text, start, end)


def _pair_respective(text: str, rows: list[Indicator], said_of_each: list[bool]) -> None:
    """A…，B…，同比分别增长135%和179%: the k-th change of a run said of each measure in turn is the
    k-th of as many measures said before it in the sentence (each joined when it still fits)."""
    k = 0
    while k < len(rows):
        end = k + 1
        while said_of_each[k] and end < len(rows) and said_of_each[end] \
                and _unbroken(text, rows[end - 1].quantity.end, rows[end].quantity.start):
            end += 1
        if said_of_each[k]:
            changes = rows[k:end]
            measures = [r for r in rows[:k] if not CHANGE_ONLY.match(r.metric)
                        and _unbroken(text, r.quantity.end, rows[k].quantity.start)]
            if len(measures) >= len(changes):
                for measure, change in zip(measures[-len(changes):], changes):
                    joined = CHANGE_TAIL.sub("", measure.metric) + change.metric
                    if CHANGE_ONLY.match(change.metric) and _fits(joined, change.quantity):
                        change.metric = joined   # (a change its own clause named the measure of stays)
        k = end


# a change with no measure of its own (同比增长 after 中央投资260.89亿元,): the sentence's measure's
CHANGE_WORD = "(?:增长|下降|增加|减少|提高|回落|上涨|下跌|上升|增幅|降幅|涨幅|跌幅|增速)"
CHANGE = f"(?:同比|环比|年比|月比|(?:比|较)[^，,；;。]{{0,12}}?)?{CHANGE_WORD}"   # 比2009年, 比年初, 较上月
# 同比分别增长135%和179%: each row's change is 同比增长, of the measures before it in turn (so not
# joined to the row just before); 同比均增长 (each by the same) is 同比增长, joined
RESPECTIVE, EACH = re.compile(f"分别(?={CHANGE_WORD})"), re.compile(f"(?<=比)(?:分别|均)(?={CHANGE_WORD})")
CHANGE_ONLY, CHANGE_TAIL = re.compile(f"^{CHANGE}$"), re.compile(f"{CHANGE}$")
OWN_REGION = re.compile(rf"^(?:[全我本该][省市县区州盟旗]|{NATION.pattern})")   # 全省, 我市, 全国 …
EDGE_TAGS = ("p", "u", "c", "d", "r", "f", "y", "e")   # function words: no part of a measure's name


def readable_metric(metric: str, q: Quantity, region: str | None, previous: str | None,
                    before: str = "") -> str:
    """The measure as a reader names it, when that still names a measure that fits `q`: a bare
    change joined to its measure, the one its clause names before the number (销售收入将实现17%的增长
    -> 销售收入增长) or else the previous number's in the sentence (中央投资…，同比增长 -> 中央投资同比增长);
    any other metric `_tidy`, and a count of works a region counts as their number (续建项目 ->
    续建项目数; measures.json `countable_works`)."""
    respective = RESPECTIVE.search(metric) is not None
    metric = EACH.sub("", metric)
    if CHANGE_ONLY.match(metric):
        own = CHANGE_TAIL.sub("", _tidy(before, region))
        base = own if names_a_measure(own) else "" if respective else CHANGE_TAIL.sub("", previous or "")
        joined = base + metric
        return joined if base and names_a_measure(base) and _fits(joined, q) else metric
    name = _tidy(metric, region)
    if not _fits(name, q):
        name = metric
    if q.measure == "count" and _countable_works(name) and _fits(name + "数", q):
        name += "数"
    return name


def _tidy(phrase: str, region: str | None) -> str:
    """`phrase` without the region, period and function words that open it (今年西藏将完成公路建设投资
    -> 完成公路建设投资: a row has region and period columns), ending at its measure head when only
    verbs or function words follow (水泥产量预计 -> 水泥产量, 煤炭库存已经升至 -> 煤炭库存), full-width
    letters folded (ＧＤＰ)."""
    from .tokenize import word_tag
    words = [w for w in _words_of(unicodedata.normalize("NFKC", phrase)) if not w.isspace()] if phrase else []
    while words and (words[0] == region or OWN_REGION.match(words[0]) or PERIOD.fullmatch(words[0])
                     or words[0].isdigit() or (word_tag(words[0]) or "x").startswith(EDGE_TAGS + ("m", "t"))):
        words.pop(0)
    name = "".join(words)
    head = head_span(name)
    if head and all((word_tag(w) or "x").startswith(EDGE_TAGS + ("v",)) for w in _words_of(name[head[1]:])):
        name = name[:head[1]]
    return name
