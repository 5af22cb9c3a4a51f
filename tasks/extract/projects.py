"""Named projects with investment, status, place and industry, wherever a story names them.

Patterns, tried in this order (a span that an earlier pattern claimed is not read again):
1. money-led   总投资2.3亿元的 <name>项目 <status>  /  投资1311万元的<name>公路
2. invest-build 投资5亿元建设<name>水库
3. status-led  4月份新开工建设的 <name>产业园 …
4. ceremony    <name>(意向协议)签约仪式 / <name>开工仪式 / 竣工投产典礼
5. list        A、B和C等(7个)(一批/重点/外资…)项目 <status>   (names need no 项目 suffix here)
6. named       推动 <name>项目, / <name>项目已投产 / <name>水库正式开工 (a facility head needs a
               status word after it: 中心 and 园 also name institutions)
7. learned     a name the CRF tagger finds (name_tagger.py) that ends in a head and no rule took
8. invest-after <name>(,)总投资X: a new name, or the amount of a name found above
and 该项目总投资X gives its amount to the project named last. A name ends at the first
stand-alone 项目/工程 token (so 安沃基因工程生物医药项目 is not cut at 基因工程) or at a facility head
(水库, 产业园, 批发市场 … project_words.json) and starts after a lead word, punctuation, a counter or
a determiner, minus leading verbs/particles by dictionary tag. Candidates made only of generic
words (重点项目, 产业升级), holding a count or an amount (5000万元以上项目), or naming a person are
classes or noise, not projects. Status text is what follows the name up to the next comma (the
whole clause for money-led reports), mapped to the status enum by status_taxonomy.json; industry
comes from industry_taxonomy.json keywords in the name, then in the evidence.
"""
from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .numbers import Quantity
from .places import place_surfaces
from .name_tagger import tag_names
from .sentences import Span, SpanIndex
from .tokenize import Token, Tokens, word_frequency, word_tag

HERE = Path(__file__).parent
PUNCT_BOUNDARY = set(",，。;；:：“”‘’\"'!?！？\n、《》")
COMMA = re.compile(r"[,，]")
STATUS_LED = re.compile(r"(?:新开工建设|新开工|开工建设|已竣工|竣工投产|已投产|新落地)的")
LIST_END = re.compile(r"等(?:[\d一二两三四五六七八九十]+[个项座条家处])?(?P<mid>(?:一批)?[^,，。;；、的\d零一二两三四五六七八九十]{0,10}?)(?P<suf>项目|工程)")
# dictionary tags of words that cannot open a name (verbs, prepositions, conjunctions, adverbs,
# particles, pronouns): 报道过该项目, 参建了X工程 lose them; a name starting with a place or noun keeps all
LEADING_NON_NAME_TAGS = {"v", "vd", "vi", "vg", "p", "c", "d", "ad", "dg", "u", "ul", "uj", "uz", "uv", "ud",
                         "ug", "r", "rr", "rz", "y", "e", "o", "zg"}
FACILITY_STOPS = {"是", "为", "的", "将", "已", "已经", "正在", "于", "和", "与"}
WORD_TAILS = set("类师款费额量")
BUILD_WORDS = {"建设", "新建", "扩建", "改建", "兴建", "开工", "动工", "启动", "实施", "建成", "开发", "打造"}  # 工程类, 工程师, 项目款 …: the suffix is part of a longer word


@dataclass
class Project:
    name: str
    name_start: int
    name_end: int
    clause: Span
    pattern: str
    investment: Quantity | None = None
    status: str = "unknown"
    status_text: str | None = None
    context: str | None = None   # how the `named` pattern knew it (lead, status, list, object, topic)

    @property
    def claims_clause(self) -> bool:
        """The clause reports on this project (its figures are not regional statistics): not
        for a name met in passing inside a statistics clause (`named`, `list`), unless the clause
        is about it (topic)."""
        return self.pattern not in ("named", "list") or self.context == "topic"


@lru_cache(maxsize=1)
def _words() -> dict:
    data = json.loads((HERE / "project_words.json").read_text(encoding="utf-8"))
    data["lead_words"] = sorted(data["lead_words"], key=len, reverse=True)
    for key in ("named_continuations", "status_continuations", "anaphora", "lead_verbs", "topic_words",
                "category_leads", "capacity", "investing_verbs", "venue_leads", "not_a_name"):
        data[key] = re.compile(data[key])
    data["ceremonies"] = re.compile(data["ceremonies"])
    data["ceremony_trim"] = re.compile(data["ceremony_trim"])
    leads = "|".join(sorted(data["invest_leads"], key=len, reverse=True))
    quals = "|".join(sorted(data["invest_qualifiers"], key=len, reverse=True))
    # the lead right before an amount: 总投资约 | 投资估算 | 计划投资
    data["invest_before"] = re.compile(f"(?:{leads})(?:{quals})*$")
    # between a name and its amount: (,)(项目)总投资约
    data["invest_after"] = re.compile(f"^[,，]?(?:项目|工程)?(?:的)?(?:{leads})(?:{quals})*$")
    data["build_after"] = re.compile(f"^(?:人民币)?[,，]?(?:用于|用来|专门)?(?:{'|'.join(data['build_verbs'])})的?")
    for key in ("generic_words", "determiners", "name_suffixes", "compound_suffixes", "list_heads"):
        data[key] = set(data[key])
    return data


@lru_cache(maxsize=1)
def _status_rules() -> list[tuple[str, re.Pattern]]:
    data = json.loads((HERE / "status_taxonomy.json").read_text(encoding="utf-8"))
    return [(r["status"], re.compile(r["pattern"])) for r in data["rules"]]


@lru_cache(maxsize=1)
def _industries() -> list[tuple[str, list[str]]]:
    data = json.loads((HERE / "industry_taxonomy.json").read_text(encoding="utf-8"))
    return [(c["industry"], c["keywords"]) for c in data["categories"]]


def classify_status(status_text: str | None) -> str:
    if status_text:
        for status, pattern in _status_rules():
            if pattern.search(status_text):
                return status
    return "unknown"


def classify_industry(name: str, evidence: str) -> str | None:
    for text in (name, evidence):
        for industry, keywords in _industries():
            if any(k in text for k in keywords):
                return industry
    return None


def project_id(article_id: str, name: str, start: int) -> str:
    return hashlib.sha1(f"{article_id}\x1f{name}\x1f{start}".encode("utf-8")).hexdigest()[:16]


class _Tokens:
    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.starts = tokens.starts

    def index_at(self, offset: int) -> int:
        i = bisect_left(self.starts, offset)
        if i < len(self.starts) and self.starts[i] == offset:
            return i
        return max(i - 1, 0)

    def between(self, start: int, end: int) -> list[Token]:
        """The tokens from the first that starts at or after `start` up to the last ending by `end`."""
        t = self.tokens
        i = bisect_left(self.starts, start)
        j = max(i, bisect_right(t.ends, end, i))
        return list(map(Token, t.words[i:j], t.starts[i:j], t.ends[i:j]))


def _is_suffix_token(word: str) -> bool:
    words = _words()
    return word in words["name_suffixes"] or word in words["compound_suffixes"]


def _is_generic(tokens: list[Token]) -> bool:
    words = _words()
    generic = words["generic_words"] | words["name_suffixes"] | {"工程项目"}
    core = [t.text for t in tokens if t.text.strip()]
    if not core:
        return True
    return all(w in generic or re.fullmatch(r"[\d.]+|[一二三四五六七八九十]+", w) for w in core)


def _specific(tokens: list[Token]) -> bool:
    """Not only generic words, and long enough to be a name."""
    core = "".join(t.text for t in tokens if not _is_suffix_token(t.text))
    return len(core) >= 3 and not _is_generic(tokens)


COMPANY = re.compile(r"公司|集团|厂|[A-Za-z0-9]")
COMPANY_NO_DIGITS = re.compile(r"公司|集团|厂|[A-Za-z]")


PROPER_TAGS = ("nr", "ns", "nt", "nz")
FUNCTION_CHARS = set("的和及与或在了是为对把被从向等之其该此各每新老")


def _proper(word: str) -> bool:
    """A proper-name part: tagged as a person, place, organisation or other name in jieba's
    dictionary (荆江, 大唐, 长白山), or not in it at all (精功, 龙永, 锦懋). Rare common nouns
    (沼气, 无害化, 石材) are not, nor words of the domain dictionary (新能源)."""
    if len(word) < 2:
        return False
    tag = word_tag(word)
    return word_frequency(word) == 0 if tag is None else tag.startswith(PROPER_TAGS)


def _distinctive(tokens: list[Token], places: frozenset[str], company: re.Pattern = COMPANY) -> bool:
    """Has a proper-name part: a company word, a digit or Latin letter, a place, or a word that
    is a name by the dictionary (see _proper). 污水集中处理工程, 农村沼气工程 have none."""
    generic = _words()["generic_words"]
    if any(not _is_suffix_token(t.text) and not _facility_token(t.text) and t.text not in generic
           and (company.search(t.text) or t.text in places or _proper(t.text)) for t in tokens):
        return True
    # an unknown name jieba cut into characters (哈|啤 of 哈啤搬迁扩产)
    run = ""
    for t in [*tokens, None]:
        if t is not None and len(t.text) == 1 and t.text not in FUNCTION_CHARS:
            run += t.text
            continue
        if len(run) >= 2 and word_frequency(run) == 0 and word_tag(run) is None:
            return True
        run = ""
    return False


def _name_end_tokens(tk: _Tokens, start: int, limit: int) -> int | None:
    """End offset of the first stand-alone 项目/工程 run after `start` (before `limit`)."""
    toks = tk.between(start, limit)
    for i, t in enumerate(toks):
        if _is_suffix_token(t.text):
            end = t.end
            j = i + 1
            while j < len(toks) and _is_suffix_token(toks[j].text):
                end = toks[j].end
                j += 1
            return end
        if t.text in PUNCT_BOUNDARY and t.text not in "、":
            return None
    return None


@lru_cache(maxsize=1)
def _facility_tail() -> re.Pattern:
    return re.compile(f"(?:{'|'.join(map(re.escape, _words()['facility_suffixes']))})$")


@lru_cache(maxsize=1)
def _facility_last_chars() -> frozenset[str]:
    return frozenset(s[-1] for s in _words()["facility_suffixes"])


@lru_cache(maxsize=65536)
def _facility_token(word: str) -> bool:
    """A token that ends in a facility head (…水库, 批发市场, 产业园, or the head alone: 段, 厂)."""
    return _facility_tail().search(word) is not None


def _facility_end(tk: _Tokens, start: int, limit: int) -> int | None:
    for t in tk.between(start, limit):
        if t.text in PUNCT_BOUNDARY or t.text in FACILITY_STOPS:
            return None
        if _facility_tail().search(t.text):
            return t.end
    return None


def _status_after(text: str, start: int, clause: Span, whole_clause: bool) -> str | None:
    rest = text[start:clause.end].lstrip(",，")
    if not whole_clause:
        m = COMMA.search(rest)
        head = rest[:m.start()] if m else rest
        if head.strip():
            rest = head
    rest = rest.rstrip("。！？!?")
    rest = re.sub(r"^(?:也|均|都|目前)+", "", rest).strip()
    return rest or None


def _investment_after(text: str, end: int, clause: Span, money: list[Quantity]) -> Quantity | None:
    for q in money:
        if end <= q.start <= end + 12 and q.end <= clause.end and not q.threshold \
                and _words()["invest_after"].search(text[end:q.start]):
            return q
    return None


def _lead_cut(text: str, tk: _Tokens, start: int, end: int) -> int:
    """Offset after the last lead word (at token boundaries) in [start, end)."""
    leads = _words()["lead_words"]
    cut = start
    token_ends = {t.end for t in tk.between(start, end)}
    for t in tk.between(start, end):
        for lw in leads:
            if text.startswith(lw, t.start) and t.start + len(lw) in token_ends and t.start + len(lw) < end:
                cut = max(cut, t.start + len(lw))
                break
    return cut


def _enumeration_continues(text: str, tk: _Tokens, end: int, limit: int) -> bool:
    """X项目、Y项目…: another project-suffixed item follows before the next comma."""
    if text[end:end + 1] != "、":
        return False
    m = COMMA.search(text, end, limit)
    return _name_end_tokens(tk, end + 1, m.start() if m else limit) is not None


def _after_object_lead(text: str, start: int) -> bool:
    return any(text.endswith(lw, 0, start) for lw in _words()["named_object_leads"])


def find_projects(text: str, tokens: Tokens, clauses: list[Span], quantities: list[Quantity],
                  person_names: set[str] = frozenset(), learned: bool = True) -> list[Project]:
    """Projects of one article, in text order (patterns in the order of the module doc);
    `learned=False`: the rules alone (what the name tagger is trained on)."""
    finder = _ProjectFinder(text, tokens, clauses, quantities, person_names)
    finder.money_led()
    finder.invest_build()
    finder.status_led()
    finder.ceremony()
    finder.lists()
    finder.named()
    if learned:
        finder.learned()
    finder.invest_after()
    finder.anaphora()
    return sorted(finder.found, key=lambda p: p.name_start)


class _ProjectFinder:
    """Shared state of the four patterns: what was found and which spans are claimed."""

    def __init__(self, text: str, tokens: Tokens, clauses: list[Span], quantities: list[Quantity],
                 person_names: set[str]):
        self.text, self.tokens, self.clauses = text, tokens, clauses
        self.tk = _Tokens(tokens)
        self.clause_at = SpanIndex(clauses)
        self.person_names = person_names
        self.money = [q for q in quantities if q.measure == "money"]
        # a count, amount or area inside a candidate name makes it a class (86个…项目, 5000万元以上项目)
        self.counted = [q for q in quantities if q.kind in ("money", "percent")
                        or (q.measure == "count" and q.unit in ("个", "项"))]
        self.found: list[Project] = []
        self.claimed: list[tuple[int, int]] = []

    def free(self, a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in self.claimed)

    def add(self, p: Project, status_from: int | None = None, whole_clause: bool = False) -> None:
        self.claimed.append((p.name_start, p.name_end))
        if any(f.name == p.name and f.clause == p.clause for f in self.found):
            return  # a name said twice in one clause is one project (and one project_id)
        if p.status_text is None:
            at = p.name_end if status_from is None else status_from
            p.status_text = _status_after(self.text, at, p.clause, whole_clause)
        p.status = classify_status(p.status_text)
        if p.status == "unknown":
            p.status_text = None
        if p.investment is None:
            p.investment = _investment_after(self.text, p.name_end, p.clause, self.money)
        self.found.append(p)

    def money_led(self) -> None:
        """总投资2.3亿元的 NAME项目 <progress report>."""
        text, tk = self.text, self.tk
        for q in self.money:
            if q.threshold or not _words()["invest_before"].search(text[max(0, q.start - 10):q.start]):
                continue
            clause = self.clause_at.at(q.start)
            of = MONEY_LED_OF.match(text, q.end)   # 的, or 、总建筑面积10万平方米的
            if clause is None or of is None:
                continue
            start = of.end()
            end = _name_end_tokens(tk, start, clause.end) or _facility_end(tk, start, clause.end)
            if end is None or not self.free(start, end) or not _specific(tk.between(start, end)):
                continue  # 总投资12.5亿元的该项目
            self.add(Project(text[start:end], start, end, clause, "money_led", investment=q),
                     whole_clause=True)
            self.claimed.append((end, clause.end))  # the rest of the clause is its progress report

    def status_led(self) -> None:
        """4月份新开工建设的 NAME产业园."""
        text, tk = self.text, self.tk
        for clause in self.clauses:
            for m in STATUS_LED.finditer(text, clause.start, clause.end):
                start = m.end()
                end = _facility_end(tk, start, clause.end) or _name_end_tokens(tk, start, clause.end)
                if end is None or not self._acceptable(start, end):
                    continue
                status_text = re.split(r"[,，]", text[max(clause.start, m.start() - 6):m.end() - 1])[-1]
                self.add(Project(text[start:end], start, end, clause, "status_led", status_text=status_text))

    def _name_at(self, start: int, limit: int) -> int | None:
        """End of a name starting at `start`: the first 项目/工程 run or facility head before `limit`."""
        return _name_end_tokens(self.tk, start, limit) or _facility_end(self.tk, start, limit)

    def _acceptable(self, start: int, end: int, distinctive: bool = True) -> bool:
        """A name, not a class: specific words, no 等, no person, no count or amount inside, not a set
        or a clause (project_words.json `not_a_name`), and a proper-name part unless `distinctive`
        is False (a strong context or a capacity said)."""
        toks = self.tk.between(start, end)
        name = self.text[start:end]
        words = _words()
        if distinctive and words["capacity"].search(name):
            distinctive = False  # 年产300吨蓝宝石单晶棒生产线: specific by its capacity
        return (end > start and self.free(start, end) and _specific(toks) and "等" not in name
                and not re.search(r"[和及][\d０-９]", name)   # 22.5万总吨和10万总吨泊位: capacities, not a name
                and not words["not_a_name"].search(name)       # a set (3条…生产线) or a class (…以下项目)
                and not any(t.text in words["clause_particles"] for t in toks)   # a clause: 签订了…
                and not _coordinated(self.tk, start, end)
                and (not distinctive or _distinctive(toks, place_surfaces()))
                and not any(n in name for n in self.person_names)
                and not any(start <= q.start < end for q in self.counted))

    def invest_build(self) -> None:
        """投资5亿元建设 NAME: the name after the build verb."""
        text, words = self.text, _words()
        for q in self.money:
            if q.threshold or not words["invest_before"].search(text[max(0, q.start - 10):q.start]):
                continue
            verb = words["build_after"].match(text[q.end:q.end + 12])
            clause = self.clause_at.at(q.start)
            if verb is None or clause is None:
                continue
            start = q.end + verb.end()
            end = self._name_at(start, clause.end)
            if end is None or not self._acceptable(start, end):
                continue
            self.add(Project(text[start:end], start, end, clause, "invest_build", investment=q))

    def ceremony(self) -> None:
        """NAME(意向协议)签约仪式 / NAME开工仪式: the name before the ceremony word."""
        text, tk, words = self.text, self.tk, _words()
        for m in words["ceremonies"].finditer(text):
            clause = self.clause_at.at(m.start())
            if clause is None:
                continue
            head = words["ceremony_trim"].sub("", text[clause.start:m.start()])
            end = clause.start + len(head)
            suffix = next((t for t in reversed(tk.between(clause.start, end))
                           if _is_suffix_token(t.text) or _facility_token(t.text)), None)
            if suffix is None or suffix.end != end:
                continue  # the ceremony of an event, a campaign or a class (重点项目集中开工仪式)
            start = scan_name_start(text, self.tokens, tk.index_at(suffix.start), clause.start)
            if start is None or not self._acceptable(start, end):
                continue
            self.add(Project(text[start:end], start, end, clause, "ceremony"),
                     status_from=m.start(), whole_clause=False)

    def invest_after(self) -> None:
        """NAME(,)总投资X: the amount's name ends right before its lead word."""
        text, tk, words = self.text, self.tk, _words()
        for q in self.money:
            lead = words["invest_after"].search(text[max(0, q.start - 14):q.start])
            clause = self.clause_at.at(q.start)
            if q.threshold or lead is None or clause is None:
                continue
            end = q.start - len(lead.group(0))
            if text[end - 1:end] in ",，":
                end -= 1
            if any(p.investment is q for p in self.found):
                continue
            # the name ends before the lead, or the lead began with the name's own 项目 (X项目投资5亿元)
            owner = next((p for p in self.found if p.investment is None and (
                p.name_end == end or (p.name_end > end and p.name_end <= q.start
                                      and text[end:p.name_end] in ("项目", "工程")))), None)
            if owner is not None:
                owner.investment = q
                continue
            if end <= clause.start:
                continue
            i = tk.index_at(end - 1)
            if self.tokens[i].end != end or not (_is_suffix_token(self.tokens[i].text)
                                                 or _facility_token(self.tokens[i].text)):
                continue
            start = scan_name_start(text, self.tokens, i, clause.start)
            if start is None or not self._acceptable(start, end):
                continue
            self.add(Project(text[start:end], start, end, clause, "invest_after", investment=q),
                     status_from=q.end)

    def anaphora(self) -> None:
        """An amount with an investment lead that no name sits right before belongs to the project
        the passage is about: 该项目总投资X / X工程，…，总投资达52亿元 (the one project of its clause)
        / …审查，投资概算50亿元 (the last project of its paragraph, when the paragraph names one)
        / 以上三项目…分别约为A、B、C (the last three projects, in order)."""
        text, words = self.text, _words()
        taken = {id(p.investment) for p in self.found if p.investment is not None}
        for k, q in enumerate(self.money):
            lead = words["invest_before"].search(text[max(0, q.start - 12):q.start])
            if q.threshold or lead is None or id(q) in taken:
                continue
            if RESPECTIVELY.search(text, max(0, q.start - 16), q.start):
                run = [q]
                for nxt in self.money[k + 1:]:
                    if text[run[-1].end:nxt.start] not in ("、", "，", ","):
                        break
                    run.append(nxt)
                owners = sorted((p for p in self.found if p.name_end <= q.start), key=lambda p: p.name_end)[-len(run):]
                if len(owners) == len(run) and all(p.investment is None for p in owners):
                    for p, amount in zip(owners, run):
                        p.investment = amount
                        taken.add(id(amount))
                continue
            before = [p for p in self.found if p.name_end <= q.start and p.investment is None]
            clause = self.clause_at.at(q.start)
            same_clause = [p for p in before if clause is not None and p.clause.start == clause.start]
            paragraph = text.rfind("\n", 0, q.start) + 1
            in_paragraph = [p for p in self.found if paragraph <= p.name_start < q.start]
            if len(same_clause) == 1:
                owner = same_clause[0]
            elif not same_clause and len({p.name for p in in_paragraph}) == 1 and before and before[-1] in in_paragraph:
                owner = before[-1]
            elif before and words["anaphora"].search(text, max(0, q.start - len(lead.group(0)) - 8),
                                                     q.start - len(lead.group(0))):
                owner = max(before, key=lambda p: p.name_end)
            else:
                continue
            owner.investment = q
            taken.add(id(q))

    def lists(self) -> None:
        """A、B和C等(7个)(重点/在建/外资…)项目 <status> / A、B…6条高速公路建设: every item a name."""
        text, tk, words = self.text, self.tk, _words()
        token_ends, token_starts = set(self.tokens.ends), set(self.tokens.starts)
        for clause in self.clauses:
            ends = [(m, "等") for m in LIST_END.finditer(text, clause.start, clause.end)]
            ends += [(m, "count") for m in _count_list_end().finditer(text, clause.start, clause.end)]
            for m, how in sorted(ends, key=lambda x: x[0].start()):
                if (m.end("suf") not in token_ends and m.start("suf") not in token_starts) \
                        or text[m.end("suf"):m.end("suf") + 1] in WORD_TAILS:
                    continue  # 等工程机械, 等工程类产品: 工程 starts a longer word
                if how == "count" and (text[m.start() - 1:m.start()] in ("的", "之") or not (
                        words["lead_verbs"].search(text, max(clause.start, _list_start(text, tk, clause.start, m.start()) - 1),
                                                   _list_start(text, tk, clause.start, m.start()) + 12)
                        or _built_list(text, tk, clause.start, m))):
                    continue  # 位于资阳、南宁的两家酒厂 / 璜塘、江阴4个收费站: no project is built
                mid_ok = all(t.text in words["list_heads"] for t in tk.between(m.start("mid"), m.end("mid")))
                seg_start = _list_start(text, tk, clause.start, m.start())
                if "、" not in text[seg_start:m.start()] and not text[seg_start:m.start()].count("，"):
                    continue  # a list has at least two items (X和Y等项目 is too often one phrase)
                if "一批" in text[max(clause.start, seg_start - 6):seg_start + 8]:
                    continue  # 谋划一批X、Y等项目: kinds of projects
                seg_start = _lead_cut(text, tk, seg_start, _first_item_end(text, seg_start, m.start()))
                items = [(a, b) for a, b in _split_items(text, tk, seg_start, m.start()) if self.free(a, b)]
                named = [_named_like(text, tk, a, b) and not _institution(text[a:b]) for a, b in items]
                headed = all(_ends_in_head(tk, a, b) for a, b in items) and sum(named) * 2 >= len(items)
                if not items or not (all(named) and mid_ok or headed):
                    continue  # 污水治理、能源利用等项目, 等游乐项目: topics and kinds, not named projects
                for (a, b), ok in zip(items, named):
                    if (ok or headed) and len(text[a:b].strip()) >= 2 and not _is_generic(tk.between(a, b)):
                        self.add(Project(text[a:b], a, b, clause, "list"), status_from=m.end())
                self.claimed.append((m.start(), m.end()))

    def _context(self, start: int, head: Token, clause: Span, project_head: bool) -> str | None:
        """How the text around a candidate name says it is a project: "lead" (a build or status
        verb before it: 开工建设X, 投向X), "status" (a status after it: X正式开工), "list" (an item of
        X、Y…), "object" (推动X项目,), "topic" (a sentence about it: X工程，…总投资…), or None."""
        text, words = self.text, _words()
        after = text[head.end:head.end + 20]
        if words["lead_verbs"].search(text, max(0, start - 7), start):
            return "lead"
        if words["status_continuations"].match(after) or (project_head and words["named_continuations"].match(after)):
            return "status"
        last = self.found[-1] if self.found else None
        if _enumeration_continues(text, self.tk, head.end, clause.end) or (
                last is not None and last.name_end == start - 1 and text[start - 1] == "、"):
            return "list"   # X项目、Y项目 / the last item of it
        if project_head and COMMA.match(after) and _after_object_lead(text, start):
            return "object"
        return "topic" if self._topic(start, head.end, clause) else None

    def _topic(self, start: int, end: int, clause: Span) -> bool:
        """NAME，… / NAME是… / NAME起于… opening its clause, in a clause about investment, status
        or plans (the clause's topic)."""
        text = self.text
        lead = text[clause.start:start].rstrip("“\"")
        if len(lead) > 8 or (lead and lead[-1] not in ",，"):
            return False
        rest = re.sub(r"^[”\"]?(?:[(（][^)）]{1,20}[)）])?", "", text[end:clause.end])
        topic = _words()["topic_words"]
        if rest[:1] in (",", "，", "是"):
            return bool(topic.search(rest))
        return bool(topic.match(rest))

    def learned(self) -> None:
        """Names the CRF tagger finds (name_tagger.py) where no rule found one."""
        names = [(p.name_start, p.name_end) for p in self.found]
        for start, end, clause, sure in tag_names(self.text, self.tokens, self.clauses, names):
            name = self.text[start:end]
            if JOINED.search(name) and not name.endswith(("项目", "工程")):
                continue  # A及B通往C高速: facilities joined (only 项目/工程 closes a joined name)
            if sure >= LEARNED_MIN and self.free(start, end) and self._acceptable(start, end, distinctive=False):
                self.add(Project(name, start, end, clause, "learned"))

    def named(self) -> None:
        """NAME项目已投产 / 推动NAME项目, / 开工建设NAME风电场 / NAME水库正式开工 / NAME工程，…总投资X."""
        text, tk, tokens, words = self.text, self.tk, self.tokens, _words()
        suffixes = words["name_suffixes"] | words["compound_suffixes"]
        last_chars = _facility_last_chars()
        for i, word in enumerate(tokens.words):
            project_head = word in suffixes
            if not project_head and word[-1:] not in last_chars:
                continue  # fast path: no head can end here
            if not project_head and not _facility_token(word) and not (
                    i > 0 and _facility_token(tokens.words[i - 1] + word) and not _facility_token(tokens.words[i - 1])):
                continue  # neither 项目/工程 nor a facility head (集群|区 split by jieba counts too)
            t = tokens[i]
            if not self.free(t.start, t.end) or (i + 1 < len(tokens) and (
                    _is_suffix_token(tokens.words[i + 1]) or _facility_token(tokens.words[i + 1]))):
                continue  # claimed, or the head run continues (光伏|电站, 枢纽|立交): handle it at its last token
            clause = self.clause_at.at(t.start)
            if clause is None:
                continue
            if not project_head and _longer_name_follows(tk, t.end, clause.end):
                continue  # 太平湖国家湿地公园环境整治工程: the facility names part of a longer name
            if t.text in ("重点项目", "重大项目") or (i > 0 and tokens.words[i - 1] in ("重点", "重大", "和", "及", "与", "或")):
                continue  # …重点项目: a class of projects; 投资和项目: a conjunction
            start = scan_name_start(text, tokens, i, clause.start)
            if start is None or words["category_leads"].search(text, clause.start, start):
                continue  # 分为A工程、B工程 / 一是A工程: kinds of works
            how = self._context(start, t, clause, project_head)
            if how is None:
                continue
            if not project_head and any(word.endswith(h) for h in words["route_heads"]) \
                    and not ROUTE.search(text[start:t.start]):
                continue  # 路段, 阶段: 段 heads a name only on a route (国道318线X至Y段)
            if not project_head and words["venue_leads"].search(text, max(0, start - 4), start):
                continue  # 在霍城江苏工业园集中开工: the venue of other projects
            if project_head:
                start = _merge_coordination(text, tokens, tk, start, clause.start)
                if len(tk.between(start, t.start)) < 2 and not COMPANY.search(text[start:t.start]):
                    continue  # one word + 项目 (充分利用项目开工建设的好时节): a phrase, not a name
            # a descriptive name (半导体照明光源产业化项目) is a project when its owner invests in it
            investing = project_head and words["investing_verbs"].search(text, max(0, start - 6), start)
            if self._acceptable(start, t.end, distinctive=not investing):
                self.add(Project(text[start:t.end], start, t.end, clause, "named", context=how))


JOINED = re.compile(r"[及和与]")
LEARNED_MIN = 0.75  # the tagger's least sure character of a name it adds (best on the tune part, seeds unchanged)
RESPECTIVELY = re.compile(r"分别(?:约|约为|为|是|达)?$|分别")
MONEY_LED_OF = re.compile(r"(?:[、，,][^，,。；;、的]{1,20}?)?的")
ROUTE = re.compile(r"至|到|[-—－]|\d+线|[国省县]道|公路|铁路|高速")


@lru_cache(maxsize=1)
def _count_list_end() -> re.Pattern:
    """A、B…6条高速公路(建设): a list closed by a count of facilities."""
    heads = "|".join(map(re.escape, sorted(_words()["facility_suffixes"] + ["项目", "工程"], key=len, reverse=True)))
    return re.compile(f"(?P<count>\\d+|[一二两三四五六七八九十]+)[条座个项家处](?P<mid>[\u4e00-\u9fff]{{0,6}}?)(?P<suf>{heads})")


def _built_list(text: str, tk: _Tokens, floor: int, m: re.Match) -> bool:
    """A list closed by a count that says its items are built: a status or build word after the
    count (6条高速公路建设), the count naming projects (…6个高速公路项目), or a build verb right
    before the first item (开工建设A至B、C至D…)."""
    if re.match(r"(?:项目|工程|建设|开工|竣工|通车)", text[m.end("suf"):m.end("suf") + 2]) \
            or m.group("suf") in ("项目", "工程"):
        return True
    start = _list_start(text, tk, floor, m.start())
    cut = _lead_cut(text, tk, start, _first_item_end(text, start, m.start()))
    return cut > start and bool(_words()["lead_verbs"].search(text, start, cut))


def _first_item_end(text: str, start: int, end: int) -> int:
    """Where the first item of a list in [start, end) ends: lead words (开工建设) come before it;
    one inside a later item (昌九扩建) is part of that item."""
    sep = text.find("、", start, end)
    return sep if sep >= 0 else end


def _list_start(text: str, tk: _Tokens, floor: int, end: int) -> int:
    """Where a list that ends at `end` starts: after the last comma or colon, extended back over
    comma-separated items that end in a head too (年产…生产线，年产…生产线等项目)."""
    start = floor
    for c in re.finditer(r"[,，:：;；]", text[floor:end]):
        start = floor + c.end()
    while start > floor and text[start - 1] in ",，":
        prev = max(max(text.rfind(x, floor, start - 1) for x in ",，:：") + 1, floor)
        if start - 1 - prev > 40 or not _ends_in_head(tk, prev, start - 1):
            break
        start = prev
    return start


def _longer_name_follows(tk: _Tokens, end: int, limit: int) -> bool:
    """A 项目/工程 head follows within a few words, with no punctuation between."""
    for t in tk.between(end, min(limit, end + 12)):
        if t.text in PUNCT_BOUNDARY or t.text.isspace():
            return False
        if _is_suffix_token(t.text):
            return True
    return False


def _coordinated(tk: _Tokens, start: int, end: int) -> bool:
    """A和B where A already ends in a head: two names (物流中心和金融中心), not one."""
    toks = tk.between(start, end)
    return any(t.text in ("和", "及", "与") and k > 0 and _ends_in_head(tk, toks[0].start, toks[k - 1].end)
               for k, t in enumerate(toks))


def _institution(name: str) -> bool:
    return name.endswith(tuple(_words()["org_suffixes"]))


def _ends_in_head(tk: _Tokens, a: int, b: int) -> bool:
    toks = tk.between(a, b)
    return bool(toks) and (_is_suffix_token(toks[-1].text) or _facility_token(toks[-1].text))


def clause_end(finder: "_ProjectFinder", t: Token) -> int:
    clause = finder.clause_at.at(t.start)
    return clause.end if clause is not None else t.end


def _named_like(text: str, tk: _Tokens, a: int, b: int) -> bool:
    """A list item that reads as a name: it has a proper-name part."""
    return len(text[a:b].strip()) >= 2 and _distinctive(tk.between(a, b), frozenset(), COMPANY_NO_DIGITS)


def _split_items(text: str, tk: _Tokens, start: int, end: int) -> list[tuple[int, int]]:
    """Items of an enumeration 'A、B和C' (or 'A，B' when the list was extended over commas):
    split on 、 and commas, and on 和 when a proper name follows it; leading verbs and adverbs
    of an item are not part of it (将动工建设小岞风电场 -> 小岞风电场)."""
    items, pos = [], start
    for part in re.split("[、,，]", text[start:end]):
        k = part.find("以及")   # A、B以及C: 以及 joins the last items
        if k >= 2 and len(part) - k - 2 >= 2:
            items += [(pos, pos + k), (pos + k + 2, pos + len(part))]
        else:
            items.append((pos, pos + len(part)))
        pos += len(part) + 1
    a, b = items[-1]
    last = text[a:b]
    k = last.find("和")
    if k > 0:
        after = [t for t in tk.between(a + k + 1, b)]
        if after and after[0].start == a + k + 1 and (_proper(after[0].text) or after[0].text[:1].isdigit()):
            items[-1] = (a, a + k)
            items.append((a + k + 1, b))
    return [(x, y) for x, y in (_strip_leading(tk, a, b) for a, b in items) if y > x]


def _strip_leading(tk: _Tokens, a: int, b: int) -> tuple[int, int]:
    """Drop leading verbs, adverbs and particles (by dictionary tag), and everything up to a
    build word among the first few words (将全面建成玉滩大型水库 -> 玉滩大型水库)."""
    toks = tk.between(a, b)
    k = 0
    for j, t in enumerate(toks[:4]):
        if t.text in BUILD_WORDS and j < len(toks) - 1:
            k = j + 1
    while k < len(toks) - 1 and (word_tag(toks[k].text) in LEADING_NON_NAME_TAGS or toks[k].text in BUILD_WORDS):
        k += 1
    return (toks[k].start if toks else a), b


COUNT_WORD = re.compile(r"第?(?:\d+(?:\.\d+)?|[一二三四五六七八九十百]+)[个项家户座条]")


def _boundary_word(word: str) -> bool:
    if word in PUNCT_BOUNDARY or word.isspace():
        return True
    if word in _words()["determiners"] or word == "的" or (len(word) > 1 and word[-1] == "是"):
        return True   # 这是, 就是, 但是: a copula closes the clause before a name
    return COUNT_WORD.fullmatch(word) is not None  # 86个, 第二个: a count or an ordinal, not part of a name


@lru_cache(maxsize=1)
def _lead_words() -> frozenset[str]:
    return frozenset(_words()["lead_words"])


def _ends_name_run(tokens: Tokens, j: int) -> bool:
    """Token j cannot be inside a name that ends after it: punctuation, 的, a determiner, a count,
    or a lead word (建设, 推进 …) closing it or the two tokens before."""
    leads, word = _lead_words(), tokens.words[j]
    return _boundary_word(word) or word in leads or (len(word) > 2 and word[-2:] in leads) \
        or (j >= 1 and tokens.words[j - 1] + word in leads)


def scan_name_start(text: str, tokens: Tokens, i: int, floor: int) -> int | None:
    """Walk back from the suffix token to the start of the name."""
    j = i - 1
    while j >= 0 and tokens.starts[j] >= floor and not _ends_name_run(tokens, j):
        j -= 1
    j += 1
    words = tokens.words
    while j < i and (word_tag(words[j]) in LEADING_NON_NAME_TAGS or words[j] in BUILD_WORDS):
        j += 1  # 报道过该项目 -> 项目; 参建了海口美兰国际机场 -> 海口美兰国际机场; 建设X -> X
    start = tokens.starts[j]
    if start >= tokens.starts[i]:
        return None
    return start


def _merge_coordination(text: str, tokens: Tokens, tk: _Tokens, start: int, floor: int) -> int:
    """X、Y项目 where X has no suffix (and no 等 follows): one name sharing the head (中吉石材、资源整合…项目)."""
    if start < 1 or text[start - 1] != "、":
        return start
    i = tk.index_at(start - 1)
    prev_start = scan_name_start(text, tokens, i, floor)
    if prev_start is None:
        return start
    prev_toks = tk.between(prev_start, start - 1)
    if not prev_toks or any(_is_suffix_token(t.text) for t in prev_toks) or _ends_in_head(tk, prev_start, start - 1) \
            or _is_generic(prev_toks):
        return start
    return prev_start
